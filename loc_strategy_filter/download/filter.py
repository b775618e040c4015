"""Image downloads that follow the strategy: steered, served, or passed on.

Steering has the upstream read the best store. Serving reads a location for
the bytes ``authorisation`` allows only, and sends the upstream's answer on
whenever it cannot do as well: no location opens, or all failed lately. A
file location is streamed and verified the first time, then handed to the
server's file wrapper for sendfile while it is unchanged (``verified_files``).
"""

import dataclasses
import functools
import logging
from typing import Optional
import urllib.parse

from loc_strategy_filter.download import authorisation
from loc_strategy_filter.download import body
from loc_strategy_filter.download.candidates import planned
from loc_strategy_filter.download.candidates import readable
from loc_strategy_filter.download.continuation import UpstreamContinuation
from loc_strategy_filter.download.failover import (
    FailoverStream)
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.record import fetch_image
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download.shared_failures import SharedFailureMemory
from loc_strategy_filter.download.verified_files import VerifiedFiles
from loc_strategy_filter.download.verify import Verified
from loc_strategy_filter.errors import NoReadableLocation
from loc_strategy_filter.expiring import ExpiringCache
from loc_strategy_filter.locations import store_of
from loc_strategy_filter.rewrite import needs_locations
from loc_strategy_filter.stores.http import VIA
from loc_strategy_filter.upstream import FRAMING_HEADERS
from loc_strategy_filter.upstream import HeldResponse
from loc_strategy_filter.upstream import without_headers
from loc_strategy_filter.user_request import UserRequest

LOG = logging.getLogger(__name__)

_REFUSED_PREFERENCE = (400, 403)
#: What a plan reads of an image record; a kept record keeps nothing else.
_PLANNED_FROM = ("id", "status", "locations", "direct_url")
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
    #: What the memory of failures knew when planning (``failures.Recalled``).
    recalled: object


@dataclasses.dataclass(frozen=True)
class _Record:
    """The record, ranked once: ``ranking``, then ``tried`` after what
    ``recalled`` (a ``failures.Recalled``) knows of failures.
    """

    image: dict
    recorded: Optional[RecordedBytes]
    ranking: list
    recalled: object
    tried: list


