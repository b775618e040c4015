import gc
import hashlib
import logging
import os
import threading
import time
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st
import pytest

from loc_strategy_filter.download.record import computable
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download import verify
from loc_strategy_filter.download.verify import Verified
from loc_strategy_filter.download.verify import Verifier
from loc_strategy_filter.errors import VerificationFailed
from tests.unit.test_failover import A
from tests.unit.test_failover import B
from tests.unit.test_failover import drain
from tests.unit.test_failover import served
from tests.unit.test_failover import Store

DATA = b"the image bytes " * 100
MD5 = hashlib.md5(DATA).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()
DEFAULTS = {"THREADED_FROM": verify.THREADED_FROM,
            "BATCH_BYTES": verify.BATCH_BYTES}
REAL_MD5 = hashlib.md5


@pytest.fixture(autouse=True, scope="module", params=["inline", "threaded"])
def mode(request):
    """Every test twice: as the small bodies here are hashed, and as a
    large body is (threads, in batches of a few chunks).
    """
    if request.param == "inline":
        yield request.param
        return
    with mock.patch.multiple(verify, THREADED_FROM=0, BATCH_BYTES=100):
        yield request.param
    assert digest_threads() == []


def digest_threads():
    return [thread for thread in threading.enumerate()
            if thread.name.startswith("loc-strategy-filter-digest")]


def checked(recorded, *chunks):
    verifier = Verifier(recorded)
    for chunk in chunks:
        verifier.update(chunk)
    verifier.check()


@pytest.mark.parametrize("recorded", [
    RecordedBytes(len(DATA)),
    RecordedBytes(len(DATA), MD5),
    RecordedBytes(len(DATA), MD5, "sha512", SHA512),
    RecordedBytes(len(DATA), None, "sha512", SHA512),
    RecordedBytes(len(DATA), MD5.upper(), "sha512", SHA512.upper()),
], ids=["size-only", "md5", "md5-and-os-hash", "os-hash-only",
        "upper-case-hex"])
def test_the_right_bytes_pass(recorded):
    checked(recorded, DATA[:7], DATA[7:])


@pytest.mark.parametrize("body, expected_size", [
    (DATA[:-1], len(DATA)),
    (DATA + b"x", len(DATA)),
    (b"", len(DATA)),
    (b"x", 0),
], ids=["one-byte-short", "one-byte-over", "nothing", "bytes-for-empty"])
def test_a_wrong_size_fails(body, expected_size):
    with pytest.raises(VerificationFailed, match="size mismatch"):
        checked(RecordedBytes(expected_size), body)


def test_empty_image_passes():
    checked(RecordedBytes(0, hashlib.md5(b"").hexdigest()))


def corrupt(data):
    return data[:10] + bytes([data[10] ^ 1]) + data[11:]


def test_an_md5_mismatch_fails_and_says_so():
    with pytest.raises(VerificationFailed, match="md5") as raised:
        checked(RecordedBytes(len(DATA), MD5), corrupt(DATA))
    assert MD5 in str(raised.value)


def test_an_os_hash_mismatch_fails_and_says_so():
    with pytest.raises(VerificationFailed, match="sha512 os_hash_value"):
        checked(RecordedBytes(len(DATA), None, "sha512", SHA512),
                corrupt(DATA))


def test_a_right_md5_does_not_hide_a_wrong_os_hash():
    with pytest.raises(VerificationFailed, match="sha512"):
        checked(RecordedBytes(len(DATA), MD5, "sha512", "0" * 128), DATA)


def test_size_is_checked_before_checksums():
    with pytest.raises(VerificationFailed, match="size mismatch"):
        checked(RecordedBytes(len(DATA) + 1, MD5), DATA)


@pytest.mark.parametrize("algo, value", [
    ("sha512", None), (None, SHA512), ("", SHA512),
], ids=["no-value", "no-algo", "empty-algo"])
def test_an_incomplete_os_hash_is_not_checked(algo, value):
    checked(RecordedBytes(len(DATA), None, algo, value), corrupt(DATA))


@pytest.mark.parametrize("algo", ["no-such-hash-for-test", "shake_128"],
                         ids=["unknown", "variable-length"])
