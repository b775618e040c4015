import webob

from loc_strategy_filter.user_request import UserRequest


def user_request():
    request = webob.Request.blank("/v2/images/abc/file",
                                  headers={"X-Auth-Token": "secret",
                                           "Range": "bytes=0-9"})
    request.context = object()
    return request


def test_the_users_request_attributes_reach_the_internal_request():
    user = user_request()
    internal = webob.Request(UserRequest(user.environ).record_environ())
    assert internal.context is user.context
    assert internal.headers["X-Auth-Token"] == "secret"


def test_attributes_set_on_the_internal_request_stay_there():
    user = user_request()
    internal = webob.Request(UserRequest(user.environ).record_environ())
    internal.routed = "images#show"
    internal.context = "replaced"
    assert not hasattr(user, "routed")
    assert user.context != "replaced"


def test_what_the_upstream_writes_into_the_users_request_stays_there():
    """Glance's urlmap and router rewrite the environ of the user's
    download; a record request built afterwards must not inherit that.
    """
    user = user_request()
    context = user.context
    taken = UserRequest(user.environ)
    user.environ["SCRIPT_NAME"] = "/v2"  # as a urlmap does
    user.environ["PATH_INFO"] = "/images/abc/file"
    user.action = "download"  # as a router leaves on the request
    user.environ["webob.adhoc_attrs"]["context"] = "the upstream's"

    internal = webob.Request(taken.record_environ())

    assert internal.script_name == ""
    assert internal.path_info == "/v2/images/abc"
    assert not hasattr(internal, "action")
    assert internal.context is context


def test_every_internal_request_gets_its_own_attributes():
    taken = UserRequest(user_request().environ)
    first = webob.Request(taken.record_environ())
    first.action = "show"
    assert not hasattr(webob.Request(taken.record_environ()), "action")


def test_a_record_request_drops_the_download_headers():
    record = UserRequest(user_request().environ).record_environ()
    assert "HTTP_RANGE" not in record
    assert record["HTTP_ACCEPT"] == "application/json"
    assert record["PATH_INFO"] == "/v2/images/abc"
    assert record["REQUEST_METHOD"] == "GET"


def test_a_download_request_keeps_the_range():
    taken = UserRequest(user_request().environ)
    steered = taken.download_environ("prefer=fast")
    assert steered["HTTP_RANGE"] == "bytes=0-9"
    assert steered["QUERY_STRING"] == "prefer=fast"


def test_a_download_request_keeps_the_users_path_and_query_unless_told():
    taken = UserRequest(webob.Request.blank("/v2/images/abc/file?x=1").environ)
    assert taken.download_environ()["PATH_INFO"] == "/v2/images/abc/file"
    assert taken.download_environ()["QUERY_STRING"] == "x=1"
