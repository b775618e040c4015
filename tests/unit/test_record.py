import logging

import webob

from loc_strategy_filter.download.record import UserRequest, fetch_image


def user_request():
    request = webob.Request.blank("/v2/images/abc/file",
                                  headers={"X-Auth-Token": "secret",
                                           "Range": "bytes=0-9"})
    request.context = object()
    return request


def test_the_users_request_attributes_reach_the_internal_request():
    user = user_request()
    internal = webob.Request(UserRequest(user.environ).environ("/v2/images/abc"))
    assert internal.context is user.context
    assert internal.headers["X-Auth-Token"] == "secret"


def test_attributes_set_on_the_internal_request_stay_there():
    user = user_request()
    internal = webob.Request(UserRequest(user.environ).environ("/v2/images/abc"))
    internal.routed = "images#show"
    internal.context = "replaced"
    assert not hasattr(user, "routed")
    assert user.context != "replaced"


def test_what_the_upstream_writes_into_the_users_request_stays_there():
    """Glance's urlmap and router rewrite the environ of the user's
    download; a record request built afterwards must not inherit that."""
    user = user_request()
    context = user.context
    taken = UserRequest(user.environ)
    user.environ["SCRIPT_NAME"] = "/v2"  # as a urlmap does
    user.environ["PATH_INFO"] = "/images/abc/file"
    user.action = "download"  # as a router leaves on the request
    user.environ["webob.adhoc_attrs"]["context"] = "the upstream's"

    internal = webob.Request(taken.environ(taken.image_path))

    assert internal.script_name == ""
    assert internal.path_info == "/v2/images/abc"
    assert not hasattr(internal, "action")
    assert internal.context is context


def test_every_internal_request_gets_its_own_attributes():
    taken = UserRequest(user_request().environ)
    first = webob.Request(taken.environ("/v2/images/abc"))
    first.action = "show"
    assert not hasattr(webob.Request(taken.environ("/v2/images/abc")),
                       "action")


def test_a_record_request_drops_the_download_headers():
    record = UserRequest(user_request().environ).environ("/v2/images/abc")
    assert "HTTP_RANGE" not in record
    assert record["HTTP_ACCEPT"] == "application/json"
    assert record["PATH_INFO"] == "/v2/images/abc"
    assert record["REQUEST_METHOD"] == "GET"


def test_a_download_request_keeps_the_range():
    taken = UserRequest(user_request().environ)
    steered = taken.environ(taken.path_info, query_string="prefer=fast",
                            download=True)
    assert steered["HTTP_RANGE"] == "bytes=0-9"
    assert steered["QUERY_STRING"] == "prefer=fast"


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
