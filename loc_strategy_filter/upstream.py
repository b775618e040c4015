"""Calling the upstream application and holding its answer.

Both halves of the filter must see the upstream's status and headers before
they choose what to send: the response filter to rewrite a JSON body or
pass it on, the download filter to serve bytes itself or hand the
upstream's download on untouched. ``HeldResponse`` is the one way to do
that, for applications that call ``start_response`` at once, when iterated,
or through ``write()``.
"""

# Headers that frame a body's bytes: a body the filter writes itself gets
# its own.
FRAMING_HEADERS = frozenset(("content-length", "content-range",
                             "transfer-encoding"))
# Headers that name a body's content: wrong once the filter changed it.
CONTENT_HEADERS = frozenset(("content-md5", "etag"))


def without_headers(headers, names):
    """``headers`` without those whose lower-case name is in ``names``."""
    return [(key, value) for key, value in headers
            if key.lower() not in names]


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
        """The first value of header ``name``, or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name):
        """Every value of header ``name``, in order."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def forward(self, start_response):
        """Send the response on as it is: streaming, unread."""
        start_response(self.status, self.headers, self.exc_info)
        if not self._head and self._rest is self._app_iter:
            return self._app_iter
        return _Chained(self)

    def chunks(self):
        """The body, chunk by chunk (``close`` when done)."""
        yield from self._head
        yield from self._rest

    def read(self):
        """The whole body, for small answers such as an image record."""
        try:
            return b"".join(self.chunks())
        finally:
            self.close()

    def close(self):
        close_body(self._app_iter)


class _Chained:
    """A held body as a WSGI body: chunks already taken, then the rest."""

    def __init__(self, held):
        self._held = held

    def __iter__(self):
        return self._held.chunks()

    def close(self):
        self._held.close()
