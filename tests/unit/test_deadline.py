import socket
import threading
import time

from loc_strategy_filter.stores.deadline import Deadline


def test_a_fast_source_keeps_the_rate_memory_small():
    """Thousands of reads within one window: the watchdog remembers what
    the rate rule can still ask for, not every read (a GiB at 64 KiB a
    read within 30 s would otherwise keep 16384 samples).
    """
    deadline = Deadline(header_timeout=5, min_rate=1024, window=30)
    try:
        deadline.headers_received()
        for _ in range(20_000):
            deadline.read(deadline.reading(), 65536)
        assert len(deadline._samples) <= 2
        assert deadline.expired is None
    finally:
        deadline.stop()


def test_a_source_slower_than_the_rate_is_cut_off():
    left, right = socket.socketpair()
    deadline = Deadline(header_timeout=5, min_rate=1000, window=0.2)
    try:
        deadline.watch(left)
        deadline.headers_received()
        for _ in range(3):  # fast enough at first
            deadline.read(deadline.reading(), 1000)
        started = deadline.reading()
        left.settimeout(5)
        assert left.recv(1) == b""  # shut down by the watchdog
        assert 0.1 < time.monotonic() - started < 2
        assert "bytes/s" in deadline.expired
    finally:
        deadline.stop()
        left.close()
        right.close()


def test_stop_ends_the_watchdog_thread():
    before = threading.active_count()
    deadline = Deadline(header_timeout=60, min_rate=1, window=1)
    deadline.stop()
    deadline.stop()
    assert threading.active_count() == before
