import hashlib
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download.verify import (
    IntegrityError, Verified, Verifier)
from tests.unit.test_failover import drain

DATA = b"the image bytes " * 100
MD5 = hashlib.md5(DATA).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()


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
    with pytest.raises(IntegrityError, match="size mismatch"):
        checked(RecordedBytes(expected_size), body)


def test_empty_image_passes():
    checked(RecordedBytes(0, hashlib.md5(b"").hexdigest()))


def corrupt(data):
    return data[:10] + bytes([data[10] ^ 1]) + data[11:]


def test_an_md5_mismatch_fails_and_says_so():
    with pytest.raises(IntegrityError, match="md5") as raised:
        checked(RecordedBytes(len(DATA), MD5), corrupt(DATA))
    assert MD5 in str(raised.value)


def test_an_os_hash_mismatch_fails_and_says_so():
    with pytest.raises(IntegrityError, match="sha512 os_hash_value"):
        checked(RecordedBytes(len(DATA), None, "sha512", SHA512),
                corrupt(DATA))


def test_a_right_md5_does_not_hide_a_wrong_os_hash():
    with pytest.raises(IntegrityError, match="sha512"):
        checked(RecordedBytes(len(DATA), MD5, "sha512", "0" * 128), DATA)


def test_size_is_checked_before_checksums():
    with pytest.raises(IntegrityError, match="size mismatch"):
        checked(RecordedBytes(len(DATA) + 1, MD5), DATA)


@pytest.mark.parametrize("algo, value", [
    ("sha512", None), (None, SHA512), ("", SHA512),
], ids=["no-value", "no-algo", "empty-algo"])
def test_an_incomplete_os_hash_is_not_checked(algo, value):
    checked(RecordedBytes(len(DATA), None, algo, value), corrupt(DATA))


@pytest.mark.parametrize("algo", ["no-such-hash-for-test", "shake_128"],
                         ids=["unknown", "variable-length"])
def test_an_unusable_algorithm_is_skipped_with_one_warning(algo, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        checked(RecordedBytes(len(DATA), MD5, algo, "00"), DATA)
    warnings = [r for r in caplog.records if algo in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_an_unusable_algorithm_still_checks_md5():
    with pytest.raises(IntegrityError, match="md5"):
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
    told = []
    body = Verified(Body(*chunks), RecordedBytes(len(DATA), MD5),
                    on_mismatch=told.append)
    received, error = drain(body)
    assert isinstance(error, IntegrityError) and told == [error]
    assert len(received) < len(DATA)


def test_the_last_chunk_is_checked_before_the_body_is_read_on():
    """The failover stream logs who served once it is read to its end:
    wrong bytes must be found first."""
    inner = Body(corrupt(DATA), b"never read")
    received, error = drain(Verified(inner, RecordedBytes(len(DATA), MD5)))
    assert (received, inner.pulled) == (b"", 1)
    assert isinstance(error, IntegrityError)


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
