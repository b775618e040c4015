import dataclasses
import hashlib
import logging
from typing import Optional

from hypothesis import given
from hypothesis import strategies as st
import pytest

from loc_strategy_filter.download.candidates import Candidate
from loc_strategy_filter.download.failover import (
    FailoverStream)
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download.verify import Verified
from loc_strategy_filter.errors import LocationsExhausted
from loc_strategy_filter.errors import NoReadableLocation
from loc_strategy_filter.errors import VerificationFailed
from loc_strategy_filter.stores.base import ReadFailed
from loc_strategy_filter.stores.base import ReadRefused

DATA = bytes(range(256)) * 4
SECRET = "s3cret"
A = "file:///srv/images/a"
B = f"http://user:{SECRET}@store-b/images/b"
C = f"swift+https://tenant:{SECRET}@keystone/v3/c/o"
SAME_SIZE = object()
# What the image's record says, as the stream knows it by default.
RECORDED = RecordedBytes(len(DATA), hashlib.md5(DATA).hexdigest())


def failed_lately(memory, url, recorded=None):
    """What one download recalling ``url`` would know."""
    return memory.recall([url], recorded).recently_failed(url)


def bytes_failed(memory, url, recorded=RECORDED):
    """Whether ``url`` is remembered for wrong bytes of this image only."""
    return (failed_lately(memory, url, recorded)
            and not failed_lately(memory, url))


@dataclasses.dataclass
class Store:
    """How one fake location behaves."""

    data: bytes = DATA
    refuse: bool = False
    fail_at_open: bool = False
    fail_after: Optional[int] = None  # ReadFailed after this many bytes
    end_after: Optional[int] = None  # a clean end after this many bytes
    size: object = SAME_SIZE  # the size the source reports
    extra: bytes = b""  # bytes sent past the end asked for
    chunk_size: int = 100


class FakeSource:
    def __init__(self, store, start, stop):
        self.store = store
        self.start = start
        self.stop = stop
        self.size = len(store.data) if store.size is SAME_SIZE else store.size
        self.closed = False
        self.pulled = 0  # chunks taken from it so far

    def chunks(self):
        store = self.store
        body = store.data[self.start:self.stop] + store.extra
        cut = min(n for n in (store.fail_after, store.end_after, len(body))
                  if n is not None)
        for offset in range(0, cut, store.chunk_size):
            self.pulled += 1
            yield body[offset:min(offset + store.chunk_size, cut)]
        if store.fail_after is not None:
            raise ReadFailed(f"connection to {self.url} reset")

    def close(self):
        self.closed = True


class FakeReader:
    def __init__(self, stores):
        self.stores = stores
        self.opened = []  # (url, start, stop)
        self.sources = []

    def open(self, url, start=0, stop=None):
        store = self.stores[url]
        if store.refuse:
            raise ReadRefused(f"{url} is not allowed")
        if store.fail_at_open:
            raise ReadFailed(f"cannot connect to {url}")
        self.opened.append((url, start, stop))
        source = FakeSource(store, start, stop)
        source.url = url
        self.sources.append(source)
        return source


class FakeContinuation:
    """The upstream's own download, asked for the rest of the body."""

    def __init__(self, store):
        self.store = store
        self.calls = []  # (offset, stop)
        self.sources = []

    def __call__(self, offset, stop):
        self.calls.append((offset, stop))
        if self.store.fail_at_open:
            raise ReadFailed("the upstream answered 500")
        source = FakeSource(self.store, offset, stop)
        source.url = "upstream"
        self.sources.append(source)
        return source


def failover(stores, start=0, stop=len(DATA), memory=None,
             recorded=RECORDED, **kwargs):
    reader = FakeReader(stores)
    candidates = [Candidate(index, {"url": url, "metadata": {}}, reader)
                  for index, url in enumerate(stores)]
    memory = FailureMemory(60) if memory is None else memory
    stream = FailoverStream(
        candidates, recorded, start, stop, image_id="img-1",
        recalled=memory.recall(stores, recorded), **kwargs)
    return stream, reader


def verified(stream, recorded=RECORDED):
    """The stream checked against the checksum of ``recorded``, as the
    filter serves a whole image.
    """
    return Verified(stream, recorded, on_mismatch=stream.wrong_bytes)


