"""Calling the upstream and holding its answer before deciding what to send.

The download handler must see the upstream's status before it chooses to
serve bytes itself or to hand the upstream's response on untouched.
"""


def close_body(app_iter):
    """Close a WSGI body, as a server must, if it can be closed."""
    close = getattr(app_iter, "close", None)
    if close is not None:
        close()


class HeldResponse:
    """The upstream's status, headers and (unread) body."""

    def __init__(self, application, environ):
        self.status = self.headers = self.exc_info = None
        self._head = []  # bytes given to write(), or taken to get a status
        self._app_iter = application(environ, self._start_response)
        self._rest = self._app_iter
        if self.status is None:
            # An application that calls start_response only when iterated.
            self._rest = iter(self._app_iter)
            self._head.extend(chunk for chunk in [next(self._rest, b"")]
                              if chunk)

    def _start_response(self, status, headers, exc_info=None):
        self.status, self.headers, self.exc_info = status, headers, exc_info
        return self._head.append

    @property
    def status_code(self):
        return int(self.status.split(None, 1)[0])

    def header(self, name):
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def forward(self, start_response):
        """Send the response on as it is: streaming, unread."""
        start_response(self.status, self.headers, self.exc_info)
        if not self._head and self._rest is self._app_iter:
            return self._app_iter
        return _Chained(self._head, self._rest, self._app_iter)

    def read(self):
        """The whole body, for small answers such as an image record."""
        try:
            return b"".join([*self._head, *self._rest])
        finally:
            self.close()

    def close(self):
        close_body(self._app_iter)


class _Chained:
    """Chunks already taken, then the rest of the upstream's body."""

    def __init__(self, head, rest, app_iter):
        self._head, self._rest, self._app_iter = head, rest, app_iter

    def __iter__(self):
        yield from self._head
        yield from self._rest

    def close(self):
        close_body(self._app_iter)
