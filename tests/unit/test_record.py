import dataclasses
import logging

import pytest

from loc_strategy_filter.download.record import fetch_image
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.user_request import UserRequest
from tests.unit.test_user_request import user_request


def answering(status, body):
    def application(environ, start_response):
        start_response(status, [("Content-Type", "application/json")])
        return [body]
    return application


def test_a_failed_record_request_is_a_warning_naming_image_and_status(caplog):
    caplog.set_level(logging.DEBUG)
    taken = UserRequest(user_request().environ)
    image = fetch_image(answering("500 Internal Server Error", b"{}"), taken)
    assert image is None
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "/v2/images/abc" in record.getMessage()
    assert "500 Internal Server Error" in record.getMessage()


def test_a_record_that_is_not_an_image_is_a_warning(caplog):
    taken = UserRequest(user_request().environ)
    for body in (b"[1, 2]", b"not json", b'{"error": "x"}', b"[" * 100000):
        caplog.clear()
        assert fetch_image(answering("200 OK", body), taken) is None
        assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_a_missing_image_is_no_warning(caplog):
    taken = UserRequest(user_request().environ)
    assert fetch_image(answering("404 Not Found", b"{}"), taken) is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("size", [None, "10", 10.0, -1, True, False],
                         ids=["absent", "string", "float", "negative",
                              "true", "false"])
def test_a_record_without_an_integer_size_says_no_bytes(size):
    assert RecordedBytes.of({"id": "x", "size": size}) is None


ATTRIBUTES = {"checksum": "checksum", "os_hash_algo": "hash_algo",
              "os_hash_value": "hash_value"}


@pytest.mark.parametrize("value", [12345, ["sha512"], {"a": "b"}, True],
                         ids=["int", "list", "object", "bool"])
@pytest.mark.parametrize("field", ["checksum", "os_hash_algo",
                                   "os_hash_value"])
def test_a_digest_field_that_is_no_string_is_absent(field, value):
    record = {"id": "x", "size": 10, "checksum": "a" * 32,
              "os_hash_algo": "sha512", "os_hash_value": "b" * 128}
    expected = RecordedBytes.of(record, "all")
    record[field] = value
    assert RecordedBytes.of(record, "all") == dataclasses.replace(
        expected, **{ATTRIBUTES[field]: None})


RECORD = {"id": "x", "size": 10, "checksum": "a" * 32,
          "os_hash_algo": "sha512", "os_hash_value": "b" * 128}


@pytest.mark.parametrize("verification, record, expected", [
    ("strongest", RECORD, RecordedBytes(10, None, "sha512", "b" * 128)),
    ("strongest", {**RECORD, "os_hash_value": None},
     RecordedBytes(10, "a" * 32, "sha512")),
    ("strongest", {**RECORD, "os_hash_algo": "no-such-hash"},
     RecordedBytes(10, "a" * 32, "no-such-hash", "b" * 128)),
    ("strongest", {"id": "x", "size": 10}, RecordedBytes(10)),
    ("all", RECORD, RecordedBytes(10, "a" * 32, "sha512", "b" * 128)),
    ("off", RECORD, RecordedBytes(10)),
], ids=["multihash-alone", "no-multihash-md5", "uncomputable-md5",
        "nothing-recorded", "all", "off"])
def test_the_verification_chooses_what_is_checked(verification, record,
                                                  expected):
    assert RecordedBytes.of(record, verification) == expected


def test_strongest_is_the_default():
    assert RecordedBytes.of(RECORD) == RecordedBytes.of(RECORD, "strongest")


@pytest.mark.parametrize("old, new", [(True, "all"), (False, "off")])
def test_the_old_booleans_still_say_what_they_said(old, new):
    assert RecordedBytes.of(RECORD, old) == RecordedBytes.of(RECORD, new)


def test_an_unknown_verification_is_refused():
    with pytest.raises(ValueError, match="strongest, all, off.*'sha512'"):
        RecordedBytes.of(RECORD, "sha512")
