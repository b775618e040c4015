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


def _reraise(exc_info):
    raise exc_info[1].with_traceback(exc_info[2])


def _after_headers(status, headers, exc_info=None):
    """``start_response`` once the answer is held: to the upstream, as if
    its headers were sent (PEP 3333), so an error it meets part way through
    its body is raised, never sent as if it were the answer.
    """
    if exc_info is None:
        raise AssertionError("start_response called a second time "
                             "without exc_info")
    _reraise(exc_info)


class HeldResponse:
    """The upstream's status, headers and (unread) body.

    While the upstream is called, a later ``start_response`` with
    ``exc_info`` replaces the answer (as a server does before it sent the
    headers). Once the answer is held, that is an error the upstream sees
    raised; once it is forwarded, its ``start_response`` and ``write`` go
    on to the server's.
    """

    __slots__ = ("status", "headers", "exc_info", "_head", "_onward",
                 "_server_write", "_app_iter", "_rest")

    def __init__(self, application, environ):
        self.status = self.headers = self.exc_info = None
        self._head = []  # bytes given to write(), or taken to get a status
        self._onward = self._server_write = None  # the server's, forwarded
        self._app_iter = application(environ, self._start_response)
        self._rest = self._app_iter
        if self.status is None:
            self._pull_status()
        self._onward = _after_headers

    def _start_response(self, status, headers, exc_info=None):
        if self._onward is not None:
            return self._onward(status, headers, exc_info)
        if exc_info is not None and self._head:
            _reraise(exc_info)  # bytes were written: the headers went too
        self.status, self.headers, self.exc_info = status, headers, exc_info
        return self._write

    def _write(self, data):
        if self._server_write is None:
            self._head.append(data)
        else:
            self._server_write(data)

    def _pull_status(self):
        """For an application that calls start_response only when iterated:
        take its body up to the chunk that follows the call.
        """
        self._rest = iter(self._app_iter)
        try:
            for chunk in self._rest:
                if chunk:
                    self._head.append(chunk)
                if self.status is not None:
                    return
            if self.status is None:
                raise RuntimeError("the application did not call "
                                   "start_response")
        except BaseException:
            self.close()
            raise

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
        """Send the response on as it is: streaming, unread (the upstream's
        own iterable when nothing was taken from it).
        """
        self._onward = start_response
        self._server_write = start_response(self.status, self.headers,
                                            self.exc_info)
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
            return b"".join([*self._head, *self._rest])
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
