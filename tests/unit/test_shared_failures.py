"""Failures shared between workers through a real memcached, and every way
the cache can fail without failing a download.
"""

import logging
import time

import pytest

from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download.shared_failures import SharedFailureMemory
from loc_strategy_filter import failure_cache
from loc_strategy_filter import options
from loc_strategy_filter import settings

LOGGER = "loc_strategy_filter.download.shared_failures"
RECORD = RecordedBytes(10, "a" * 32)
OTHER_RECORD = RecordedBytes(10, "b" * 32)
SECRET_URL = ("https://admin:s3cret@mirror.example.com/images/x"
              "?temp_url_sig=ab12")
A, B, C = "file:///srv/a", "http://mirror/b", "rbd://pool/c"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CountingCache:
    """A ``SharedCache`` that counts the calls a memory makes on it."""

    def __init__(self, cache):
        self.cache = cache
        self.retry_seconds = cache.retry_seconds
        self.calls = []

    def failed_among(self, keys):
        self.calls.append(("get_multi", len(keys)))
        return self.cache.failed_among(keys)

    def remember(self, key):
        self.calls.append(("set", 1))
        return self.cache.remember(key)


class BrokenCache:
    def __init__(self, error, retry_seconds=30):
        self.error = error
        self.retry_seconds = retry_seconds
        self.calls = 0

    def failed_among(self, keys):
        self.calls += 1
        raise self.error

    remember = failed_among


def shared_cache(address, ttl=60, **values):
    conf = settings.load_config()
    for name, value in {"enabled": True,
                        "backend": "dogpile.cache.pymemcache",
                        "memcache_servers": [address], **values}.items():
        conf.set_override(name, value, group=options.CACHE_GROUP)
    return failure_cache.load(conf, ttl)


def worker(cache, ttl=60, clock=None):
    """One worker's memory, as each process of a Glance API has its own."""
    return SharedFailureMemory(ttl, cache,
                               **({} if clock is None else {"clock": clock}))


def locations(*urls):
    return [{"url": url, "metadata": {}} for url in urls]


def test_a_failure_one_worker_saw_is_known_to_another(memcached):
    cache = shared_cache(memcached.address)
    first, second = worker(cache), worker(cache)
    first.failed(A)
    recalled = second.recall([A, B])
    assert recalled.failure_of(A) == "read"
    assert recalled.failure_of(B) is None
    assert [loc["url"] for loc in second.recall([A, B, C]).deprioritised(
        locations(A, B, C))] \
        == [B, C, A]


def test_wrong_bytes_are_shared_for_that_record_only(memcached):
    cache = shared_cache(memcached.address)
    first, second = worker(cache), worker(cache)
    first.failed(B, RECORD)
    assert second.recall([B], RECORD).failure_of(B) == "bytes"
    assert second.recall([B], OTHER_RECORD).failure_of(B) is None
    assert [loc["url"] for loc in second.recall([A, B, C], RECORD)
            .deprioritised(locations(A, B, C))] == [A, C]


def test_no_url_credential_or_query_reaches_memcached(memcached):
    cache = shared_cache(memcached.address)
    memory = worker(cache)
    memory.failed(SECRET_URL)
    memory.failed(SECRET_URL, RECORD)
    keys = memcached.keys()
    assert len(keys) == 2
    stored = keys + [memcached.command(f"get {key}") for key in keys]
    for text in stored:
        for secret in ("mirror", "example", "admin", "s3cret", "temp_url_sig",
                       "ab12", "images"):
            assert secret not in text
    assert worker(cache).recall([SECRET_URL]).failure_of(SECRET_URL) == "read"


def test_a_download_reads_all_its_candidates_in_one_round_trip(memcached):
    cache = shared_cache(memcached.address)
    worker(cache).failed(C)
    counting = CountingCache(cache)
    memory = worker(counting)
    recalled = memory.recall([A, B, C, SECRET_URL], RECORD)
    assert counting.calls == [("get_multi", 8)]  # read and bytes, each URL
    assert [recalled.recently_failed(url) for url in (A, B, C)] == [
        False, False, True]


def test_nothing_is_written_unless_something_failed(memcached):
    cache = shared_cache(memcached.address)
    counting = CountingCache(cache)
    memory = worker(counting)
    memory.recall([A, B], RECORD).deprioritised(locations(A, B))
    assert [call for call, _ in counting.calls] == ["get_multi"]
    memory.recall([A], RECORD).failed(A)
    assert [call for call, _ in counting.calls] == [
        "get_multi", "get_multi", "set"]
    assert memcached.keys()


def test_failures_this_worker_knows_are_not_asked_for(memcached):
    cache = shared_cache(memcached.address)
    counting = CountingCache(cache)
    memory = worker(counting)
    memory.failed(A)
    counting.calls.clear()
    memory.recall([A, B])
    assert counting.calls == [("get_multi", 1)]