def drain(body):
    """The bytes received, and the exception that ended the body (or None)."""
    received = bytearray()
    try:
        for chunk in body:
            received += chunk
    except Exception as error:
        return bytes(received), error
    return bytes(received), None


def served(stores, verify=False, recorded=RECORDED, **kwargs):
    stream, reader = failover(stores, recorded=recorded, **kwargs)
    stream.open_first()
    received, error = drain(verified(stream, recorded) if verify else stream)
    return stream, reader, received, error


def all_closed(reader):
    return all(source.closed for source in reader.sources)


# -- Opening ------------------------------------------------------------------

def test_the_first_location_serves_it_all():
    memory = FailureMemory(60)
    stream, reader, received, error = served({A: Store(), B: Store()},
                                             memory=memory)
    assert (received, error) == (DATA, None)
    assert reader.opened == [(A, 0, len(DATA))]
    assert (stream.served_by.index, stream.failovers) == (0, 0)
    assert all_closed(reader)
    assert len(memory) == 0


def test_open_first_returns_the_open_source():
    stream, reader = failover({A: Store()})
    assert stream.open_first() is reader.sources[0]
    stream.close()
    assert reader.sources[0].closed


def test_a_refused_location_is_skipped_and_not_a_failure(caplog):
    caplog.set_level(logging.DEBUG)
    memory = FailureMemory(60)
    stream, reader, received, error = served({A: Store(refuse=True),
                                              B: Store()}, memory=memory)
    assert (received, error) == (DATA, None)
    assert (stream.served_by.index, stream.failovers) == (1, 0)
    assert not failed_lately(memory, A)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("location 0 is not read" in r.getMessage()
               for r in caplog.records if r.levelno == logging.DEBUG)


def test_a_location_failing_to_open_is_remembered(caplog):
    memory = FailureMemory(60)
    stream, reader, received, error = served({B: Store(fail_at_open=True),
                                              A: Store()}, memory=memory)
    assert (received, error) == (DATA, None)
    assert (stream.served_by.index, stream.failovers) == (1, 1)
    assert failed_lately(memory, B)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert "location 0" in message and "at byte 0" in message
    assert "http://***@store-b/images/b" in message
    assert SECRET not in message


@pytest.mark.parametrize("stores", [
    {},
    {A: Store(refuse=True), B: Store(refuse=True)},
    {A: Store(fail_at_open=True), B: Store(fail_at_open=True)},
    {A: Store(refuse=True), B: Store(fail_at_open=True)},
    {A: Store(size=len(DATA) - 1)},
], ids=["no-candidates", "all-refused", "all-failed", "refused-and-failed",
        "wrong-size"])
def test_no_location_opens(stores):
    stream, reader = failover(stores)
    with pytest.raises(NoReadableLocation, match="img-1"):
        stream.open_first()
    assert stream.served_by is None
    assert all_closed(reader)


def test_a_location_of_another_size_is_a_failed_one():
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(size=len(DATA) + 1), B: Store()}, memory=memory)
    assert (received, error) == (DATA, None)
    assert stream.served_by.index == 1
    assert bytes_failed(memory, A)
    assert reader.sources[0].closed


def test_a_location_of_unknown_size_is_read():
    stream, reader, received, error = served({A: Store(size=None)})
    assert (received, error) == (DATA, None)


def test_chunks_need_an_open_location():
    stream, reader = failover({A: Store()})
    with pytest.raises(RuntimeError):
        next(stream.chunks())


@pytest.mark.parametrize("start, stop, size", [
    (-1, 10, 100), (20, 10, 100), (0, 101, 100),
], ids=["negative-start", "stop-before-start", "stop-past-the-end"])
def test_a_window_outside_the_image_is_a_bug(start, stop, size):
    with pytest.raises(ValueError):
        failover({A: Store()}, start=start, stop=stop,
                 recorded=RecordedBytes(size))


# -- Failing over mid-stream --------------------------------------------------

def test_a_failure_mid_stream_resumes_at_the_offset_reached(caplog):
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(fail_after=250), B: Store()}, memory=memory)
    assert (received, error) == (DATA, None)
    assert reader.opened == [(A, 0, len(DATA)), (B, 250, len(DATA))]
    assert (stream.served_by.index, stream.failovers) == (1, 1)
    assert failed_lately(memory, A) and not failed_lately(memory, B)
    assert all_closed(reader)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "location 0" in warning.getMessage()
    assert "at byte 250: connection to" in warning.getMessage()