def test_an_unusable_algorithm_is_skipped_with_one_warning(algo, caplog):
    computable.cache_clear()  # warned of already, in the other mode
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        checked(RecordedBytes(len(DATA), MD5, algo, "00"), DATA)
    warnings = [r for r in caplog.records if algo in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_an_unusable_algorithm_still_checks_md5():
    with pytest.raises(VerificationFailed, match="md5"):
        checked(RecordedBytes(len(DATA), MD5, "no-such-hash-either", "00"),
                corrupt(DATA))


@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200)))
def test_any_chunking_gives_the_same_verdict(data, cuts):
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    checked(RecordedBytes(len(data), hashlib.md5(data).hexdigest(), "sha256",
                          hashlib.sha256(data).hexdigest()), *chunks)


# -- A body checked as it passes ----------------------------------------------

class Body:
    """A WSGI body of ``chunks`` that records how far it was read."""

    def __init__(self, *chunks):
        self.chunks = chunks
        self.pulled = 0
        self.closed = False

    def __iter__(self):
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk

    def close(self):
        self.closed = True


def test_a_verified_body_passes_whole_and_closes_what_it_wraps():
    inner = Body(DATA[:7], DATA[7:100], DATA[100:])
    body = Verified(inner, RecordedBytes(len(DATA), MD5))
    assert drain(body) == (DATA, None)
    body.close()
    assert inner.closed


def test_each_chunk_but_the_last_goes_on_as_it_arrives():
    inner = Body(DATA[:7], DATA[7:])
    chunks = iter(Verified(inner, RecordedBytes(len(DATA), MD5)))
    assert next(chunks) == DATA[:7] and inner.pulled == 1
    assert next(chunks) == DATA[7:] and inner.pulled == 2


@pytest.mark.parametrize("chunks", [
    (DATA[:7], corrupt(DATA)[7:]), (DATA[:-1],), (DATA, b"x"),
], ids=["corrupt", "short", "long"])
def test_wrong_bytes_arrive_short_and_are_told(chunks):
    told, verified = [], []
    body = Verified(Body(*chunks), RecordedBytes(len(DATA), MD5),
                    on_mismatch=told.append,
                    on_verified=lambda: verified.append(True))
    received, error = drain(body)
    assert isinstance(error, VerificationFailed) and told == [error]
    assert len(received) < len(DATA)
    assert verified == [] and digest_threads() == []


def test_the_last_chunk_is_checked_before_the_body_is_read_on():
    """The failover stream logs who served once it is read to its end:
    wrong bytes must be found first.
    """
    inner = Body(corrupt(DATA), b"never read")
    received, error = drain(Verified(inner, RecordedBytes(len(DATA), MD5)))
    assert (received, inner.pulled) == (b"", 1)
    assert isinstance(error, VerificationFailed)


@pytest.mark.parametrize("recorded", [
    RecordedBytes(len(DATA), 12345),
    RecordedBytes(len(DATA), None, "sha512", 12345),
], ids=["int-checksum", "int-hash"])
def test_a_record_it_cannot_check_fails_before_the_body_is_iterated(
        recorded):
    """At construction, while the caller can still send something else."""
    inner = Body(DATA)
    with pytest.raises((AttributeError, TypeError)):
        Verified(inner, recorded)
    assert inner.pulled == 0


@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000)),
       flip=st.none() | st.integers(0, 1999))
def test_a_body_passes_whole_exactly_when_its_bytes_are_the_image(
        data, cuts, flip):
    """However it is cut into chunks, and whichever byte is wrong."""
    recorded = RecordedBytes(len(data), hashlib.md5(data).hexdigest(),
                             "sha512", hashlib.sha512(data).hexdigest())
    sent = data
    if flip is not None and flip < len(data):
        sent = data[:flip] + bytes([data[flip] ^ 1]) + data[flip + 1:]
    bounds = sorted({0, len(sent), *(c for c in cuts if c < len(sent))})
    chunks = [sent[a:b] for a, b in zip(bounds, bounds[1:])]
    received, error = drain(Verified(Body(*chunks), recorded))
    if sent == data:
        assert (received, error) == (data, None)
    else:
        assert (isinstance(error, VerificationFailed)
                and len(received) < len(data))


