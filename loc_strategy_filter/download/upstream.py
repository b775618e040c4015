"""Calling the upstream and holding its answer before deciding what to send.

The download handler must see the upstream's status before it chooses to
serve bytes itself or to hand the upstream's response on untouched.
``UpstreamRest`` asks the upstream for the rest of a download whose
locations all failed part way, and reads it like a location.
"""

from loc_strategy_filter.stores import ReadFailed
from loc_strategy_filter.stores.http import identity_coded


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


class UpstreamRest:
    """Bytes ``offset`` up to ``stop`` of a ``size``-byte image from the
    upstream's own download, asked with ``environ`` (a fresh request as
    the user) and a ``Range``; a source for the failover stream.

    Only a 206 that is exactly the bytes asked for, not content-coded, is
    read: anything else could splice other bytes into the body. With
    ``open_ended`` the range asked is ``bytes=offset-``, as for the rest of
    a whole image. Raises ``ReadFailed`` when the upstream does not agree.
    """

    def __init__(self, application, environ, offset, stop, size,
                 open_ended=False):
        last = "" if open_ended else str(stop - 1)
        environ["HTTP_RANGE"] = f"bytes={offset}-{last}"
        environ["HTTP_ACCEPT_ENCODING"] = "identity"
        self.size = size
        try:
            self._held = HeldResponse(application, environ)
        except Exception as exc:  # the upstream's failure, not ours to show
            raise ReadFailed(f"the upstream failed: {exc!r}") from None
        wanted = f"bytes {offset}-{stop - 1}/{size}"
        got = self._held.header("content-range")
        coding = ", ".join(self._held.header_values("content-encoding"))
        if (self._held.status_code != 206 or got != wanted
                or not identity_coded(coding)):
            self._held.close()
            raise ReadFailed(
                f"the upstream answered {self._held.status} with "
                f"Content-Range {got!r} and Content-Encoding {coding!r} "
                f"to a request for {wanted}")

    def chunks(self):
        try:
            yield from self._held.chunks()
        except Exception as exc:  # the upstream's body broke part way
            raise ReadFailed(f"the upstream's body broke: {exc!r}") from None

    def close(self):
        self._held.close()
