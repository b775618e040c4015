import hashlib
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loc_strategy_filter.download.verify import IntegrityError, Verifier

DATA = b"the image bytes " * 100
MD5 = hashlib.md5(DATA).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()


def verified(verifier, *chunks):
    for chunk in chunks:
        verifier.update(chunk)
    verifier.check()


@pytest.mark.parametrize("verifier", [
    Verifier(len(DATA)),
    Verifier(len(DATA), MD5),
    Verifier(len(DATA), MD5, "sha512", SHA512),
    Verifier(len(DATA), None, "sha512", SHA512),
    Verifier(len(DATA), MD5.upper(), "sha512", SHA512.upper()),
], ids=["size-only", "md5", "md5-and-os-hash", "os-hash-only",
        "upper-case-hex"])
def test_the_right_bytes_pass(verifier):
    verified(verifier, DATA[:7], DATA[7:])


@pytest.mark.parametrize("body, expected_size", [
    (DATA[:-1], len(DATA)),
    (DATA + b"x", len(DATA)),
    (b"", len(DATA)),
    (b"x", 0),
], ids=["one-byte-short", "one-byte-over", "nothing", "bytes-for-empty"])
def test_a_wrong_size_fails(body, expected_size):
    with pytest.raises(IntegrityError, match="size mismatch"):
        verified(Verifier(expected_size), body)


def test_empty_image_passes():
    verified(Verifier(0, hashlib.md5(b"").hexdigest()))


def corrupt(data):
    return data[:10] + bytes([data[10] ^ 1]) + data[11:]


def test_an_md5_mismatch_fails_and_says_so():
    with pytest.raises(IntegrityError, match="md5") as raised:
        verified(Verifier(len(DATA), MD5), corrupt(DATA))
    assert MD5 in str(raised.value)


def test_an_os_hash_mismatch_fails_and_says_so():
    with pytest.raises(IntegrityError, match="sha512 os_hash_value"):
        verified(Verifier(len(DATA), None, "sha512", SHA512), corrupt(DATA))


def test_a_right_md5_does_not_hide_a_wrong_os_hash():
    with pytest.raises(IntegrityError, match="sha512"):
        verified(Verifier(len(DATA), MD5, "sha512", "0" * 128), DATA)


def test_size_is_checked_before_checksums():
    with pytest.raises(IntegrityError, match="size mismatch"):
        verified(Verifier(len(DATA) + 1, MD5), DATA)


@pytest.mark.parametrize("algo, value", [
    ("sha512", None), (None, SHA512), ("", SHA512),
], ids=["no-value", "no-algo", "empty-algo"])
def test_an_incomplete_os_hash_is_not_checked(algo, value):
    verified(Verifier(len(DATA), None, algo, value), corrupt(DATA))


@pytest.mark.parametrize("algo", ["no-such-hash-for-test", "shake_128"],
                         ids=["unknown", "variable-length"])
def test_an_unusable_algorithm_is_skipped_with_one_warning(algo, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        verified(Verifier(len(DATA), MD5, algo, "00"), DATA)
    warnings = [r for r in caplog.records if algo in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_an_unusable_algorithm_still_checks_md5():
    with pytest.raises(IntegrityError, match="md5"):
        verified(Verifier(len(DATA), MD5, "no-such-hash-either", "00"),
                 corrupt(DATA))


@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200)))
def test_any_chunking_gives_the_same_verdict(data, cuts):
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    verified(Verifier(len(data), hashlib.md5(data).hexdigest(), "sha256",
                      hashlib.sha256(data).hexdigest()), *chunks)
