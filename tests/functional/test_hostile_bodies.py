"""Bodies that misbehave, through a real paste pipeline on a loopback server.

The upstream is a paste app that answers every image call with the bytes of
``body_file`` as JSON. Whatever it sends, the filter never answers 500:
without ``hide_locations`` a body it does not fully understand reaches the
client byte for byte; with ``hide_locations`` the client gets strict JSON
without a location URL, or the documented 502.
"""

import contextlib
import http.client
import json

from paste import deploy
import pytest

from tests.servers import wsgi_server

# Every test once with orjson, once with the standard library's json.
pytestmark = pytest.mark.usefixtures("json_backend")

SECRET_URL = "swift+https://user:s3cr3t@swift.example.com/v1/images/x"
LOCATION = {"url": SECRET_URL, "metadata": {}}
# No direct_url: with hide_locations users may see that one, so here any
# appearance of the URL is a leak.
IMAGE = {"id": "x", "locations": [LOCATION]}

PIPELINE = """
[pipeline:main]
pipeline = location_strategy hostile

[filter:location_strategy]
use = egg:loc_strategy_filter#location_strategy
hide_locations = {hide}

[app:hostile]
paste.app_factory = tests.functional.test_hostile_bodies:hostile_app_factory
body_file = {body_file}
"""


def hostile_app_factory(global_conf, body_file):
    with open(body_file, "rb") as body:
        data = body.read()

    def hostile(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    return hostile


def nested(depth):
    return ('{"id": "x", "locations": [{"url": "%s", "metadata": {}}], '
            '"deep": %s%s}' % (SECRET_URL, "[" * depth, "]" * depth)).encode()


BODIES = {
    "deeply nested": ("show", nested(100_000)),
    "out of range float": ("show", json.dumps(
        {**IMAGE, "size": 1}).replace('"size": 1', '"size": 1e400').encode()),
    "NaN": ("show", json.dumps({**IMAGE, "min_ram": float("nan")}).encode()),
    "images is an object": ("list", json.dumps(
        {"images": {"x": IMAGE}}).encode()),
    "list of lists": ("list", json.dumps({"images": [[IMAGE]]}).encode()),
    "show is a list": ("show", json.dumps([IMAGE]).encode()),
    "image nested elsewhere": ("show", json.dumps(
        {"id": "y", "copy": IMAGE}).encode()),
    "escaped key": ("show", json.dumps(IMAGE).replace(
        '"locations"', '"\\u006cocations"').encode()),
    "location list an object": ("locations", json.dumps(
        {"locations": [LOCATION]}).encode()),
    "an image at the location API": ("locations", json.dumps(IMAGE).encode()),
    "location list of bare URLs": ("locations", json.dumps(
        [SECRET_URL]).encode()),
    "location list NaN": ("locations", json.dumps(
        [{**LOCATION, "metadata": {"size": float("nan")}}]).encode()),
    "location list nested": ("locations", b"[" * 100_000 + json.dumps(
        LOCATION).encode() + b"]" * 100_000),
}
PATHS = {"show": "/v2/images/x", "list": "/v2/images",
         "locations": "/v2/images/x/locations"}


@pytest.fixture
def serve(tmp_path):
    """Serve the pipeline over ``body`` on 127.0.0.1; the HTTP answer."""
    with contextlib.ExitStack() as running:
        def answer(body, path, hide):
            body_file = tmp_path / "body.json"
            body_file.write_bytes(body)
            ini = tmp_path / "api-paste.ini"
            ini.write_text(PIPELINE.format(hide=hide, body_file=body_file))
            server = running.enter_context(
                wsgi_server(deploy.loadapp(f"config:{ini}")))
            connection = http.client.HTTPConnection("127.0.0.1", server.port,
                                                    timeout=10)
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()

        yield answer


def strict(body):
    def refuse(constant):
        raise ValueError(constant)
    return json.loads(body, parse_constant=refuse)


@pytest.mark.parametrize("name", BODIES)
def test_a_body_not_understood_passes_through_byte_for_byte(serve, name):
    call, body = BODIES[name]
    status, answer = serve(body, PATHS[call], hide="false")
    assert (status, answer) == (200, body)


@pytest.mark.parametrize("name", BODIES)
def test_with_hide_locations_no_location_url_gets_out(serve, name):
    call, body = BODIES[name]
    status, answer = serve(body, PATHS[call], hide="true")
    assert status in (200, 502)
    assert b"s3cr3t" not in answer and b"swift.example.com" not in answer
    if status == 200:
        strict(answer)
