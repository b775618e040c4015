"""Which locations failed lately, so downloads try them last instead of
waiting for a dead one or breaking late on a mirror of wrong bytes.

A failed read is about the URL, for every image there; wrong bytes (size,
checksum, hash) are about the URL *and* the record, so one image's bad
record never demotes a URL others share. Keys are digests, never URLs, so a
shared cache would hold no credentials. Bounded, shared by a filter's calls.
"""

import collections
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
        its bytes were not those (for that image only).
        """
        key = key_of(url, recorded)
        with self._lock:
            now = self._clock()
            self._failed_at[key] = now
            self._failed_at.move_to_end(key)
            self._forget_old(now)

    def recall(self, urls, recorded=None):
        """What is known of ``urls`` now, read at once: a ``Recalled``."""
        parts = None if recorded is None else recorded.parts()
        keys = {url: (_key(url, None),
                      None if parts is None else _key(url, parts))
                for url in urls}
        failed = self.failed_keys([key for pair in keys.values()
                                   for key in pair if key is not None])
        return Recalled(self, recorded, {
            url: "bytes" if bytes_key in failed else "read"
            for url, (read_key, bytes_key) in keys.items()
            if read_key in failed or bytes_key in failed})

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
    ``recorded``'s.
    """
    return _key(url, None if recorded is None else recorded.parts())


def _key(url, record_parts):
    if record_parts is None:
        return digest("read", url)
    return digest("bytes", url, *record_parts)


class Recalled:
    """What a memory knew of some locations when one download asked, and
    what failed since in that download: a download looks its candidates up
    once (one round trip where the memory is shared).
    """

    def __init__(self, memory, recorded, failures):
        self._memory = memory
        self._recorded = recorded
        self._failures = dict(failures)  # url -> "bytes" or "read"

    def failure_of(self, url):
        """``"bytes"``, ``"read"`` or None."""
        return self._failures.get(url)

    def recently_failed(self, url):
        return self.failure_of(url) is not None

    def deprioritised(self, locations):
        """A new list, order kept: URLs that failed lately go last, and those
        whose bytes were not the record's lately are left out.
        """
        failures = [self.failure_of(url_of(location))
                    for location in locations]
        return ([loc for loc, failure in zip(locations, failures)
                 if failure is None]
                + [loc for loc, failure in zip(locations, failures)
                   if failure == "read"])

    def failed(self, url, recorded=None):
        """``FailureMemory.failed``, and known here from now on."""
        self._memory.failed(url, recorded)
        if recorded is None:
            self._failures.setdefault(url, "read")
        elif recorded == self._recorded:
            self._failures[url] = "bytes"