def test_a_range_resumes_within_the_range():
    stream, reader, received, error = served(
        {A: Store(fail_after=37), B: Store(fail_after=1), C: Store()},
        start=100, stop=300)
    assert (received, error) == (DATA[100:300], None)
    assert reader.opened == [(A, 100, 300), (B, 137, 300), (C, 138, 300)]
    assert stream.failovers == 2


def test_a_clean_but_early_end_is_a_failure(caplog):
    stream, reader, received, error = served(
        {A: Store(end_after=10), B: Store()})
    assert (received, error) == (DATA, None)
    assert reader.opened[1] == (B, 10, len(DATA))
    assert any("at byte 10: it ended early" in r.getMessage()
               for r in caplog.records)


def test_reopening_skips_refused_and_failing_locations():
    stream, reader, received, error = served(
        {A: Store(fail_after=10), B: Store(refuse=True),
         C: Store(fail_at_open=True), "file:///srv/d": Store()})
    assert (received, error) == (DATA, None)
    assert reader.opened[1] == ("file:///srv/d", 10, len(DATA))
    assert (stream.served_by.index, stream.failovers) == (3, 2)


def test_reopening_checks_the_size_too():
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(fail_after=10), B: Store(size=5), C: Store()},
        memory=memory)
    assert (received, error) == (DATA, None)
    assert stream.served_by.index == 2
    assert failed_lately(memory, A) and bytes_failed(memory, B)
    assert all_closed(reader)


def test_a_failure_after_the_last_byte_needs_no_failover():
    stream, reader, received, error = served(
        {A: Store(fail_after=len(DATA)), B: Store()})
    assert (received, error) == (DATA, None)
    assert (stream.served_by.index, stream.failovers) == (0, 0)


@pytest.mark.parametrize("stores, verify", [
    ({A: Store(fail_after=300)}, False),
    ({A: Store(fail_after=300), B: Store(fail_after=10)}, False),
    ({A: Store(fail_after=300), B: Store(fail_at_open=True)}, False),
    ({A: Store(end_after=300)}, False),
    ({A: Store(fail_after=300)}, True),
    ({A: Store(fail_after=len(DATA) - 1)}, False),
], ids=["one-location", "two-locations", "next-fails-to-open", "early-end",
        "with-verifier", "one-byte-short"])
def test_when_every_location_failed_the_body_breaks(stores, verify, caplog):
    stream, reader, received, error = served(stores, verify=verify)
    assert isinstance(error, LocationsExhausted)
    assert len(received) < len(DATA)
    assert DATA.startswith(received)
    assert all_closed(reader)
    assert not any("served by" in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.ERROR for r in caplog.records)


# -- Wrong bytes --------------------------------------------------------------

def corrupt(data, at):
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("at", [0, 500, len(DATA) - 1],
                         ids=["first-byte", "middle", "last-byte"])
@pytest.mark.parametrize("chunk_size", [1, 100, len(DATA)],
                         ids=["byte-chunks", "small-chunks", "one-chunk"])
def test_a_corrupt_body_never_ends_cleanly(at, chunk_size):
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(data=corrupt(DATA, at), chunk_size=chunk_size)},
        verify=True, memory=memory)
    assert isinstance(error, VerificationFailed)
    assert len(received) < len(DATA)
    assert bytes_failed(memory, A)
    assert all_closed(reader)


def test_every_location_read_is_blamed_for_a_corrupt_body(caplog):
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(fail_after=100), B: Store(data=corrupt(DATA, 900)),
         C: Store()}, verify=True, memory=memory)
    assert isinstance(error, VerificationFailed)
    assert [failed_lately(memory, u, RECORDED) for u in (A, B, C)] == [
        True, True, False]
    assert failed_lately(memory, A) and bytes_failed(memory, B)
    assert any("location(s) 0, 1" in r.getMessage() for r in caplog.records)


def test_a_verified_body_may_come_from_several_locations():
    stream, reader, received, error = served(
        {A: Store(fail_after=100), B: Store(fail_after=555), C: Store()},
        verify=True)
    assert (received, error) == (DATA, None)


