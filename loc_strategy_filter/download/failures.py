"""Which locations failed lately, so downloads try them last instead of
waiting for a dead one or breaking late on a mirror of wrong bytes.

A failed read is about the URL, for every image there; wrong bytes (size,
checksum, hash) are about the URL *and* the record, so one image's bad
record never demotes a URL others share. Keys are digests, never URLs, so a
shared cache would hold no credentials. Bounded, shared by a filter's calls.
"""

import collections
import dataclasses
import hashlib
import threading
import time

from loc_strategy_filter.locations import url_of


def digest(*parts):
    """A key for ``parts`` (strings, numbers or None) that hides them."""
    text = "\0".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class FailureMemory:
    """The failures of the last ``ttl_seconds``."""

    def __init__(self, ttl_seconds, clock=time.monotonic, max_entries=10_000):
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # key -> when it last failed, least recent first.
        self._failed_at = collections.OrderedDict()

    def failed(self, url, recorded=None):
        """Reading ``url`` failed (for every image) or, given ``recorded``,
        its bytes were not those (for that image only)."""
        key = self._key(url, recorded)
        with self._lock:
            now = self._clock()
            self._failed_at[key] = now
            self._failed_at.move_to_end(key)
            self._forget_old(now)

    def recently_failed(self, url, recorded=None):
        """Whether ``url`` failed lately, or its bytes did for ``recorded``."""
        with self._lock:
            return self._failure_of(url, recorded, self._clock()) is not None

    def deprioritised(self, locations, recorded=None):
        """A new list, order kept: URLs that failed lately go last, and those
        whose bytes were not ``recorded``'s lately are left out."""
        with self._lock:
            now = self._clock()
            failures = [self._failure_of(url_of(location), recorded, now)
                        for location in locations]
        return ([loc for loc, failure in zip(locations, failures)
                 if failure is None]
                + [loc for loc, failure in zip(locations, failures)
                   if failure == "read"])

    def __len__(self):
        with self._lock:
            self._forget_old(self._clock())
            return len(self._failed_at)

    @staticmethod
    def _key(url, recorded):
        if recorded is None:
            return digest("read", url)
        return digest("bytes", url, *dataclasses.astuple(recorded))

    def _failure_of(self, url, recorded, now):
        """``"bytes"``, ``"read"`` or None."""
        if recorded is not None and self._is_recent(
                self._key(url, recorded), now):
            return "bytes"
        return "read" if self._is_recent(self._key(url, None), now) else None

    def _is_recent(self, key, now):
        failed_at = self._failed_at.get(key)
        return failed_at is not None and now - failed_at < self._ttl

    def _forget_old(self, now):
        """Drop expired entries, then the oldest beyond the cap."""
        while self._failed_at:
            key, failed_at = next(iter(self._failed_at.items()))
            if (now - failed_at < self._ttl
                    and len(self._failed_at) <= self._max_entries):
                return
            del self._failed_at[key]
