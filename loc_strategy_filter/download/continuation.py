"""The upstream's continuation of a download whose locations all broke."""

from loc_strategy_filter.download import ranges
from loc_strategy_filter.stores.http import identity_coded
from loc_strategy_filter.stores import ReadFailed
from loc_strategy_filter.upstream import HeldResponse


class UpstreamContinuation:
    """Bytes ``offset`` up to ``stop`` of ``window``, asked of the upstream
    again. Only a 206 of exactly those bytes, not content-coded, is read
    (else ``ReadFailed``): anything else could splice other bytes in.
    """

    file_object = None

    def __init__(self, application, user_request, window, offset, stop):
        environ = user_request.download_environ()
        last = "" if window.whole else str(stop - 1)
        environ["HTTP_RANGE"] = f"bytes={offset}-{last}"
        environ["HTTP_ACCEPT_ENCODING"] = "identity"
        self.size = window.size
        try:
            self._held = HeldResponse(application, environ)
        except Exception as exc:  # the upstream's failure, not ours to show
            raise ReadFailed(f"the upstream failed: {exc!r}") from None
        wanted = ranges.content_range(offset, stop, window.size)
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