@pytest.mark.parametrize("start, stop, verify", [
    (0, len(DATA), False),
    (0, len(DATA), True),
    (10, 20, False),
], ids=["whole", "whole-verified", "range"])
@pytest.mark.parametrize("chunk_size", [3, 100, 2000],
                         ids=["small-chunks", "chunks", "one-chunk"])
def test_bytes_past_the_end_are_never_sent(start, stop, verify, chunk_size):
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(extra=b"trailing junk", chunk_size=chunk_size), B: Store()},
        start=start, stop=stop, verify=verify, memory=memory)
    assert isinstance(error, VerificationFailed)
    assert len(received) < stop - start
    assert DATA[start:stop].startswith(received)
    assert bytes_failed(memory, A)
    assert reader.opened == [(A, start, stop)]


def test_a_short_source_of_unknown_size_is_failed_over():
    stream, reader, received, error = served(
        {A: Store(data=DATA[:500], size=None), B: Store()}, verify=True)
    assert (received, error) == (DATA, None)
    assert reader.opened[1] == (B, 500, len(DATA))


def test_an_empty_image_is_an_empty_body():
    stream, reader, received, error = served(
        {A: Store(data=b"")}, stop=0,
        recorded=RecordedBytes(0, hashlib.md5(b"").hexdigest()), verify=True)
    assert (received, error) == (b"", None)


def test_wrong_bytes_are_remembered_with_what_the_record_said():
    memory = FailureMemory(60)
    recorded = RecordedBytes(len(DATA), hashlib.md5(DATA).hexdigest())
    stream, reader, received, error = served(
        {A: Store(data=corrupt(DATA, 3))}, verify=True, memory=memory,
        recorded=recorded)
    assert isinstance(error, VerificationFailed)
    assert bytes_failed(memory, A, recorded)
    assert not failed_lately(memory, A, RecordedBytes(len(DATA), "0" * 32))


# -- Sending promptly ---------------------------------------------------------

@pytest.mark.parametrize("verify", [False, True],
                         ids=["unverified", "verified"])
def test_each_chunk_goes_out_as_it_arrives(verify):
    stream, reader = failover({A: Store()})
    stream.open_first()
    body = iter(verified(stream) if verify else stream)
    assert next(body) == DATA[:100]
    assert reader.sources[0].pulled == 1
    assert next(body) == DATA[100:200]
    assert reader.sources[0].pulled == 2
    body.close()


def test_only_the_chunk_with_the_last_byte_waits_for_the_check():
    stream, reader = failover({A: Store(data=corrupt(DATA, len(DATA) - 1))})
    stream.open_first()
    received, error = drain(verified(stream))
    assert isinstance(error, VerificationFailed)
    assert received == DATA[:1000]  # all but the last chunk (of 24 bytes)


# -- Continuing from the upstream ---------------------------------------------

def test_the_upstream_continues_when_no_location_is_left(caplog):
    caplog.set_level(logging.INFO)
    memory = FailureMemory(60)
    upstream = FakeContinuation(Store())
    stream, reader, received, error = served(
        {A: Store(fail_after=250), B: Store(fail_at_open=True)},
        verify=True, memory=memory, continuation=upstream)
    assert (received, error) == (DATA, None)
    assert upstream.calls == [(250, len(DATA))]
    assert failed_lately(memory, A) and failed_lately(memory, B)
    assert not failed_lately(memory, "upstream")
    assert all_closed(reader) and upstream.sources[0].closed
    messages = [r.getMessage() for r in caplog.records]
    assert ("Image img-1: no location left; bytes 250 to 1024 continue "
            "from the upstream's own download") in messages
    assert ("Image img-1: bytes 0 to 1024 served by location(s) 0, then "
            "from byte 250 by the upstream, after 2 failover(s)") in messages


def test_the_upstream_is_not_asked_while_a_location_is_left():
    upstream = FakeContinuation(Store())
    stream, reader, received, error = served(
        {A: Store(fail_after=250), B: Store()}, continuation=upstream)
    assert (received, error) == (DATA, None)
    assert upstream.calls == []


def test_the_upstream_continues_a_range_within_the_range():
    upstream = FakeContinuation(Store())
    stream, reader, received, error = served(
        {A: Store(fail_after=37)}, start=100, stop=300, continuation=upstream)
    assert (received, error) == (DATA[100:300], None)
    assert upstream.calls == [(137, 300)]


