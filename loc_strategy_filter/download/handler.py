"""Image downloads that follow the strategy: steered, served, or passed on.

Authorisation stays the upstream's. Steering asks the upstream itself to
read from the best store. Serving sends the user's own request to the
upstream (in ``serve`` mode before anything else; in ``auto`` mode after
the image record, which decides between steering and serving): only its 200
or 206 lets the filter read a location (``_agreed_window``), and the
upstream's answer is streamed on unchanged whenever the filter cannot do at
least as well: when no location opens, or every location it may read
failed lately. A body whose locations all fail part way continues from the
upstream's own download of the bytes left, asked as the same user.
"""

import dataclasses
import logging
import urllib.parse

from loc_strategy_filter import stores
from loc_strategy_filter.download import body
from loc_strategy_filter.download import ranges
from loc_strategy_filter.download.failover import FailoverStream
from loc_strategy_filter.download.failover import NoReadableLocation
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.failures import RecordedBytes
from loc_strategy_filter.download.record import UserRequest
from loc_strategy_filter.download.record import fetch_image
from loc_strategy_filter.upstream import HeldResponse
from loc_strategy_filter.download.upstream import UpstreamRest
from loc_strategy_filter.download.verify import Verifier
from loc_strategy_filter.stores.http import VIA
from loc_strategy_filter.locations import store_of

LOG = logging.getLogger(__name__)

_REFUSED_PREFERENCE = (400, 403)
# The only answers to the user's own download that let the filter serve.
_AGREEING = (200, 206)
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


@dataclasses.dataclass(frozen=True)
class Steer:
    """Ask the upstream to read ``store`` first."""

    store: str


@dataclasses.dataclass(frozen=True)
class Serve:
    """Serve ``image`` from ``candidates``, ``(index, location)`` pairs in
    the order to try, once the upstream agrees."""

    image: dict
    recorded: RecordedBytes
    candidates: list