def test_shared_failures_expire_after_the_ttl(memcached):
    cache = shared_cache(memcached.address, ttl=1)
    worker(cache, ttl=1).failed(A)
    assert worker(cache, ttl=1).recall([A]).recently_failed(A)
    time.sleep(2.2)  # memcached's expiry has a one-second resolution
    assert not worker(cache, ttl=1).recall([A]).recently_failed(A)


@pytest.mark.parametrize("fault", ["killed", "never_started"])
def test_a_dead_cache_leaves_the_workers_own_memory(memcached, caplog,
                                                    fault):
    cache = shared_cache(memcached.address)
    clock = Clock()
    memory = worker(cache, clock=clock)
    memory.failed(A)
    if fault == "killed":
        memcached.kill()
    else:
        cache = shared_cache("127.0.0.1:1")
        memory = worker(cache, clock=clock)
        memory.failed(A)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(5):
            recalled = memory.recall([A, B])
            assert recalled.failure_of(A) == "read"
            memory.failed(B)
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1
    assert "unusable" in warnings[0].getMessage()
    assert memory.recall([B]).recently_failed(B)


def test_a_dead_cache_is_left_alone_until_the_retry_interval(memcached):
    broken = BrokenCache(ConnectionRefusedError("refused"), retry_seconds=10)
    clock = Clock()
    memory = worker(broken, clock=clock)
    memory.recall([A])
    assert broken.calls == 1
    for _ in range(20):
        memory.recall([A, B], RECORD)
        memory.failed(A)
    assert broken.calls == 1  # no request paid a second time
    clock.now += 10
    memory.recall([B])
    memory.probe.join(5)  # tried again, by a thread of its own
    assert broken.calls == 2
    memory.recall([B])
    memory.failed(B)
    assert broken.calls == 2  # out again, for another interval
    assert memory.probe.name == "loc-strategy-filter-cache-probe"


def test_a_cache_that_was_out_is_never_tried_by_a_request(memcached):
    cache = shared_cache(memcached.address, memcache_dead_retry=10)
    clock = Clock()
    memory = worker(cache, clock=clock)
    memcached.pause()  # hung: a request that tried it would wait
    try:
        memory.failed(A)  # the one request that finds out
        clock.now += 10
        started = time.monotonic()
        for _ in range(5):
            assert memory.recall([A, B]).failure_of(A) == "read"
        assert time.monotonic() - started < 0.05
    finally:
        memcached.resume()
    memory.probe.join(5)
    assert memory.recall([A]).failure_of(A) == "read"


def test_sharing_resumes_when_the_cache_comes_back(memcached, caplog):
    cache = shared_cache(memcached.address, memcache_dead_retry=1)
    first, second = worker(cache), worker(cache)
    memcached.kill()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        first.failed(A)  # kept by the first worker only
        assert not second.recall([A]).recently_failed(A)
        memcached.start()
        assert not second.recall([A]).recently_failed(A)  # left alone
        time.sleep(1.1)
        for memory in (first, second):
            memory.recall([C])  # starts the probe
            memory.probe.join(5)
        first.failed(B)
        assert second.recall([B]).recently_failed(B)
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert [("unusable" in m, "usable again" in m) for m in messages] == [
        (True, False), (True, False), (False, True), (False, True)]


def test_a_hung_cache_costs_a_bounded_wait_once(memcached, caplog):
    cache = shared_cache(memcached.address, socket_timeout=0.2)
    memory = worker(cache)
    memory.failed(A)
    memcached.pause()
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            started = time.monotonic()
            assert memory.recall([A, B]).failure_of(A) == "read"
            first = time.monotonic() - started
            started = time.monotonic()
            for _ in range(10):
                memory.recall([A, B])
            rest = time.monotonic() - started
    finally:
        memcached.resume()
    assert first < 2 and rest < 0.5  # bounded; then not waited on at all
    assert len([r for r in caplog.records if r.name == LOGGER]) == 1


def test_a_value_the_filter_did_not_write_is_not_believed(memcached, caplog):
    cache = shared_cache(memcached.address)
    memory = worker(cache)
    memory.failed(A)
    memory.failed(B)
    (key, _) = sorted(memcached.keys())
    assert memcached.command(f"set {key} 0 60 7\r\ngarbage") == "STORED\r\n"
    with caplog.at_level(logging.WARNING):
        recalled = [worker(cache).recall([A, B]) for _ in range(3)]
    # Only the foreign entry is unknown; the cache stays in use.
    assert sorted(r.recently_failed(A) + r.recently_failed(B)
                  for r in recalled) == [1, 1, 1]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "did not write" in warnings[0]


@pytest.mark.parametrize("error", [
    RuntimeError("boom"), ValueError("garbage"), TimeoutError("slow"),
    OSError("reset")], ids=type)
def test_any_cache_error_falls_back_to_the_workers_memory(error):
    memory = worker(BrokenCache(error))
    memory.failed(A)  # raises nothing
    assert [loc["url"] for loc in memory.recall([A, B]).deprioritised(
        locations(A, B))] == [B, A]
