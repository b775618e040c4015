"""The rest of a download from the upstream's own answer.

``UpstreamRest`` asks the upstream for the rest of a download whose
locations all failed part way, and reads it like a location.
"""

from loc_strategy_filter.stores import ReadFailed
from loc_strategy_filter.upstream import HeldResponse
from loc_strategy_filter.stores.http import identity_coded


class UpstreamRest:
    """Bytes ``offset`` up to ``stop`` of a ``size``-byte image from the
    upstream's own download, asked with ``environ`` (a fresh request as
    the user) and a ``Range``; a source for the failover stream.

    Only a 206 that is exactly the bytes asked for, not content-coded, is
    read: anything else could splice other bytes into the body. With
    ``open_ended`` the range asked is ``bytes=offset-``, as for the rest of
    a whole image. Raises ``ReadFailed`` when the upstream does not agree.
    """

    file_object = None

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
