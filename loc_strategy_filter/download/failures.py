"""Remembering which locations failed lately, so downloads try them last.

Without it, every download of an image whose best location is down would
first wait for that location to fail. A failed location is only moved back,
never dropped: it may be the only copy left. The memory is shared by all
requests of a filter, and bounded however many URLs fail.
"""

import collections
import threading
import time


def _url_of(location):
    return location.get("url") if isinstance(location, dict) else None


class FailureMemory:
    """The URLs that failed within the last ``ttl_seconds``."""

    def __init__(self, ttl_seconds, clock=time.monotonic, max_entries=10_000):
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # URL -> when it last failed, least recent first.
        self._failed_at = collections.OrderedDict()

    def failed(self, url):
        with self._lock:
            now = self._clock()
            self._failed_at[url] = now
            self._failed_at.move_to_end(url)
            self._forget_old(now)

    def recently_failed(self, url):
        with self._lock:
            return self._is_recent(url, self._clock())

    def deprioritised(self, locations):
        """A new list of ``locations``: those whose URL failed recently go
        last, each group keeping its order."""
        with self._lock:
            now = self._clock()
            recent = [self._is_recent(_url_of(location), now)
                      for location in locations]
        return ([loc for loc, failed in zip(locations, recent) if not failed]
                + [loc for loc, failed in zip(locations, recent) if failed])

    def __len__(self):
        with self._lock:
            self._forget_old(self._clock())
            return len(self._failed_at)

    def _is_recent(self, url, now):
        failed_at = self._failed_at.get(url)
        return failed_at is not None and now - failed_at < self._ttl

    def _forget_old(self, now):
        """Drop expired entries, then the oldest beyond the cap."""
        while self._failed_at:
            url, failed_at = next(iter(self._failed_at.items()))
            if (now - failed_at < self._ttl
                    and len(self._failed_at) <= self._max_entries):
                return
            del self._failed_at[url]
