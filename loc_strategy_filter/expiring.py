"""A small in-process memory of what one request learned of an image, for
the next ones: kept ``ttl`` seconds, at most ``size`` images, forgotten at
once when a change to the image passes through the filter.
"""

import collections
import threading
import time

#: How many images a cache keeps at most (the oldest go first).
SIZE = 10000


class ExpiringCache:
    """Values by image id. A value learned while ``forget`` ran for any
    image is not kept: it may be what the change replaced.
    """

    def __init__(self, ttl, size=SIZE, clock=time.monotonic):
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._entries = collections.OrderedDict()
        self._forgotten = 0  # how many ``forget`` calls so far
        self._lock = threading.Lock()

    def get(self, image_id):
        """The value kept for ``image_id``, or None."""
        with self._lock:
            entry = self._entries.get(image_id)
            if entry is None:
                return None
            expires, value = entry
            if expires <= self._clock():
                del self._entries[image_id]
                return None
            return value

    def stamp(self):
        """Taken before learning a value, for ``put``."""
        return self._forgotten

    def put(self, image_id, value, stamp=None):
        """Keep ``value``, unless something was forgotten since ``stamp``."""
        if self.ttl <= 0:
            return
        with self._lock:
            if stamp is not None and stamp != self._forgotten:
                return
            now = self._clock()
            self._entries.pop(image_id, None)
            self._entries[image_id] = (now + self.ttl, value)
            # Kept in the order they expire: what expired is at the front.
            while self._entries and (
                    len(self._entries) > self.size
                    or next(iter(self._entries.values()))[0] <= now):
                self._entries.popitem(last=False)

    def forget(self, image_id):
        with self._lock:
            self._forgotten += 1
            self._entries.pop(image_id, None)
