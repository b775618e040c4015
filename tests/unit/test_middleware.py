import gzip
import json
import logging
import sys

from hypothesis import given
from hypothesis import strategies as st
import pytest
import webob
import webob.dec

from loc_strategy_filter.expiring import ExpiringCache
from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter.responses import ImageResponseFilter
from loc_strategy_filter.settings import Settings

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"
STORE_TYPE = {"location_strategy": "store_type",
              "store_type_preference": "http, file"}
REVERSED = Settings(strategy="reverse",
                    order=lambda locations: locations[::-1])


def image(image_id="a", direct_url=True, locations=True):
    body = {"id": image_id, "name": "cirros"}
    if locations:
        body["locations"] = [{"url": FILE_URL, "metadata": {}},
                             {"url": HTTP_URL, "metadata": {}}]
    if direct_url:
        body["direct_url"] = FILE_URL
    return body


def json_app(document, status=200, content_type="application/json",
             headers=()):
    @webob.dec.wsgify
    def app(request):
        response = webob.Response(status=status, content_type=content_type,
                                  charset="UTF-8")
        response.body = json.dumps(document).encode()
        response.headers.extend(headers)
        return response
    return app


def get(app, path, method="GET", **kwargs):
    return webob.Request.blank(path, method=method, **kwargs).get_response(app)


@pytest.mark.parametrize("method, path", [
    ("GET", "/v2/images/a"), ("PATCH", "/v2/images/a"), ("POST", "/v2/images"),
], ids=["show", "update", "create"])
def test_single_image_calls_follow_the_strategy(method, path):
    app = LocationStrategyFilter(json_app(image()), STORE_TYPE)
    body = get(app, path, method).json
    assert [loc["url"] for loc in body["locations"]] == [HTTP_URL, FILE_URL]
    assert body["direct_url"] == HTTP_URL


def test_list_rewrites_every_image():
    listing = {"images": [image("a"), image("b")], "first": "/v2/images"}
    app = LocationStrategyFilter(json_app(listing), STORE_TYPE)
    body = get(app, "/v2/images").json
    assert [img["direct_url"] for img in body["images"]] == [HTTP_URL] * 2
    assert body["first"] == "/v2/images"


def test_mounted_inside_the_v2_app():
    app = LocationStrategyFilter(json_app(image()), STORE_TYPE)
    response = get(app, "/images/a", environ={"SCRIPT_NAME": "/v2"})
    assert response.json["direct_url"] == HTTP_URL


def test_location_order_keeps_the_upstream_bytes():
    upstream = json_app(image())
    expected = get(upstream, "/v2/images/a")
    response = get(LocationStrategyFilter(upstream, {}), "/v2/images/a")
    assert response.body == expected.body
    assert response.headerlist == expected.headerlist


def test_content_length_matches_the_rewritten_body():
    app = LocationStrategyFilter(
        json_app(image(), headers=[("Content-MD5", "x"),
                                   ("X-Openstack-Request-Id", "req-1")]),
        STORE_TYPE)
    response = get(app, "/v2/images/a")
    assert int(response.headers["Content-Length"]) == len(response.body)
    assert "Content-MD5" not in response.headers
    assert response.headers["X-Openstack-Request-Id"] == "req-1"
    assert response.content_type == "application/json"


@pytest.mark.parametrize("upstream_image, absent", [
    (image(direct_url=False), "direct_url"),
    (image(locations=False), "locations"),
], ids=["no-direct-url", "no-locations"])
def test_never_adds_what_the_upstream_did_not_show(upstream_image, absent):
    app = LocationStrategyFilter(json_app(upstream_image), STORE_TYPE)
    assert absent not in get(app, "/v2/images/a").json


def test_hide_locations_keeps_only_the_best_direct_url():
    app = LocationStrategyFilter(json_app(image()),
                                 dict(STORE_TYPE, hide_locations="true"))
    body = get(app, "/v2/images/a").json
    assert "locations" not in body
    assert body["direct_url"] == HTTP_URL