@pytest.mark.parametrize("upstream_store", [
    Store(fail_at_open=True), Store(fail_after=10), Store(end_after=10),
], ids=["refuses", "fails", "ends-early"])
def test_when_the_upstream_cannot_continue_the_body_breaks(upstream_store,
                                                           caplog):
    upstream = FakeContinuation(upstream_store)
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(fail_after=250)}, continuation=upstream, memory=memory)
    assert isinstance(error, LocationsExhausted)
    assert DATA.startswith(received) and len(received) < len(DATA)
    assert upstream.calls == [(250, len(DATA))]  # asked once only
    assert len(memory) == 1 and failed_lately(memory, A)
    assert all(source.closed for source in upstream.sources)


def test_wrong_bytes_from_the_upstream_still_break_the_body():
    upstream = FakeContinuation(Store(data=corrupt(DATA, 900)))
    memory = FailureMemory(60)
    stream, reader, received, error = served(
        {A: Store(fail_after=250)}, verify=True, continuation=upstream,
        memory=memory)
    assert isinstance(error, VerificationFailed)
    assert len(received) < len(DATA)


def test_the_upstream_is_no_fallback_for_opening():
    upstream = FakeContinuation(Store())
    stream, reader = failover({A: Store(fail_at_open=True)},
                              continuation=upstream)
    with pytest.raises(NoReadableLocation):
        stream.open_first()
    assert upstream.calls == []


# -- Closing and logging ------------------------------------------------------

def test_closing_the_body_early_closes_the_location():
    stream, reader = failover({A: Store()})
    stream.open_first()
    body = stream.chunks()
    next(body)
    body.close()
    assert all_closed(reader)


def test_closing_an_unread_stream_closes_the_location():
    stream, reader = failover({A: Store()})
    stream.open_first()
    stream.close()
    stream.close()
    assert all_closed(reader)


def test_the_stream_is_a_wsgi_body():
    stream, reader = failover({A: Store(fail_after=5), B: Store()})
    stream.open_first()
    assert b"".join(stream) == DATA
    assert all_closed(reader)


def test_one_info_line_says_who_served(caplog):
    caplog.set_level(logging.INFO)
    served({A: Store(fail_at_open=True), B: Store(fail_after=7), C: Store()},
           start=5, stop=50)
    [info] = [r.getMessage() for r in caplog.records
              if r.levelno == logging.INFO]
    assert info == ("Image img-1: bytes 5 to 50 served by location 2 "
                    "(swift store) after 2 failover(s)")


def test_logs_never_show_credentials(caplog):
    caplog.set_level(logging.DEBUG)
    served({B: Store(refuse=True), C: Store(fail_at_open=True),
            f"http://u:{SECRET}@d/x": Store(fail_after=3),
            f"swift+https://u:{SECRET}@e/x": Store(extra=b"!")},
           verify=True)
    assert len(caplog.records) >= 4
    for record in caplog.records:
        assert SECRET not in record.getMessage()


# -- Any failures, any window -------------------------------------------------

behaviours = st.one_of(
    st.just("ok"), st.just("refuse"), st.just("fail_at_open"),
    st.tuples(st.just("fail_after"), st.integers(0, 80)),
    st.tuples(st.just("end_after"), st.integers(0, 80)))


def store_for(behaviour, data, chunk_size):
    if behaviour == "ok":
        return Store(data=data, chunk_size=chunk_size)
    if isinstance(behaviour, str):
        return Store(data=data, chunk_size=chunk_size, **{behaviour: True})
    kind, count = behaviour
    return Store(data=data, chunk_size=chunk_size, **{kind: count})


def reaches_the_end(behaviour, position, stop):
    return behaviour == "ok" or position + behaviour[1] >= stop


def model(behaviours, start, stop, upstream=None):
    """(outcome, offsets each location is opened at, indices that failed,
    the offsets the upstream is asked from).
    """
    position, opened_at, failed = start, {}, []
    for index, behaviour in enumerate(behaviours):
        if behaviour == "refuse":
            continue
        if behaviour == "fail_at_open":
            failed.append(index)
            continue
        opened_at[index] = position
        if reaches_the_end(behaviour, position, stop):
            return "whole", opened_at, failed, []
        position += behaviour[1]
        failed.append(index)
    if not opened_at:
        return "unopened", opened_at, failed, []
    if upstream is None:
        return "broken", opened_at, failed, []
    if upstream != "fail_at_open" and reaches_the_end(upstream, position,
                                                      stop):
        return "whole", opened_at, failed, [position]
    return "broken", opened_at, failed, [position]


