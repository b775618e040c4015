"""How long one location read may take, enforced by a watchdog thread.

A socket timeout bounds each ``recv``, not a read: a mirror that sends a byte
a second never trips it, and can hold a worker for ever. So every location
read has a deadline, and when it passes the watchdog shuts the connection's
socket down, which ends any read blocked on it.

* Opening (connect, every redirect hop, status line and headers) must finish
  within ``header_timeout`` seconds.
* The body must bring ``min_rate`` bytes per second over the last ``window``
  seconds *spent waiting for it*. Time the consumer spends elsewhere (a slow
  client) does not count: a fast mirror is never blamed for a slow client.
"""

import collections
import socket
import threading
import time


class Deadline:
    """The watchdog of one location read; ``stop`` ends its thread."""

    def __init__(self, header_timeout, min_rate, window):
        self._min_bytes = min_rate * window
        self._window = window
        self._lock = threading.Condition()
        self._sock = None
        self._until = time.monotonic() + header_timeout
        self._why = f"no answer within {header_timeout:g} s"
        self._stopped = False
        # When the watchdog wakes next by itself (None: only when told).
        self._wakes_at = None
        #: Why the read was cut off, once it was.
        self.expired = None
        # (seconds waited, bytes received) after each body read.
        self._waited = 0.0
        self._samples = collections.deque([(0.0, 0)])
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="loc-strategy-filter-deadline")
        self._thread.start()

    def watch(self, sock):
        """Shut ``sock`` down when the deadline passes (at once if it has)."""
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut_down(sock)

    def headers_received(self):
        """Opening is done: from now on only body reads have a deadline."""
        with self._lock:
            self._until = None

    def reading(self):
        """A body read starts: arm the deadline the rate rule gives it."""
        started = time.monotonic()
        if not self._min_bytes:
            return started
        # The rate fails once the window's start passes the first sample
        # that leaves fewer than ``min_bytes`` received after it. ``need``
        # only grows, so the samples before that one are never asked for
        # again: dropping them keeps every read O(1) however fast the
        # source (the last sample always stays, as min_bytes > 0).
        need = self._samples[-1][1] - self._min_bytes
        while self._samples[0][1] <= need:
            self._samples.popleft()
        waited_at = self._samples[0][0]
        allowed = max(waited_at + self._window - self._waited, 0.0)
        with self._lock:
            self._until = started + allowed
            self._why = (f"less than {self._min_bytes / self._window:g} "
                         f"bytes/s over {self._window:g} s")
            # Waking the watchdog costs a thread switch per read: only when
            # it would otherwise wake too late.
            if self._wakes_at is None or self._until < self._wakes_at:
                self._lock.notify()
        return started

    def read(self, started, count):
        """A body read that began at ``started`` brought ``count`` bytes."""
        with self._lock:
            self._until = None
        self._waited += time.monotonic() - started
        self._samples.append((self._waited, self._samples[-1][1] + count))
        while (len(self._samples) > 1
               and self._samples[1][0] <= self._waited - self._window):
            self._samples.popleft()

    def stop(self):
        """End the watchdog thread; safe to call twice."""
        with self._lock:
            self._stopped = True
            self._lock.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _watch(self):
        with self._lock:
            while not self._stopped:
                now = time.monotonic()
                if self._until is not None and now >= self._until:
                    self.expired = self._why
                    if self._sock is not None:
                        _shut_down(self._sock)
                    return
                self._wakes_at = self._until
                self._lock.wait(None if self._until is None
                                else self._until - now)


def _shut_down(sock):
    # socket.socket's own shutdown, also for an SSLSocket: it ends a blocked
    # read without touching the TLS state another thread is using.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to end
