import logging

from loc_strategy_filter.download.record import fetch_image
from loc_strategy_filter.download.user_request import UserRequest
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
