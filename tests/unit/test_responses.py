"""The response filter on the location API, on ``stores``, and on a call the
rewriter has no handling for.
"""

import json
import logging

import pytest
import webob
import webob.dec

from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter.responses import ImageResponseFilter
from loc_strategy_filter import routes
from loc_strategy_filter.settings import Settings


# Every test once with orjson, once with the standard library's json.
pytestmark = pytest.mark.usefixtures("json_backend")

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"
STORE_TYPE = {"location_strategy": "store_type",
              "store_type_preference": "http, file"}
HIDDEN = dict(STORE_TYPE, hide_locations="true")
LOCATIONS = [{"url": FILE_URL, "metadata": {"store": "local"}},
             {"url": HTTP_URL, "metadata": {"store": "web"}}]
LOCATIONS_PATH = "/v2/images/a/locations"


def bytes_app(body, status="200 OK", content_type="application/json"):
    """An upstream answering every request with ``body``."""
    def app(environ, start_response):
        start_response(status, [("Content-Type", content_type),
                                ("Content-Length", str(len(body))),
                                ("Content-MD5", "upstream")])
        return [body]
    return app


def json_app(document, **kwargs):
    return bytes_app(json.dumps(document).encode(), **kwargs)


def get(app, path, **kwargs):
    return webob.Request.blank(path, **kwargs).get_response(app)


def urls(locations):
    return [location["url"] for location in locations]


@pytest.mark.parametrize("conf", [STORE_TYPE, HIDDEN],
                         ids=["shown", "hidden"])
@pytest.mark.parametrize("script_name, path", [
    ("", LOCATIONS_PATH), ("/v2", "/images/a/locations")],
    ids=["root", "inside-v2"])
def test_the_location_api_answers_in_strategy_order(conf, script_name, path):
    app = LocationStrategyFilter(json_app(LOCATIONS), conf)
    response = get(app, path, environ={"SCRIPT_NAME": script_name})
    assert response.status_int == 200
    assert response.json == LOCATIONS[::-1]
    assert int(response.headers["Content-Length"]) == len(response.body)
    assert "Content-MD5" not in response.headers


def test_the_response_filter_alone_orders_the_location_api():
    app = ImageResponseFilter(
        json_app(LOCATIONS),
        Settings(strategy="reverse",
                 order=lambda locations, requester=None: locations[::-1]))
    assert get(app, LOCATIONS_PATH).json == LOCATIONS[::-1]


def test_a_location_list_in_order_keeps_the_upstream_bytes():
    upstream = json_app(LOCATIONS[::-1])
    expected = get(upstream, LOCATIONS_PATH)
    response = get(LocationStrategyFilter(upstream, HIDDEN), LOCATIONS_PATH)
    assert response.body == expected.body
    assert response.headerlist == expected.headerlist


@pytest.mark.parametrize("conf", [STORE_TYPE, HIDDEN],
                         ids=["shown", "hidden"])
def test_a_refusal_of_the_location_api_passes_through(conf):
    body = b"403 Forbidden\n\nYou are not authorized to complete " \
           b"fetch_image_location action."
    app = LocationStrategyFilter(
        bytes_app(body, "403 Forbidden", "text/plain"), conf)
    response = get(app, LOCATIONS_PATH)
    assert (response.status_int, response.body) == (403, body)


ODD_LISTS = {
    "an-object": {"locations": LOCATIONS},
    "an-image": {"id": "a", "locations": LOCATIONS},
    "bare-urls": [FILE_URL, HTTP_URL],
    "no-url": [LOCATIONS[0], {"metadata": {}}],
}


@pytest.mark.parametrize("name", ODD_LISTS)
def test_a_location_api_answer_not_understood_passes_through(name, caplog):
    text = json.dumps(ODD_LISTS[name]).encode()
    with caplog.at_level(logging.WARNING):
        response = get(LocationStrategyFilter(bytes_app(text), STORE_TYPE),
                       LOCATIONS_PATH)
    assert (response.status_int, response.body) == (200, text)
    assert "Image locations response" in caplog.text
    assert "passed through unchanged" in caplog.text


@pytest.mark.parametrize("name", ODD_LISTS)
def test_hide_locations_refuses_a_location_api_answer_not_understood(name):
    text = json.dumps(ODD_LISTS[name]).encode()
    response = get(LocationStrategyFilter(bytes_app(text), HIDDEN),
                   LOCATIONS_PATH)
    assert response.status_int == 502
    assert b"://" not in response.body


@pytest.mark.parametrize("hide", [False, True], ids=["shown", "hidden"])
def test_a_failing_strategy_sends_the_location_api_answer_as_it_came(hide,
                                                                     caplog):
    def broken(locations, requester=None):
        raise RuntimeError("plugin bug")

    text = json.dumps(LOCATIONS).encode()
    settings = Settings(strategy="broken", order=broken, hide_locations=hide)
    response = get(LocationStrategyFilter(bytes_app(text), settings),
                   LOCATIONS_PATH)
    assert (response.status_int, response.body) == (200, text)
    assert "plugin bug" in caplog.text


class UnhandledCall:
    """A call added to the routes whose shape the rewriter has no handling
    for (or that names none).
    """

    value = "new"

    def __init__(self, shape):
        self.shape = shape


@pytest.mark.parametrize("shape", [None, "one location"],
                         ids=["no-shape", "unknown-shape"])
def test_hide_locations_refuses_a_call_without_a_handling(monkeypatch, shape):
    monkeypatch.setattr(routes, "image_call",
                        lambda environ: UnhandledCall(shape))
    app = LocationStrategyFilter(json_app({"id": "a", "locations": LOCATIONS}),
                                 HIDDEN)
    response = get(app, "/v2/images/a/new")
    assert response.status_int == 502
    assert b"://" not in response.body


def test_without_hide_locations_a_call_without_a_handling_passes(monkeypatch):
    monkeypatch.setattr(routes, "image_call",
                        lambda environ: UnhandledCall("one location"))
    text = json.dumps({"id": "a", "locations": LOCATIONS}).encode()
    response = get(LocationStrategyFilter(bytes_app(text), STORE_TYPE),
                   "/v2/images/a/new")
    assert (response.status_int, response.body) == (200, text)


@pytest.mark.parametrize("conf", [STORE_TYPE, HIDDEN],
                         ids=["shown", "hidden"])
@pytest.mark.parametrize("path, image_of", [
    ("/v2/images/a", lambda body: body),
    ("/v2/images", lambda body: body["images"][0]),
], ids=["show", "list"])
def test_stores_follow_the_strategy(conf, path, image_of):
    image = {"id": "a", "locations": LOCATIONS, "direct_url": FILE_URL,
             "stores": "local,web"}
    document = {"images": [image]} if path == "/v2/images" else image
    shown = image_of(get(LocationStrategyFilter(json_app(document), conf),
                         path).json)
    assert shown["stores"] == "web,local"
    assert shown["direct_url"] == HTTP_URL