def test_hide_locations_hides_unusable_locations_too():
    upstream = dict(image(), locations="not a list")
    app = LocationStrategyFilter(json_app(upstream), {"hide_locations": "1"})
    assert "locations" not in get(app, "/v2/images/a").json


@pytest.mark.parametrize("document, reason", [
    ("not json", "invalid JSON"),
    (dict(image(), locations="oops"), "not a list"),
    (dict(image(), locations=[{"metadata": {}}]), "no URL"),
    (dict(image(), locations=[{"url": 7}]), "no URL"),
    (["a", "list"], "not a JSON object"),
    ('{"id": "a", "locations": [], "size": NaN}', "not strict JSON"),
    (json.dumps(image())[:-1] + ', "size": 1e400}', "beyond a float"),
    ('{"id": "a", "locations": [], "a": ' + "[" * 100000 + "]" * 100000 + "}",
     "nested too deeply"),
], ids=["invalid-json", "locations-not-list", "entry-without-url",
        "url-not-string", "image-not-object", "nan", "beyond-a-float",
        "deeply-nested"])
def test_unusable_body_passes_unchanged_with_a_warning(document, reason,
                                                       caplog):
    @webob.dec.wsgify
    def upstream(request):
        body = document if isinstance(document, str) else json.dumps(document)
        return webob.Response(body=body.encode(),
                              content_type="application/json")
    expected = get(upstream, "/v2/images/a").body
    with caplog.at_level(logging.WARNING):
        response = get(LocationStrategyFilter(upstream, STORE_TYPE),
                       "/v2/images/a")
    assert response.status_int == 200
    assert response.body == expected
    assert reason in caplog.text


def test_list_with_images_not_a_list_passes_unchanged():
    app = LocationStrategyFilter(json_app({"images": {"a": 1}}), STORE_TYPE)
    assert get(app, "/v2/images").json == {"images": {"a": 1}}


class UnreadBody:
    """An upstream body that fails the test if anybody reads it."""

    def __init__(self):
        self.closed = False

    def __iter__(self):
        raise AssertionError("the filter read a body it must pass through")

    def close(self):
        self.closed = True


def raw_app(status, headers):
    body = UnreadBody()

    def app(environ, start_response):
        start_response(status, headers)
        return body
    return app, body


@pytest.mark.parametrize("method, path, status, headers", [
    ("GET", "/v2/images/a/file", "200 OK",
     [("Content-Type", "application/octet-stream")]),
    ("GET", "/v2/images/a", "404 Not Found",
     [("Content-Type", "application/json")]),
    ("GET", "/v2/images/a", "200 OK", [("Content-Type", "text/html")]),
    ("GET", "/v2/images", "200 OK", [("Content-Type", "application/json"),
                                     ("Content-Encoding", "gzip")]),
    ("GET", "/v2/images/a", "204 No Content",
     [("Content-Type", "application/json")]),
    ("DELETE", "/v2/images/a", "204 No Content", []),
    ("GET", "/versions", "200 OK", [("Content-Type", "application/json")]),
], ids=["download", "error", "not-json", "compressed", "no-content",
        "other-method", "other-path"])
def test_pass_through_hands_back_the_upstream_iterable(method, path, status,
                                                       headers):
    upstream, body = raw_app(status, headers)
    seen = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    app = LocationStrategyFilter(upstream,
                                 dict(STORE_TYPE, download_mode="off"))
    result = app(environ, lambda s, h, exc_info=None: seen.append((s, h)))
    assert result is body
    assert seen == [(status, headers)]


