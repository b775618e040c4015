"""Image downloads that follow the strategy: steered, served, or passed on.

Authorisation stays the upstream's. Steering asks the upstream itself to
read from the best store. Serving sends the user's own request to the
upstream (in ``serve`` mode before anything else; in ``auto`` mode after
the image record, which decides between steering and serving): only its 200
or 206 lets the filter read a location, and the upstream's answer is
streamed on unchanged whenever the filter cannot do at least as well.
"""

import logging
import urllib.parse

from loc_strategy_filter import stores
from loc_strategy_filter.download import body
from loc_strategy_filter.download import ranges
from loc_strategy_filter.download.failover import FailoverStream
from loc_strategy_filter.download.failover import NoReadableLocation
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.record import UserRequest
from loc_strategy_filter.download.record import fetch_image
from loc_strategy_filter.download.upstream import HeldResponse
from loc_strategy_filter.download.verify import Verifier
from loc_strategy_filter.stores.http import VIA
from loc_strategy_filter.strategies.store_id import store_of

LOG = logging.getLogger(__name__)

_REFUSED_PREFERENCE = (400, 403)
_REPLACED_HEADERS = frozenset(("content-length", "content-range",
                               "content-type", "transfer-encoding"))


def _usable_locations(image):
    locations = image.get("locations")
    if locations is None and isinstance(image.get("direct_url"), str):
        locations = [{"url": image["direct_url"], "metadata": {}}]
    if not isinstance(locations, list):
        return []
    return [location for location in locations
            if isinstance(location, dict)
            and isinstance(location.get("url"), str)]


def _expected_size(image):
    size = image.get("size")
    return size if isinstance(size, int) and size > 0 else None


class DownloadHandler:
    """Handles ``GET /v2/images/{id}/file`` for one filter instance."""

    def __init__(self, settings):
        self.settings = settings
        self.readers = stores.load_readers(settings.readers)
        self.failures = FailureMemory(settings.location_failure_ttl)

    def __call__(self, application, environ, start_response):
        mode = self.settings.download_mode
        if (mode == "off" or VIA in environ.get("HTTP_VIA", "")
                or "HTTP_IF_RANGE" in environ):
            return application(environ, start_response)
        # Taken before the upstream sees the user's request, and writes
        # its routing state into that environ.
        user_request = UserRequest(environ)
        if mode == "serve":
            return self._serve_if_allowed(application, environ,
                                          start_response, user_request)
        plan = self._safe_plan(application, user_request)
        if plan is None:
            return application(environ, start_response)
        if plan[0] == "steer":
            return self._steer(application, environ, start_response,
                               user_request, plan[1])
        held = HeldResponse(application, environ)
        return self._serve(environ, start_response, held, *plan[1:])

    def _serve_if_allowed(self, application, environ, start_response,
                          user_request):
        """``serve`` mode: the user's own request goes first, and only the
        upstream's 200 or 206 lets the filter look at the image record."""
        held = HeldResponse(application, environ)
        if held.status_code not in (200, 206):
            return held.forward(start_response)
        plan = self._safe_plan(application, user_request)  # never "steer"
        if plan is None:
            return held.forward(start_response)
        return self._serve(environ, start_response, held, *plan[1:])

    def _safe_plan(self, application, user_request):
        try:
            return self._plan(application, user_request)
        except Exception:  # planning must never cost the user the download
            LOG.exception("Download %s passed through: it could not be "
                          "planned", user_request.path_info)
            return None

    def _plan(self, application, user_request):
        """``("steer", store)``, ``("serve", image, candidates)`` or None;
        only the upstream's image record is read, no location touched."""
        mode = self.settings.download_mode
        image = fetch_image(application, user_request)
        ranked = self._ranked(image) if image else []
        if not ranked:
            return None
        store = store_of(ranked[0][1])
        if mode in ("steer", "auto") and store:
            return "steer", store
        candidates = [(index, location) for index, location in ranked
                      if self._readable(location["url"])]
        if mode in ("serve", "auto") and candidates:
            return "serve", image, candidates
        return None

    def _ranked(self, image):
        """``(index, location)`` pairs in strategy order, recently failed
        locations last; the index is the location's place in the image's
        own list, for logs."""
        locations = _usable_locations(image)
        position = {id(location): index
                    for index, location in enumerate(locations)}
        ordered = self.failures.deprioritised(self.settings.order(locations))
        return [(position.get(id(location)), location) for location in ordered]

    def _readable(self, url):
        reader = stores.reader_for(self.readers, url)
        return reader is not None and reader.allows(url)

    def _steer(self, application, environ, start_response, user_request,
               store):
        query = urllib.parse.parse_qsl(user_request.query_string,
                                       keep_blank_values=True)
        if any(key == "prefer" for key, _ in query):
            return application(environ, start_response)  # the user's choice
        steered = user_request.environ(
            user_request.path_info,
            urllib.parse.urlencode([*query, ("prefer", store)]), download=True)
        held = HeldResponse(application, steered)
        if held.status_code in _REFUSED_PREFERENCE:
            held.close()
            LOG.info("Upstream refused ?prefer=%s (%s); plain download",
                     store, held.status)
            return application(environ, start_response)
        LOG.info("Download steered to store %s", store)
        return held.forward(start_response)

    def _serve(self, environ, start_response, held, image, candidates):
        try:
            opened = self._open(environ, held, image, candidates)
        except Exception:  # before any header: the upstream's answer is there
            LOG.exception("Download %s: the upstream's answer is sent",
                          environ.get("PATH_INFO"))
            opened = None
        if opened is None:
            return held.forward(start_response)
        stream, source, (start, stop), size = opened
        held.close()
        start_response(held.status, self._headers(held, start, stop, size))
        return body.response_body(environ, stream, source,
                                  (start, stop) == (0, size), image.get("id"))

    def _open(self, environ, held, image, candidates):
        """The opened stream for the bytes the upstream agreed to send, or
        None when the filter cannot serve them."""
        size = _expected_size(image)
        window = self._window(environ, held, size) if size else None
        if window is None:
            return None
        start, stop = window
        verifier = None
        if window == (0, size):
            verifier = Verifier(size, image.get("checksum") if
                                self.settings.verify_checksums else None,
                                *self._os_hash(image))
        stream = FailoverStream(
            candidates, self.readers, start, stop, verifier, self.failures,
            image_id=image.get("id"), expected_size=size)
        try:
            source = stream.open_first()
        except NoReadableLocation:
            return None
        return stream, source, window, size

    def _os_hash(self, image):
        if not self.settings.verify_checksums:
            return None, None
        return image.get("os_hash_algo"), image.get("os_hash_value")

    @staticmethod
    def _window(environ, held, size):
        """The bytes to serve, when the upstream's own answer agrees."""
        wanted = ranges.parse_range(environ.get("HTTP_RANGE"), size)
        if isinstance(wanted, ranges.WholeBody) and held.status_code == 200:
            return 0, size
        if (isinstance(wanted, ranges.ByteRange) and held.status_code == 206
                and held.header("content-range") == wanted.content_range):
            return wanted.start, wanted.stop
        return None

    @staticmethod
    def _headers(held, start, stop, size):
        headers = [(key, value) for key, value in held.headers
                   if key.lower() not in _REPLACED_HEADERS]
        headers += [("Content-Type", "application/octet-stream"),
                    ("Content-Length", str(stop - start))]
        if held.status_code == 206:
            headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
        return headers