class DownloadFilter:
    """A WSGI filter of image downloads. It matches nothing itself: the
    middleware's routes choose what reaches it. A record that shows
    ``direct_url`` but no ``locations`` has them learned by ``lookup`` (a
    ``location_lookup.LocationLookup``, or None).
    """

    def __init__(self, application, settings, lookup=None):
        self.application = application
        self.settings = settings
        self.lookup = lookup
        self.failures = _failure_memory(settings)
        #: ``(image, RecordedBytes)`` by image id, for the next downloads'
        #: plans. Safe to share between users: a plan serves no byte before
        #: the upstream answered the user's own download with 200 or 206.
        self.records = ExpiringCache(settings.download_record_ttl)
        self.verified_files = VerifiedFiles()

    def forget(self, image_id):
        """A location change passed: the next download reads the record."""
        self.records.forget(image_id)

    def __call__(self, environ, start_response):
        mode = self.settings.download_mode
        if (mode == "off" or VIA in environ.get("HTTP_VIA", "")
                or "HTTP_IF_RANGE" in environ):
            return self.application(environ, start_response)
        # Before the upstream writes its routing state into ``environ``.
        user_request = UserRequest(environ, self.settings.requester(environ))
        if mode == "serve":
            return self._serve_mode(environ, start_response, user_request)
        if mode == "steer":
            return self._steer_mode(environ, start_response, user_request)
        return self._auto_mode(environ, start_response, user_request)

    def _serve_mode(self, environ, start_response, user_request):
        """``serve``: the user's request first; the record if it agreed."""
        held = HeldResponse(self.application, environ)
        if authorisation.refused(held):
            return held.forward(start_response)
        plan = self._planned(user_request, self._serve_plan)
        if plan is None:
            return held.forward(start_response)
        return self._serve(environ, start_response, held, user_request, plan)

    def _steer_mode(self, environ, start_response, user_request):
        """``steer``: the upstream reads the best location's store."""
        plan = self._planned(user_request, self._steer_plan)
        if plan is None:
            return self.application(environ, start_response)
        return self._steer(environ, start_response, user_request, plan)

    def _auto_mode(self, environ, start_response, user_request):
        """``auto``: steer if the best location names a store, else serve."""
        plan = self._planned(user_request, self._steer_plan, self._serve_plan)
        if plan is None:
            return self.application(environ, start_response)
        if isinstance(plan, Steer):
            return self._steer(environ, start_response, user_request, plan)
        held = HeldResponse(self.application, environ)
        return self._serve(environ, start_response, held, user_request, plan)

    def _planned(self, user_request, *plans):
        """The first plan ``plans`` (``_Record`` -> plan or None) make."""
        try:
            record = self._record(user_request)
            if record is None:
                return None
            return next(filter(None, (plan(record) for plan in plans)), None)
        except Exception:  # planning must never cost the user the download
            LOG.exception("Download %s passed through: it could not be "
                          "planned", user_request.path_info)
            return None

    def _record(self, user_request):
        kept = self._image(user_request)
        if kept is None:
            return None
        image, recorded = kept
        return _Record(image, recorded, *planned(
            image, functools.partial(self.settings.order,
                                     requester=user_request.requester),
            self.failures, recorded))

    def _image(self, user_request):
        """``(image, RecordedBytes)``: kept, or read as the user."""
        image_id = user_request.path_info[:-len("/file")].rpartition("/")[2]
        kept = self.records.get(image_id)
        if kept is not None:
            return kept
        stamp = self.records.stamp()
        image = fetch_image(self.application, user_request)
        if image is None:
            return None
        if self.lookup is not None and needs_locations(image):
            learned = self.lookup.learn_one(user_request, image["id"])
            if learned:
                image = {**image, "locations": learned}
        kept = ({key: image[key] for key in _PLANNED_FROM if key in image},
                RecordedBytes.of(image, self.settings.verify_checksums))
        if image["id"] == image_id:
            self.records.put(image_id, kept, stamp)
        return kept

    def _steer_plan(self, record):
        best = next((location for _, location in record.tried), None)
        store = store_of(best)
        return Steer(store) if store else None

    def _serve_plan(self, record):
        """``Serve`` the readable locations, or None if none is worth it."""
        recorded = record.recorded
        if recorded is None or recorded.size == 0:
            return None  # no bytes the filter could check
        found = readable(record.tried, self.settings.readers)
        if all(record.recalled.recently_failed(candidate.url)
               for candidate in found):
            if readable(record.ranking, self.settings.readers):
                LOG.warning("Image %s: every location the filter may read "
                            "failed in the last %s seconds; the upstream's "
                            "own answer is sent", record.image["id"],
                            self.settings.location_failure_ttl)
            return None
        return Serve(record.image["id"], recorded, found, record.recalled)

    def _steer(self, environ, start_response, user_request, plan):
        query = urllib.parse.parse_qsl(user_request.query_string,
                                       keep_blank_values=True)
        if any(key == "prefer" for key, _ in query):  # the user's choice
            return self.application(environ, start_response)
        steered = user_request.download_environ(
            urllib.parse.urlencode([*query, ("prefer", plan.store)]))
        held = HeldResponse(self.application, steered)
        if held.status_code in _REFUSED_PREFERENCE:
            held.close()
            LOG.info("Upstream refused ?prefer=%s (%s); plain download",
                     plan.store, held.status)
            return self.application(environ, start_response)
        if held.status_code in (200, 206):
            LOG.info("Download steered to store %s", plan.store)
        return held.forward(start_response)

    def _serve(self, environ, start_response, held, user_request, plan):
        """``plan`` for the bytes ``held`` agreed to send, else ``held``."""
        window = authorisation.authorised_window(user_request, held,
                                                 plan.recorded.size)
        if window is None:
            return held.forward(start_response)
        byte_range, stream = window.byte_range, None
        try:
            stream = FailoverStream(
                plan.candidates, plan.recorded, byte_range.start,
                byte_range.stop, image_id=plan.image_id,
                recalled=plan.recalled, continuation=functools.partial(
                    UpstreamContinuation, self.application, user_request,
                    byte_range))
            source = stream.open_first()
            checked = (Verified(stream, plan.recorded,
                                on_mismatch=stream.wrong_bytes,
                                on_verified=functools.partial(
                                    self._verified, plan, stream, source))
                       if byte_range.whole else stream)
        except NoReadableLocation:
            LOG.warning("Image %s: no location could be opened; the "
                        "upstream's own answer is sent", plan.image_id)
            return held.forward(start_response)
        except Exception:  # before any header: the upstream's answer is there
            if stream is not None:
                stream.close()
            LOG.exception("Download %s: the upstream's answer is sent",
                          user_request.path_info)
            return held.forward(start_response)
        held.close()
        headers = without_headers(held.headers, _REPLACED_HEADERS) + [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(byte_range.length))]
        if held.status_code == 206:
            headers.append(("Content-Range", byte_range.content_range))
        start_response(window.status, headers)
        if self.verified_files.sendable(source, plan.recorded,
                                        byte_range.whole):
            file_body = body.file_body(environ, source, byte_range)
            if file_body is not None:
                log = LOG.info if stream.failovers else LOG.debug
                log("Image %s: served by location %s (file store) through "
                    "the server's file wrapper", plan.image_id,
                    stream.served_by.index)
                return file_body
        return checked

    def _verified(self, plan, stream, source):
        """``stream`` matched ``plan``'s record: its file, if it read one
        alone, goes out by sendfile from now on.
        """
        if not stream.single_source or source.file_object is None:
            return
        try:
            self.verified_files.remember(source, plan.recorded)
        except Exception:  # the bytes matched: the download must end whole
            LOG.exception("Image %s: the verified file could not be "
                          "remembered", plan.image_id)
            return
        LOG.info("Image %s: the file of location %s matched the image's "
                 "record; while it is unchanged it is sent by the server's "
                 "file wrapper", plan.image_id, stream.served_by.index)


def _failure_memory(settings):
    """The memory of failed locations: shared when a cache is configured."""
    if settings.failure_cache is None:
        return FailureMemory(settings.location_failure_ttl)
    return SharedFailureMemory(settings.location_failure_ttl,
                               settings.failure_cache)