@given(data=st.binary(max_size=120), window=st.tuples(st.integers(0, 120),
                                                      st.integers(0, 120)),
       behaviours=st.lists(behaviours, min_size=1, max_size=5),
       chunk_sizes=st.lists(st.integers(1, 16), min_size=6, max_size=6),
       upstream=st.one_of(st.none(), behaviours.filter(
           lambda behaviour: behaviour != "refuse")))
def test_any_failures_give_the_exact_window_or_a_broken_body(
        data, window, behaviours, chunk_sizes, upstream):
    start, stop = sorted(min(n, len(data)) for n in window)
    urls = [f"file:///srv/{index}" for index in range(len(behaviours))]
    stores = {url: store_for(behaviour, data, size) for url, behaviour, size
              in zip(urls, behaviours, chunk_sizes)}
    whole = (start, stop) == (0, len(data))
    memory = FailureMemory(60)
    continuation = (None if upstream is None else FakeContinuation(
        store_for(upstream, data, chunk_sizes[-1])))
    recorded = RecordedBytes(len(data), hashlib.md5(data).hexdigest())
    stream, reader = failover(
        stores, start=start, stop=stop, recorded=recorded, memory=memory,
        continuation=continuation)
    outcome, opened_at, failed, upstream_asked = model(
        behaviours, start, stop, upstream)

    if outcome == "unopened":
        with pytest.raises(NoReadableLocation):
            stream.open_first()
    else:
        stream.open_first()
        received, error = drain(verified(stream, recorded) if whole
                                else stream)
        if outcome == "whole":
            assert (received, error) == (data[start:stop], None)
        else:
            assert isinstance(error, LocationsExhausted)
            assert len(received) < stop - start
            assert data[start:stop].startswith(received)
    assert reader.opened == [(urls[i], offset, stop)
                             for i, offset in opened_at.items()]
    assert [i for i, url in enumerate(urls)
            if failed_lately(memory, url)] == failed
    assert stream.failovers == len(failed)
    assert all_closed(reader)
    if continuation is not None:
        assert continuation.calls == [(offset, stop)
                                      for offset in upstream_asked]
        assert all(source.closed for source in continuation.sources)


def test_without_a_memory_it_fails_over_all_the_same():
    reader = FakeReader({A: Store(fail_after=10), B: Store(fail_after=20),
                         A + "?again": Store()})
    candidates = [Candidate(index, {"url": url, "metadata": {}}, reader)
                  for index, url in enumerate(reader.stores)]
    stream = FailoverStream(candidates, RECORDED, image_id="img-1")
    stream.open_first()
    assert drain(verified(stream)) == (DATA, None)
    assert [offset for _, offset, _ in reader.opened] == [0, 10, 30]
    assert stream.failovers == 2


def test_who_served_is_logged_when_a_server_stops_at_the_last_byte(caplog):
    caplog.set_level(logging.DEBUG)
    stream, reader = failover({A: Store()}, start=5, stop=50)
    stream.open_first()
    body, received = iter(stream), b""
    while len(received) < 45:
        received += next(body)
    stream.close()  # as a server may, without asking for more
    assert received == DATA[5:50]
    # Nothing failed over: the one line is at DEBUG.
    assert [(r.levelno, r.getMessage()) for r in caplog.records
            if "served by" in r.getMessage()] == [
        (logging.DEBUG, "Image img-1: bytes 5 to 50 served by location 0 "
                        "(file store) after 0 failover(s)")]


@pytest.mark.parametrize("stores, single", [
    ({A: Store()}, True),
    ({A: Store(fail_at_open=True), B: Store()}, True),
    ({A: Store(fail_after=300), B: Store()}, False),
], ids=["one-location", "one-after-a-failed-open", "spliced"])
def test_single_source_says_whether_one_location_sent_every_byte(stores,
                                                                 single):
    stream, _ = failover(stores)
    stream.open_first()
    assert bytes(b"".join(stream)) == DATA
    assert stream.single_source is single