def test_an_upstream_error_with_exc_info_passes_through_unread():
    body = UnreadBody()
    try:
        raise RuntimeError("the upstream broke")
    except RuntimeError:
        info = sys.exc_info()

    def upstream(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")], info)
        return body

    seen = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v2/images/a"}
    result = LocationStrategyFilter(upstream, STORE_TYPE)(
        environ, lambda *args: seen.append(args))
    assert result is body
    assert seen == [("200 OK", [("Content-Type", "application/json")], info)]


@pytest.mark.parametrize("method, path", [
    ("GET", "/v2/images/a/file"), ("DELETE", "/v2/images/a"),
    ("GET", "/versions"),
], ids=["download", "other-method", "other-path"])
def test_the_response_filter_alone_hands_other_calls_on(method, path):
    upstream, body = raw_app("200 OK", [("Content-Type", "application/json")])
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    result = ImageResponseFilter(upstream, REVERSED)(
        environ, lambda *args: None)
    assert result is body


def test_the_response_filter_alone_rewrites_image_calls():
    app = ImageResponseFilter(json_app(image()), REVERSED)
    assert get(app, "/v2/images/a").json["direct_url"] == HTTP_URL


def test_lazy_pass_through_holds_no_more_than_the_first_chunk():
    pulled = []

    def upstream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        for chunk in (b"one", b"two", b"three"):
            pulled.append(chunk)
            yield chunk

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v2/images/a"}
    seen = []
    body = LocationStrategyFilter(upstream, STORE_TYPE)(
        environ, lambda *args: seen.append(args))
    assert seen == [("200 OK", [("Content-Type", "text/html")], None)]
    assert pulled == [b"one"]
    assert list(body) == [b"one", b"two", b"three"]
    body.close()


def test_application_calling_start_response_lazily():
    def upstream(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        yield json.dumps(image()).encode()

    response = get(LocationStrategyFilter(upstream, STORE_TYPE),
                   "/v2/images/a")
    assert response.json["direct_url"] == HTTP_URL


def test_lazy_pass_through_streams_every_chunk():
    def upstream(environ, start_response):
        start_response("200 OK",
                       [("Content-Type", "application/octet-stream")])
        yield b"one"
        yield b"two"

    response = get(LocationStrategyFilter(upstream, STORE_TYPE),
                   "/v2/images/a")
    assert response.body == b"onetwo"


def test_upstream_using_the_write_callable():
    def upstream(environ, start_response):
        write = start_response("200 OK",
                               [("Content-Type", "application/json")])
        text = json.dumps(image()).encode()
        write(text[:10])
        return [text[10:]]

    response = get(LocationStrategyFilter(upstream, STORE_TYPE),
                   "/v2/images/a")
    assert response.json["direct_url"] == HTTP_URL


def test_closes_the_upstream_body_it_read():
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def upstream(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return Body([json.dumps(image()).encode()])

    get(LocationStrategyFilter(upstream, STORE_TYPE), "/v2/images/a")
    assert closed == [True]


def test_a_failing_strategy_passes_the_body_through(caplog):
    def broken(locations, requester=None):
        raise RuntimeError("plugin bug")

    upstream = json_app(image())
    expected = get(upstream, "/v2/images/a").body
    response = get(LocationStrategyFilter(
        upstream, Settings(strategy="broken", order=broken)), "/v2/images/a")
    assert response.status_int == 200
    assert response.body == expected
    assert "plugin bug" in caplog.text


def test_factory_rejects_bad_configuration_at_load():
    with pytest.raises(ValueError, match="fiel"):
        LocationStrategyFilter.factory(
            {}, location_strategy="store_type", store_type_preference="fiel")


def test_missing_entry_points_fail_the_filter_at_load(no_entry_points):
    with pytest.raises(ValueError, match=r"not installed.*pip install -e \."):
        LocationStrategyFilter.factory({})


def test_hide_locations_fails_closed_when_the_strategy_fails():
    def broken(locations, requester=None):
        raise RuntimeError("plugin bug")

    settings = Settings(strategy="broken", order=broken, hide_locations=True)
    listing = {"images": [image("a"), image("b")]}
    for upstream, path in ((json_app(image()), "/v2/images/a"),
                           (json_app(listing), "/v2/images")):
        response = get(LocationStrategyFilter(upstream, settings), path)
        assert response.status_int == 200
        assert "locations" not in response.text
        assert int(response.headers["Content-Length"]) == len(response.body)


def test_hide_locations_refuses_a_body_it_cannot_check():
    @webob.dec.wsgify
    def upstream(request):
        return webob.Response(body=b'{"locations": [ broken',
                              content_type="application/json")

    response = get(LocationStrategyFilter(upstream, {"hide_locations": "1"}),
                   "/v2/images/a")
    assert response.status_int == 502
    assert b"locations" not in response.body.replace(b"image locations", b"")


@pytest.mark.parametrize("conf, reaches_upstream", [
    ({"hide_locations": "1"}, None), (STORE_TYPE, "gzip"),
], ids=["hidden: dropped", "shown: kept"])
def test_accept_encoding_is_dropped_only_to_hide_locations(conf,
                                                           reaches_upstream):
    asked = []

    @webob.dec.wsgify
    def upstream(request):
        asked.append(request.headers.get("Accept-Encoding"))
        return json_app(image())(request)

    response = get(LocationStrategyFilter(upstream, conf), "/v2/images/a",
                   headers={"Accept-Encoding": "gzip"})
    assert asked == [reaches_upstream]
    assert ("locations" in response.json) == (reaches_upstream is not None)


def test_hide_locations_refuses_a_compressed_body_all_the_same():
    @webob.dec.wsgify
    def upstream(request):
        return webob.Response(body=gzip.compress(json.dumps(image()).encode()),
                              content_type="application/json",
                              content_encoding="gzip")

    response = get(LocationStrategyFilter(upstream, {"hide_locations": "1"}),
                   "/v2/images/a")
    assert response.status_int == 502
    assert "Content-Encoding" not in response.headers
    assert b"srv" not in response.body


def test_hide_locations_refuses_a_compressed_body_unread():
    upstream, body = raw_app("200 OK", [("Content-Type", "application/json"),
                                        ("Content-Encoding", "gzip")])
    response = get(LocationStrategyFilter(upstream, {"hide_locations": "1"}),
                   "/v2/images/a")
    assert response.status_int == 502
    assert body.closed


def bytes_app(body):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return app


DEEP = "[" * 100000 + "]" * 100000


@pytest.mark.parametrize("path, text", [
    ("/v2/images", json.dumps({"images": {"a": image()}})),
    ("/v2/images", json.dumps({"images": [[image()]]})),
    ("/v2/images", json.dumps({"images": [image(), "b"]})),
    ("/v2/images", json.dumps({"images": [image()], "more": [image()]})),
    ("/v2/images/a", json.dumps([image()])),
    ("/v2/images/a", json.dumps(dict(image(), copy=image()))),
    ("/v2/images/a", json.dumps({"id": "a", "image": image()})),
    ("/v2/images/a", json.dumps(dict(image(), size=float("nan")))),
    ("/v2/images/a", json.dumps(image())[:-1] + ', "size": -Infinity}'),
    ("/v2/images/a", json.dumps(image())[:-1] + ', "size": 1e400}'),
    ("/v2/images/a", json.dumps(image())[:-1] + f', "a": {DEEP}}}'),
], ids=["images-an-object", "list-of-lists", "an-image-a-string",
        "beside-the-images", "show-a-list", "inside-an-image",
        "show-without-own-locations", "nan", "minus-infinity",
        "beyond-a-float", "deeply-nested"])
def test_hide_locations_refuses_a_body_it_does_not_understand(path, text):
    app = LocationStrategyFilter(bytes_app(text.encode()),
                                 dict(STORE_TYPE, hide_locations="true"))
    response = get(app, path)
    assert response.status_int == 502
    assert "srv" not in response.text and "9292" not in response.text


SECRET = "secret://"
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=4))
OTHER_KEYS = st.sampled_from(["id", "images", "direct_url", "url", "x"])
SECRET_LOCATIONS = st.lists(st.builds(
    lambda name: {"url": SECRET + name, "metadata": {}}, st.text(max_size=3)),
    max_size=3)


def with_locations(fields, locations):
    return {**fields, "locations": locations}


def containers(children):
    fields = st.dictionaries(OTHER_KEYS, children, max_size=3)
    return (st.lists(children, max_size=3) | fields
            | st.builds(with_locations, fields, SECRET_LOCATIONS | children))


JSON_VALUES = st.recursive(SCALARS, containers, max_leaves=12)
BODIES = JSON_VALUES | st.builds(lambda images: {"images": images},
                                 st.lists(JSON_VALUES, max_size=3))


def shown_secrets(value, path=()):
    """(path, string) of every secret URL in a document."""
    if isinstance(value, str) and value.startswith(SECRET):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from shown_secrets(item, path + (index,))
    elif isinstance(value, dict):
        assert "locations" not in value
        for key, item in value.items():
            yield from shown_secrets(item, path + (key,))


def best_direct_url(path, is_list):
    """Whether ``path`` is where a best location may show: an image's
    ``direct_url``, the image being the body (show) or one of ``images``.
    """
    if is_list:
        return (len(path) == 3 and path[0] == "images"
                and path[2] == "direct_url")
    return path == ("direct_url",)


@given(document=BODIES, is_list=st.booleans())
def test_hide_locations_never_shows_a_location_url(document, is_list):
    settings = Settings(
        strategy="reverse", hide_locations=True,
        order=lambda locations, requester=None: locations[::-1])
    app = LocationStrategyFilter(bytes_app(json.dumps(document).encode()),
                                 settings)
    response = get(app, "/v2/images" if is_list else "/v2/images/a")
    if response.status_int == 502:
        return
    assert response.status_int == 200
    shown = json.loads(response.body, parse_constant=pytest.fail)
    for path, url in shown_secrets(shown):
        assert best_direct_url(path, is_list), (path, url)


@given(document=BODIES, is_list=st.booleans())
def test_a_response_is_the_upstream_body_or_strict_json(document, is_list):
    settings = Settings(
        strategy="reverse",
        order=lambda locations, requester=None: locations[::-1])
    text = json.dumps(document).encode()
    response = get(LocationStrategyFilter(bytes_app(text), settings),
                   "/v2/images" if is_list else "/v2/images/a")
    assert response.status_int == 200
    if response.body != text:
        json.loads(response.body, parse_constant=pytest.fail)


def test_a_filter_built_from_ready_settings_redacts_logs_too():
    # Settings made by hand never pass through settings.from_config.
    probe = logging.getLogger("loc_strategy_filter.tests_ready_settings")
    LocationStrategyFilter(
        lambda environ, start_response: [],
        Settings(strategy="reverse",
                 order=lambda locations, requester=None: list(locations)))
    for logger in (probe, logging.getLogger("urllib3.connectionpool")):
        assert any(type(f).__name__ == "RedactingFilter"
                   for f in logger.filters)


def test_the_upstream_is_fixed_at_construction():
    app = LocationStrategyFilter(
        lambda environ, start_response: [],
        Settings(strategy="reverse",
                 order=lambda locations, requester=None: list(locations)))
    with pytest.raises(AttributeError):
        app.application = None


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/v2/images/abc"), ("PATCH", "/v2/images/abc"),
    ("POST", "/v2/images/abc/locations"),
    ("DELETE", "/v2/images/abc/locations")])
def test_a_location_change_forgets_what_was_learned(method, path):
    @webob.dec.wsgify
    def upstream(req):
        return webob.Response(status=204)

    filtered = LocationStrategyFilter(upstream, {})
    filtered.lookup.cache = ExpiringCache(ttl=30)
    for cache in (filtered.lookup.cache, filtered.download.records):
        cache.put("abc", "kept")
        cache.put("other", "kept")
    webob.Request.blank(path, method=method).get_response(filtered)
    for cache in (filtered.lookup.cache, filtered.download.records):
        assert cache.get("abc") is None
        assert cache.get("other") is not None