class DownloadFilter:
    """A WSGI filter for ``GET /v2/images/{id}/file`` in front of
    ``application``."""

    def __init__(self, application, settings):
        self.application = application
        self.settings = settings
        self.readers = settings.readers
        self.failures = FailureMemory(settings.location_failure_ttl)

    def __call__(self, environ, start_response):
        mode = self.settings.download_mode
        if (mode == "off" or VIA in environ.get("HTTP_VIA", "")
                or "HTTP_IF_RANGE" in environ):
            return self.application(environ, start_response)
        # Taken before the upstream sees the user's request, and writes
        # its routing state into that environ.
        user_request = UserRequest(environ)
        if mode == "serve":
            return self._serve_mode(environ, start_response,
                                    user_request)
        return self._steer_or_serve(environ, start_response,
                                    user_request)

    def _serve_mode(self, environ, start_response,
                    user_request):
        """``serve``: the user's own request goes first, and only the
        upstream's 200 or 206 lets the filter look at the image record."""
        held = HeldResponse(self.application, environ)
        if held.status_code not in _AGREEING:
            return held.forward(start_response)
        plan = self._safe_plan(user_request)  # never Steer
        if plan is None:
            return held.forward(start_response)
        return self._serve(environ, start_response, held,
                           user_request, plan)

    def _steer_or_serve(self, environ, start_response,
                        user_request):
        """``steer`` and ``auto``: the image record decides first."""
        plan = self._safe_plan(user_request)
        if plan is None:
            return self.application(environ, start_response)
        if isinstance(plan, Steer):
            return self._steer(environ, start_response,
                               user_request, plan.store)
        held = HeldResponse(self.application, environ)
        return self._serve(environ, start_response, held,
                           user_request, plan)

    def _safe_plan(self, user_request):
        try:
            return self._plan(user_request)
        except Exception:  # planning must never cost the user the download
            LOG.exception("Download %s passed through: it could not be "
                          "planned", user_request.path_info)
            return None

    def _plan(self, user_request):
        """``Steer``, ``Serve`` or None; only the upstream's image record
        is read, no location touched."""
        mode = self.settings.download_mode
        image = fetch_image(self.application, user_request)
        recorded = self._recorded(image) if image else None
        ranked = self._ranked(image, recorded) if image else []
        if not ranked:
            return None
        store = store_of(ranked[0][1])
        if mode in ("steer", "auto") and store:
            return Steer(store)
        if mode not in ("serve", "auto") or recorded is None:
            return None
        candidates = [(index, location) for index, location in ranked
                      if self._readable(location["url"])]
        if all(self.failures.recently_failed(location["url"], recorded)
               for _, location in candidates):
            self._log_all_failed(image)
            return None
        return Serve(image, recorded, candidates)

    def _log_all_failed(self, image):
        """Say why a download is not served when readable locations exist,
        for an operator waiting for the TTL to pass."""
        if any(self._readable(location["url"])
               for location in _usable_locations(image)):
            LOG.warning("Image %s: every location the filter may read "
                        "failed in the last %s seconds; the upstream's own "
                        "answer is sent", image["id"],
                        self.settings.location_failure_ttl)

    def _recorded(self, image):
        """What the filter checks the image's bytes against, or None when
        the record gives no size."""
        size = _expected_size(image)
        if size is None:
            return None
        if not self.settings.verify_checksums:
            return RecordedBytes(size)
        return RecordedBytes(size, image.get("checksum"),
                             image.get("os_hash_algo"),
                             image.get("os_hash_value"))

    def _ranked(self, image, recorded):
        """``(index, location)`` pairs in strategy order, locations whose
        reads failed lately last, those whose bytes were not ``recorded``
        lately left out; the index is the location's place in the image's
        own list, for logs."""
        locations = _usable_locations(image)
        position = {id(location): index
                    for index, location in enumerate(locations)}
        ordered = self.failures.deprioritised(self.settings.order(locations),
                                              recorded)
        return [(position.get(id(location)), location) for location in ordered]

    def _readable(self, url):
        reader = stores.reader_for(self.readers, url)
        return reader is not None and reader.allows(url)

    def _steer(self, environ, start_response, user_request,
               store):
        query = urllib.parse.parse_qsl(user_request.query_string,
                                       keep_blank_values=True)
        if any(key == "prefer" for key, _ in query):
            return self.application(environ, start_response)  # the user's choice
        steered = user_request.environ(
            user_request.path_info,
            urllib.parse.urlencode([*query, ("prefer", store)]), download=True)
        held = HeldResponse(self.application, steered)
        if held.status_code in _REFUSED_PREFERENCE:
            held.close()
            LOG.info("Upstream refused ?prefer=%s (%s); plain download",
                     store, held.status)
            return self.application(environ, start_response)
        LOG.info("Download steered to store %s", store)
        return held.forward(start_response)

    def _serve(self, environ, start_response, held,
               user_request, plan):
        try:
            opened = self._open(held, user_request, plan)
        except Exception:  # before any header: the upstream's answer is there
            LOG.exception("Download %s: the upstream's answer is sent",
                          user_request.path_info)
            opened = None
        if opened is None:
            return held.forward(start_response)
        stream, source, (start, stop) = opened
        size = plan.recorded.size
        held.close()
        start_response(held.status, self._headers(held, start, stop, size))
        return body.response_body(environ, stream, source,
                                  (start, stop) == (0, size),
                                  plan.image.get("id"))

    def _open(self, held, user_request, plan):
        """The opened stream for the bytes the upstream agreed to send, or
        None when the filter cannot serve them."""
        size = plan.recorded.size
        window = _agreed_window(user_request, held, size)
        if window is None:
            return None
        start, stop = window
        whole = window == (0, size)
        verifier = (Verifier(*dataclasses.astuple(plan.recorded)) if whole
                    else None)

        def rest_from_upstream(offset, stop):
            fresh = user_request.environ(user_request.path_info,
                                         user_request.query_string,
                                         download=True)
            return UpstreamRest(self.application, fresh, offset, stop, size,
                                open_ended=whole)

        stream = FailoverStream(
            plan.candidates, self.readers, start, stop, verifier,
            self.failures, image_id=plan.image.get("id"), expected_size=size,
            recorded=plan.recorded, fallback=rest_from_upstream)
        try:
            source = stream.open_first()
        except NoReadableLocation:
            LOG.warning("Image %s: no location could be opened; the "
                        "upstream's own answer is sent", plan.image.get("id"))
            return None
        return stream, source, window

    @staticmethod
    def _headers(held, start, stop, size):
        headers = [(key, value) for key, value in held.headers
                   if key.lower() not in _REPLACED_HEADERS]
        headers += [("Content-Type", "application/octet-stream"),
                    ("Content-Length", str(stop - start))]
        if held.status_code == 206:
            headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
        return headers


def _agreed_window(user_request, held, size):
    """The bytes the filter may serve: only those the upstream agreed to
    send the user, in its ``held`` answer to the user's own request (200
    for the whole image, 206 with the same ``Content-Range`` for one
    range), or None. The authorisation rule lives here, and only here."""
    wanted = ranges.parse_range(user_request.header("HTTP_RANGE"), size)
    if isinstance(wanted, ranges.WholeBody) and held.status_code == 200:
        return 0, size
    if (isinstance(wanted, ranges.ByteRange) and held.status_code == 206
            and held.header("content-range") == wanted.content_range):
        return wanted.start, wanted.stop
    return None
