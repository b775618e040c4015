import webob

from loc_strategy_filter.download.record import internal_environ


def user_request():
    request = webob.Request.blank("/v2/images/abc/file",
                                  headers={"X-Auth-Token": "secret",
                                           "Range": "bytes=0-9"})
    request.context = object()
    return request


def test_the_users_request_attributes_reach_the_internal_request():
    user = user_request()
    internal = webob.Request(internal_environ(user.environ, "/v2/images/abc"))
    assert internal.context is user.context
    assert internal.headers["X-Auth-Token"] == "secret"


def test_attributes_set_on_the_internal_request_stay_there():
    user = user_request()
    internal = webob.Request(internal_environ(user.environ, "/v2/images/abc"))
    internal.routed = "images#show"
    internal.context = "replaced"
    assert not hasattr(user, "routed")
    assert user.context != "replaced"


def test_a_record_request_drops_the_download_headers():
    user = user_request()
    record = internal_environ(user.environ, "/v2/images/abc")
    assert "HTTP_RANGE" not in record
    assert record["HTTP_ACCEPT"] == "application/json"
    assert record["PATH_INFO"] == "/v2/images/abc"
    assert record["REQUEST_METHOD"] == "GET"


def test_a_download_request_keeps_the_range():
    user = user_request()
    steered = internal_environ(user.environ, user.path_info,
                               query_string="prefer=fast", download=True)
    assert steered["HTTP_RANGE"] == "bytes=0-9"
    assert steered["QUERY_STRING"] == "prefer=fast"
