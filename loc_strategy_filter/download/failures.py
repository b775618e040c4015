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
    """The failures of the last ``ttl_seconds``, in this process."""

    def __init__(self, ttl_seconds, clock=time.monotonic, max_entries=10_000):
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # key -> when it last failed, least recent first.
        self._failed_at = collections.OrderedDict()

    def failed(self, url, recorded=None):
        """Reading ``url`` failed (for every image) or, given ``recorded``,
        its bytes were not those (for that image only)."""
        key = key_of(url, recorded)
        with self._lock:
            now = self._clock()
            self._failed_at[key] = now
            self._failed_at.move_to_end(key)
            self._forget_old(now)

    def recall(self, urls, recorded=None):
        """What is known of ``urls`` now, read at once: a ``Recalled``."""
        urls = list(urls)
        keys = [key_of(url, None) for url in urls]
        if recorded is not None:
            keys += [key_of(url, recorded) for url in urls]
        return Recalled(self, recorded, self.failed_keys(keys))

    def recently_failed(self, url, recorded=None):
        """Whether ``url`` failed lately, or its bytes did for ``recorded``."""
        return self.recall([url], recorded).recently_failed(url)

    def deprioritised(self, locations, recorded=None):
        """``Recalled.deprioritised``, for a single look."""
        return self.recall([url_of(location) for location in locations],
                           recorded).deprioritised(locations)

    def failed_keys(self, keys):
        """Those of ``keys`` that failed in the last ``ttl_seconds``."""
        with self._lock:
            now = self._clock()
            return {key for key in keys if self._is_recent(key, now)}

    def __len__(self):
        with self._lock:
            self._forget_old(self._clock())
            return len(self._failed_at)

    def _is_recent(self, key, now):
        failed_at = self._failed_at.get(key)
        return failed_at is not None and now - failed_at < self.ttl_seconds

    def _forget_old(self, now):
        """Drop expired entries, then the oldest beyond the cap."""
        while self._failed_at:
            key, failed_at = next(iter(self._failed_at.items()))
            if (now - failed_at < self.ttl_seconds
                    and len(self._failed_at) <= self._max_entries):
                return
            del self._failed_at[key]


def key_of(url, recorded=None):
    """The key of a failed read of ``url``, or of its bytes not being
    ``recorded``'s."""
    if recorded is None:
        return digest("read", url)
    return digest("bytes", url, *dataclasses.astuple(recorded))


class Recalled:
    """What a memory knew of some locations when one download asked, and
    what failed since in that download: a download looks its candidates up
    once (one round trip where the memory is shared)."""

    def __init__(self, memory, recorded, failed_keys):
        self._memory = memory
        self._recorded = recorded
        self._failed_keys = set(failed_keys)

    def failure_of(self, url):
        """``"bytes"``, ``"read"`` or None."""
        if (self._recorded is not None
                and key_of(url, self._recorded) in self._failed_keys):
            return "bytes"
        return "read" if key_of(url) in self._failed_keys else None

    def recently_failed(self, url):
        return self.failure_of(url) is not None

    def deprioritised(self, locations):
        """A new list, order kept: URLs that failed lately go last, and those
        whose bytes were not the record's lately are left out."""
        failures = [self.failure_of(url_of(location))
                    for location in locations]
        return ([loc for loc, failure in zip(locations, failures)
                 if failure is None]
                + [loc for loc, failure in zip(locations, failures)
                   if failure == "read"])

    def failed(self, url, recorded=None):
        """``FailureMemory.failed``, and known here from now on."""
        self._memory.failed(url, recorded)
        self._failed_keys.add(key_of(url, recorded))