# -- Told when the image is whole ---------------------------------------------

def test_on_verified_is_told_once_before_the_last_chunk_goes():
    events = []
    body = Verified(Body(DATA[:7], DATA[7:100], DATA[100:]),
                    RecordedBytes(len(DATA), MD5, "sha512", SHA512),
                    on_verified=lambda: events.append("verified"))
    for chunk in body:
        events.append(len(chunk))
    assert events == [7, 93, "verified", len(DATA) - 100]


def test_an_empty_image_is_verified_too():
    told = []
    body = Verified(Body(), RecordedBytes(0, hashlib.md5(b"").hexdigest()),
                    on_verified=lambda: told.append(True))
    assert drain(body) == (b"", None) and told == [True]


def test_a_body_closed_part_way_is_not_verified():
    told = []
    body = Verified(Body(DATA[:7], DATA[7:]), RecordedBytes(len(DATA), MD5),
                    on_verified=lambda: told.append(True))
    chunks = iter(body)
    next(chunks)
    body.close()
    assert told == [] and digest_threads() == []


# -- Digest threads -----------------------------------------------------------

@pytest.fixture
def large():
    """A body of several MiB, with the module's own thresholds."""
    data = os.urandom(3 * DEFAULTS["BATCH_BYTES"] + 12345)
    with mock.patch.multiple(verify, **DEFAULTS):
        yield data, RecordedBytes(len(data), hashlib.md5(data).hexdigest(),
                                  "sha512", hashlib.sha512(data).hexdigest())


def chunked(data, size=65536):
    return [data[at:at + size] for at in range(0, len(data), size)]


def test_a_large_body_is_hashed_in_threads_that_end_with_it(large):
    data, recorded = large
    chunks = iter(Verified(Body(*chunked(data)), recorded))
    received = bytearray(next(chunks))
    assert len(digest_threads()) == 2
    for chunk in chunks:
        received += chunk
    assert received == data and digest_threads() == []


def test_a_small_body_starts_no_thread(large):
    chunks = iter(Verified(Body(DATA[:7], DATA[7:]),
                           RecordedBytes(len(DATA), MD5, "sha512", SHA512)))
    next(chunks)
    assert digest_threads() == []
    assert b"".join(chunks) == DATA[7:]


def test_a_body_without_checksums_starts_no_thread(large):
    data, recorded = large
    chunks = iter(Verified(Body(*chunked(data)), RecordedBytes(len(data))))
    next(chunks)
    assert digest_threads() == []


def test_a_large_wrong_body_arrives_short(large):
    data, recorded = large
    wrong = data[:-1] + bytes([data[-1] ^ 1])
    received, error = drain(Verified(Body(*chunked(wrong)), recorded))
    assert isinstance(error, VerificationFailed)
    assert len(received) < len(data) and digest_threads() == []


def test_a_client_gone_part_way_leaves_no_digest_thread(large):
    data, recorded = large
    inner = Body(*chunked(data))
    body = Verified(inner, recorded)
    chunks = iter(body)
    next(chunks), next(chunks)
    body.close()
    assert digest_threads() == [] and inner.closed


def test_a_body_dropped_part_way_leaves_no_digest_thread(large):
    data, recorded = large
    chunks = iter(Verified(Body(*chunked(data)), recorded))
    next(chunks)
    del chunks
    gc.collect()
    assert digest_threads() == []


def test_a_verifier_closed_part_way_cannot_pass(large):
    data, recorded = large
    verifier = Verifier(recorded)
    for chunk in chunked(data):
        verifier.update(chunk)
    verifier.close()
    assert digest_threads() == []
    with pytest.raises(RuntimeError, match="closed"):
        verifier.check()


def test_a_verifier_dropped_unchecked_leaves_no_digest_thread(large):
    data, recorded = large
    verifier = Verifier(recorded)
    for chunk in chunked(data)[:20]:
        verifier.update(chunk)
    del verifier
    assert digest_threads() == []


class Failing:
    """A hash that fails on its first bytes."""

    def __init__(self, **_):
        pass

    def update(self, chunk):
        raise ValueError("digest failed for test")


