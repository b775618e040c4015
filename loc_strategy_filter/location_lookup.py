"""Learning an image's locations from Glance's location API.

With ``show_multiple_locations = False`` Glance shows ``direct_url`` but no
``locations``, so the filter cannot tell the strategy's best location from
the answer itself. It asks ``GET <prefix>/images/{id}/locations``: first as
the caller, by an in-process request into the application it wraps (which
never waits on another worker), then, if the caller may not (401 or 403:
Glance's ``fetch_image_location`` policy is service-only), with the
service credentials (``service_client``) when there are any.

Every call is bounded: each waits ``location_lookup_timeout`` at most (the
images of one list answer together too), and ``location_lookup_concurrency``
threads make them, for every answer of the filter. Any failure is a
``None``: the caller keeps the upstream's ``direct_url``, and the cause is
logged at INFO the first time, at DEBUG after.
"""

import concurrent.futures
import json
import logging
import re
import threading

from loc_strategy_filter.expiring import ExpiringCache
from loc_strategy_filter import routes
from loc_strategy_filter.upstream import HeldResponse

LOG = logging.getLogger(__name__)

_REFUSED = (401, 403)
# Ids the filter puts in a path of its own: Glance's are UUIDs, and
# anything that could leave the image's path (``/``, ``?``, ``..``) is out.
_IMAGE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")


class _Failed(Exception):
    """A lookup that learned nothing, with its cause (logged once)."""

    def __init__(self, cause, detail):
        super().__init__(cause, detail)
        self.cause = cause
        self.detail = detail


def located(body):
    """The non-empty list of locations (objects with a string ``url``) a
    location API answer ``body`` holds; raises ``_Failed`` if it holds
    none.
    """
    try:
        locations = json.loads(body)
    except (ValueError, RecursionError):
        raise _Failed("malformed", "the answer is not JSON") from None
    if not isinstance(locations, list) or not all(
            isinstance(location, dict)
            and isinstance(location.get("url"), str)
            for location in locations):
        raise _Failed("malformed", "the answer is not a list of locations")
    if not locations:
        raise _Failed("empty", "the image has no locations")
    return locations


class LocationLookup:
    """The locations of images Glance showed without them.

    ``application`` is the upstream the filter wraps; ``service`` a
    ``service_client.ServiceClient`` or None.
    """

    def __init__(self, application, settings, service=None):
        self.application = application
        self.service = service
        self.timeout = settings.location_lookup_timeout
        # Why keeping what one caller learned never widens what another
        # sees: a kept list is read only for an image an answer of the image
        # API is showing the caller (Glance decided they may see it), and
        # only to choose that image's ``direct_url``, which Glance already
        # shows them, among that image's URLs: at most its best URL, never
        # the list. Without service credentials nothing is kept: what one
        # caller may read must not decide another's direct_url (it stays
        # Glance's, as the start-up log says), and an in-process lookup is
        # cheap.
        self.cache = ExpiringCache(settings.location_cache_ttl
                                   if service is not None else 0)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.location_lookup_concurrency,
            thread_name_prefix="location-lookup")
        self._noted = set()
        self._noted_lock = threading.Lock()

    def learn(self, user_request, image_ids):
        """``{image_id: locations}`` for those of ``image_ids`` whose
        locations could be learned in time, as ``user_request``'s user or
        with the service credentials; never raises.
        """
        learned, pending = {}, {}
        # Glance's policy refuses the location API by caller, not by image:
        # once it refused this caller, the answer's other images do not ask.
        refused = threading.Event()
        for image_id in dict.fromkeys(image_ids):
            if not (isinstance(image_id, str)
                    and _IMAGE_ID.fullmatch(image_id)):
                continue
            cached = self.cache.get(image_id)
            if cached is not None:
                learned[image_id] = cached
                continue
            try:
                future = self._pool.submit(self._lookup, user_request,
                                           image_id, refused)
            except RuntimeError:  # the pool is shut down
                return learned
            pending[future] = image_id
        if not pending:
            return learned
        done, late = concurrent.futures.wait(pending, timeout=self.timeout)
        for future in late:
            future.cancel()
        if late:
            self._note("timeout", "%d image(s) not looked up within %ss",
                       len(late), self.timeout)
        for future in done:
            locations = future.result()
            if locations is not None:
                learned[pending[future]] = locations
        return learned

    def learn_one(self, user_request, image_id):
        """The locations of ``image_id``, or None."""
        return self.learn(user_request, [image_id]).get(image_id)

    def forget(self, image_id):
        """A location change passed: ``image_id`` is learned afresh."""
        self.cache.forget(image_id)

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _lookup(self, user_request, image_id, refused):
        stamp = self.cache.stamp()
        try:
            locations = None
            if not refused.is_set():
                locations = self._as_caller(user_request, image_id)
            if locations is None:
                refused.set()
                locations = self._as_service(image_id)
        except _Failed as failed:
            self._note(failed.cause, "image %s: %s", image_id, failed.detail)
            return None
        except Exception as exc:  # a lookup must never cost the answer
            self._note("error", "image %s: %s: %s", image_id,
                       type(exc).__name__, exc)
            return None
        self.cache.put(image_id, locations, stamp)
        return locations

    def _as_caller(self, user_request, image_id):
        """The locations, or None when the caller may not read them."""
        path = (f"{routes.images_root(user_request.path_info)}/images/"
                f"{image_id}/locations")
        held = HeldResponse(self.application, user_request.json_environ(path))
        status = held.status_code
        if status == 200:
            return located(held.read())
        held.close()
        if status in _REFUSED:
            return None
        raise _Failed(f"status {status}",
                      f"the location API answered the caller {held.status}")

    def _as_service(self, image_id):
        if self.service is None:
            raise _Failed("no service credentials",
                          "the caller may not read its locations and no "
                          "service credentials are configured "
                          "([location_strategy_filter_auth])")
        status, body = self.service.get_locations(image_id)
        if status != 200:
            raise _Failed(f"service status {status}",
                          f"the location API answered the service "
                          f"credentials {status}")
        return located(body)

    def _note(self, cause, message, *args):
        """Log a failure at INFO the first time its cause is seen, then at
        DEBUG: the upstream's direct_url is sent, which is no error.
        """
        with self._noted_lock:
            first = cause not in self._noted
            self._noted.add(cause)
        LOG.log(logging.INFO if first else logging.DEBUG,
                "Location lookup: " + message
                + "; direct_url stays as the image API sent it", *args)
