"""Image downloads that follow the strategy: steered, served, or passed on.

Authorisation stays the upstream's. Steering asks the upstream itself to
read from the best store. Serving reads a location only for the bytes the
upstream's answer to the user's own request agreed to send
(``authorised_window``), and sends that answer on unchanged whenever the
filter cannot do at least as well: when no location opens, or every
location it may read failed lately. A body whose locations all fail part
way continues from the upstream's own download of the bytes left.
"""

import dataclasses
import functools
import logging
import urllib.parse

from loc_strategy_filter.download import body
from loc_strategy_filter.download import ranges
from loc_strategy_filter.download.candidates import best_location
from loc_strategy_filter.download.candidates import candidates
from loc_strategy_filter.download.continuation import UpstreamContinuation
from loc_strategy_filter.download.failover import FailoverStream
from loc_strategy_filter.download.failover import NoReadableLocation
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.failures import RecordedBytes
from loc_strategy_filter.download.record import fetch_image
from loc_strategy_filter.download.user_request import UserRequest
from loc_strategy_filter.download.verify import Verified
from loc_strategy_filter.locations import store_of
from loc_strategy_filter.stores.http import VIA
from loc_strategy_filter.upstream import FRAMING_HEADERS
from loc_strategy_filter.upstream import HeldResponse
from loc_strategy_filter.upstream import without_headers

LOG = logging.getLogger(__name__)

_REFUSED_PREFERENCE = (400, 403)
# The only answers to the user's own download that let the filter serve.
_AGREEING = (200, 206)
_REPLACED_HEADERS = FRAMING_HEADERS | {"content-type"}


@dataclasses.dataclass(frozen=True)
class Steer:
    """Ask the upstream to read ``store`` first."""

    store: str


@dataclasses.dataclass(frozen=True)
class Serve:
    """Serve image ``image_id`` from ``candidates`` once upstream agrees."""

    image_id: str
    recorded: RecordedBytes
    candidates: list


def authorised_window(user_request, held, size):
    """The bytes of a ``size``-byte image the filter may serve (a
    ``ranges.ByteRange``), or None: only those the upstream agreed to send
    in ``held``, its answer to the user's own request (200: the whole image;
    206 with the same ``Content-Range``: one range). The rule lives here."""
    wanted = ranges.parse_range(user_request.header("HTTP_RANGE"), size)
    if isinstance(wanted, ranges.WholeBody) and held.status_code == 200:
        return ranges.ByteRange(0, size, size)
    if (isinstance(wanted, ranges.ByteRange) and held.status_code == 206
            and held.header("content-range") == wanted.content_range):
        return wanted
    return None