def caused_by_the_digest(error):
    return isinstance(error, ValueError) or isinstance(
        error.__cause__, ValueError)


def test_a_failing_digest_fails_the_check():
    with mock.patch.object(hashlib, "md5", Failing):
        verifier = Verifier(RecordedBytes(len(DATA), MD5))
    with pytest.raises(Exception) as raised:
        for chunk in (DATA[:700], DATA[700:]):
            verifier.update(chunk)
        verifier.check()
    assert caused_by_the_digest(raised.value)
    with pytest.raises(Exception):
        verifier.check()  # and stays failed
    assert digest_threads() == []


def test_a_failing_digest_breaks_the_body_without_blaming_the_bytes():
    told = []
    with mock.patch.object(hashlib, "md5", Failing):
        body = Verified(Body(DATA[:700], DATA[700:1400], DATA[1400:]),
                        RecordedBytes(len(DATA), MD5, "sha512", SHA512),
                        on_mismatch=told.append)
    received, error = drain(body)
    assert caused_by_the_digest(error) and not isinstance(
        error, VerificationFailed)
    assert len(received) < len(DATA) and told == []
    assert digest_threads() == []


class Gated:
    """MD5 that waits for ``gate`` before each chunk."""

    def __init__(self, gate):
        self._gate = gate
        self._md5 = REAL_MD5()

    def update(self, chunk):
        assert self._gate.wait(10)
        self._md5.update(chunk)

    def hexdigest(self):
        return self._md5.hexdigest()


def test_a_slow_digest_holds_the_body_back_instead_of_queueing_it(mode):
    if mode == "inline":
        pytest.skip("no queue inline")
    gate = threading.Event()
    with mock.patch.object(hashlib, "md5", lambda **_: Gated(gate)):
        verifier = Verifier(RecordedBytes(len(DATA), MD5))
    feeder = threading.Thread(target=lambda: [
        verifier.update(chunk) for chunk in chunked(DATA, 100)])
    feeder.start()
    # One batch hashing, a full queue, one waiting to go in: then no more.
    most = (verify.QUEUED_BATCHES + 2) * 100
    until = time.monotonic() + 10
    while verifier.received < most and time.monotonic() < until:
        time.sleep(0.01)
    time.sleep(0.1)
    assert verifier.received == most and feeder.is_alive()
    gate.set()
    feeder.join(10)
    verifier.check()
    assert digest_threads() == []


@given(fail_after=st.integers(1, len(DATA) - 1), wrong_tail=st.booleans())
def test_the_digests_run_on_across_a_failover(fail_after, wrong_tail):
    """The second location's bytes are hashed after the first's, from the
    byte the first stopped at.
    """
    recorded = RecordedBytes(len(DATA), MD5, "sha512", SHA512)
    tail = DATA[:-1] + bytes([DATA[-1] ^ (1 if wrong_tail else 0)])
    _, _, received, error = served(
        {A: Store(data=DATA, fail_after=fail_after, chunk_size=300),
         B: Store(data=tail, chunk_size=300)},
        verify=True, recorded=recorded, stop=len(DATA))
    if wrong_tail:
        assert (isinstance(error, VerificationFailed)
                and len(received) < len(DATA))
    else:
        assert (received, error) == (DATA, None)


def failing_digest_starts(after):
    """``Thread.start`` failing, as at a process's thread limit, for the
    digest threads after the first ``after``.
    """
    started, real_start = [0], threading.Thread.start

    def start(thread):
        if thread.name.startswith("loc-strategy-filter-digest"):
            if started[0] >= after:
                raise RuntimeError("can't start new thread")
            started[0] += 1
        return real_start(thread)

    return mock.patch.object(threading.Thread, "start", start)


@pytest.mark.parametrize("after", [0, 1], ids=["none-starts", "one-starts"])
def test_without_threads_to_be_had_the_body_is_hashed_inline(large, after):
    data, recorded = large
    with failing_digest_starts(after):
        received, error = drain(Verified(Body(*chunked(data)), recorded))
    assert error is None and received == data
    assert digest_threads() == []  # the one that started is not left
