"""Failed locations known to every worker and host that share a cache.

A failure is written to this process's memory and to the cache; a download
reads what both know of all its candidates in one multi-get. The cache only
ever adds knowledge: when it is down, slow or answers garbage, the process's
own memory decides, the cache is left alone for ``retry_seconds`` and then
tried again by a thread of its own, never by a request, and the change is
logged once each way. So a cache that dies or hangs costs the requests in
flight at that moment one socket timeout, and no request after them.

Whoever can write to memcached can make locations look failed (read last,
or, for wrong bytes, not read by the filter): never make wrong bytes pass,
as every byte is still verified.
"""

import logging
import threading
import time

from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.failures import key_of

LOG = logging.getLogger(__name__)


class SharedFailureMemory(FailureMemory):
    """A ``FailureMemory`` that also keeps its failures in ``cache``
    (a ``failure_cache.SharedCache``) for the ``ttl_seconds``.
    """

    def __init__(self, ttl_seconds, cache, clock=time.monotonic):
        super().__init__(ttl_seconds, clock=clock)
        self._cache = cache
        self._retry_seconds = cache.retry_seconds
        self._health_lock = threading.Lock()
        self._unusable_until = None  # a clock time while the cache is out
        self.probe = None  # the thread trying a cache that was out

    def failed(self, url, recorded=None):
        super().failed(url, recorded)
        key = key_of(url, recorded)
        self._use(lambda: self._cache.remember(key))

    def failed_keys(self, keys):
        known = super().failed_keys(keys)
        unknown = [key for key in keys if key not in known]
        if unknown:
            known.update(self._use(
                lambda: self._cache.failed_among(unknown)) or ())
        return known

    def _use(self, call):
        """``call()``'s result, or None when the cache is out or fails."""
        if not self._usable():
            return None
        try:
            result = call()
        except Exception as exc:  # whatever the cache does, downloads go on
            self._out(exc)
            return None
        self._back()
        return result

    def _usable(self):
        """Whether requests may use the cache; when it has been out for
        ``retry_seconds``, starts the probe that brings it back.
        """
        with self._health_lock:
            if self._unusable_until is None:
                return True
            if (self._clock() < self._unusable_until
                    or (self.probe is not None and self.probe.is_alive())):
                return False
            self.probe = threading.Thread(
                target=self._try_again, daemon=True,
                name="loc-strategy-filter-cache-probe")
            self.probe.start()
            return False

    def _try_again(self):
        try:
            self._cache.failed_among(["probe"])
        except Exception:  # still out: said once already
            with self._health_lock:
                self._unusable_until = self._clock() + self._retry_seconds
            return
        self._back()

    def _out(self, error):
        with self._health_lock:
            was_usable = self._unusable_until is None
            self._unusable_until = self._clock() + self._retry_seconds
        if was_usable:
            LOG.warning("The shared memory of failed locations is unusable "
                        "(%s: %s); this worker goes on with its own and tries "
                        "the cache again every %s seconds",
                        type(error).__name__, error, self._retry_seconds)

    def _back(self):
        with self._health_lock:
            was_out = self._unusable_until is not None
            self._unusable_until = None
        if was_out:
            LOG.warning("The shared memory of failed locations is usable "
                        "again")