class DownloadFilter:
    """A WSGI filter of ``GET /v2/images/{id}/file`` for ``application``."""

    def __init__(self, application, settings):
        self.application = application
        self.settings = settings
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
            return self._serve_mode(environ, start_response, user_request)
        if mode == "steer":
            return self._steer_mode(environ, start_response, user_request)
        return self._auto_mode(environ, start_response, user_request)

    def _serve_mode(self, environ, start_response, user_request):
        """``serve``: the user's request first, the record after 200/206."""
        held = HeldResponse(self.application, environ)
        if held.status_code not in _AGREEING:
            return held.forward(start_response)
        plan = self._plan(user_request)  # never Steer in this mode
        window = (None if plan is None else
                  authorised_window(user_request, held, plan.recorded.size))
        if window is None:
            return held.forward(start_response)
        return self._serve(environ, start_response, held, user_request, plan,
                           window)

    def _steer_mode(self, environ, start_response, user_request):
        """``steer``: the upstream reads the best location's store."""
        plan = self._plan(user_request)  # never Serve in this mode
        if plan is None:
            return self.application(environ, start_response)
        return self._steer(environ, start_response, user_request, plan.store)

    def _auto_mode(self, environ, start_response, user_request):
        """``auto``: the record first; steer when the best location names
        its store, else serve."""
        plan = self._plan(user_request)
        if plan is None:
            return self.application(environ, start_response)
        if isinstance(plan, Steer):
            return self._steer(environ, start_response, user_request,
                               plan.store)
        held = HeldResponse(self.application, environ)
        window = authorised_window(user_request, held, plan.recorded.size)
        if window is None:
            return held.forward(start_response)
        return self._serve(environ, start_response, held, user_request, plan,
                           window)

    def _plan(self, user_request):
        """``Steer``, ``Serve`` or None, from the image record alone."""
        try:
            image = fetch_image(self.application, user_request)
            return None if image is None else self._plan_for(image)
        except Exception:  # planning must never cost the user the download
            LOG.exception("Download %s passed through: it could not be "
                          "planned", user_request.path_info)
            return None

    def _plan_for(self, image):
        mode, order = self.settings.download_mode, self.settings.order
        recorded = RecordedBytes.of(image, self.settings.verify_checksums)
        if mode != "serve":
            store = store_of(best_location(image, order, self.failures,
                                           recorded))
            if store:
                return Steer(store)
            if mode == "steer":
                return None
        if recorded is None or recorded.size == 0:
            return None  # no bytes the filter could check
        found = candidates(image, order, self.settings.readers,
                           self.failures, recorded)
        if all(self.failures.recently_failed(candidate.url, recorded)
               for candidate in found):
            if candidates(image, order, self.settings.readers):
                # Why a download is not served, for an operator waiting
                # for the TTL to pass.
                LOG.warning("Image %s: every location the filter may read "
                            "failed in the last %s seconds; the upstream's "
                            "own answer is sent", image["id"],
                            self.settings.location_failure_ttl)
            return None
        return Serve(image["id"], recorded, found)

    def _steer(self, environ, start_response, user_request, store):
        query = urllib.parse.parse_qsl(user_request.query_string,
                                       keep_blank_values=True)
        if any(key == "prefer" for key, _ in query):  # the user's choice
            return self.application(environ, start_response)
        steered = user_request.download_environ(
            urllib.parse.urlencode([*query, ("prefer", store)]))
        held = HeldResponse(self.application, steered)
        if held.status_code in _REFUSED_PREFERENCE:
            held.close()
            LOG.info("Upstream refused ?prefer=%s (%s); plain download",
                     store, held.status)
            return self.application(environ, start_response)
        LOG.info("Download steered to store %s", store)
        return held.forward(start_response)

    def _serve(self, environ, start_response, held, user_request, plan,
               window):
        """``window`` from ``plan``'s candidates in place of ``held``, the
        upstream's agreeing answer, which goes on when none opens."""
        try:
            stream = FailoverStream(
                plan.candidates, plan.recorded, window.start, window.stop,
                image_id=plan.image_id, memory=self.failures,
                continuation=functools.partial(
                    UpstreamContinuation, self.application, user_request,
                    window))
            source = stream.open_first()
        except NoReadableLocation:
            LOG.warning("Image %s: no location could be opened; the "
                        "upstream's own answer is sent", plan.image_id)
            return held.forward(start_response)
        except Exception:  # before any header: the upstream's answer is there
            LOG.exception("Download %s: the upstream's answer is sent",
                          user_request.path_info)
            return held.forward(start_response)
        held.close()
        headers = without_headers(held.headers, _REPLACED_HEADERS) + [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(window.length))]
        if held.status_code == 206:
            headers.append(("Content-Range", window.content_range))
        start_response(held.status, headers)
        file_body = body.file_body(environ, source, window)
        if file_body is not None:
            LOG.info("Image %s: served by location %s (file store) through "
                     "the server's file wrapper", plan.image_id,
                     stream.served_by.index)
            return file_body
        if window.whole:
            return Verified(stream, plan.recorded,
                            on_mismatch=stream.wrong_bytes)
        return stream
