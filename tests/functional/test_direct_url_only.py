"""The blueprint's configuration: Glance shows ``direct_url`` but no
``locations`` (``show_multiple_locations = False``), and the filter points
``direct_url`` at the strategy's best location, learned from the location
API as the caller or with service credentials (keystoneauth1's
``admin_token`` against a second loopback server playing the image
endpoint). Through a real paste pipeline in front of the stub.
"""

import logging
import os
import socket
import threading
import time

from paste import deploy
import pytest
import webob.dec

from loc_strategy_filter import errors
from tests.functional.conftest import call
from tests.functional.conftest import FILE_URL
from tests.functional.conftest import HTTP_URL
from tests.functional.conftest import patch
from tests.log_doubles import capturing_root
from tests import servers

PASTE = """
[pipeline:main]
pipeline = location_strategy stub

[filter:location_strategy]
use = egg:loc_strategy_filter#location_strategy

[app:stub]
use = egg:loc_strategy_filter#stub_image_api
show_multiple_locations = false
show_image_direct_url = true
service_token = {token}
"""
TOKEN = "service-token-of-the-tests"
HTTP_FIRST = {"location_strategy": "store_type",
              "store_type_preference": "http, file"}
SERVICE = {"X-Roles": "service"}
MEMBER = {"X-Roles": "member,reader"}
OTHER_HTTP = "http://127.0.0.1:9292/y"


class Recorder:
    """A WSGI app answering as ``app`` (or ``status``), recording who
    asked: (path, Via, X-Auth-Token) of each request.
    """

    def __init__(self, app, status=None, body=b""):
        self.app, self.status, self.body = app, status, body
        self.asked = []

    @webob.dec.wsgify
    def __call__(self, req):
        self.asked.append((req.path, req.headers.get("Via"),
                           req.headers.get("X-Auth-Token")))
        if self.status is None:
            return req.get_response(self.app)
        return webob.Response(status=self.status, body=self.body,
                              content_type="application/json")


@pytest.fixture
def pipeline(tmp_path):
    """``load(auth=None, **conf)``: the paste pipeline; ``auth`` the lines
    of ``[location_strategy_filter_auth]`` in its oslo.config file.
    """
    ini = tmp_path / "api-paste.ini"
    ini.write_text(PASTE.format(token=TOKEN))

    def load(auth=None, **conf):
        conf_file = tmp_path / "filter.conf"
        lines = ["[location_strategy_filter_auth]"]
        lines += [f"{key} = {value}" for key, value in (auth or {}).items()]
        conf_file.write_text("\n".join(lines) + "\n")
        conf.setdefault("data_dir", str(tmp_path / "data"))
        return deploy.loadapp(f"config:{ini}", global_conf={
            "oslo_config_file": str(conf_file), **conf})
    return load


@pytest.fixture
def endpoint():
    """``serve(app)``: ``app`` on a loopback server, its URL."""
    running = []

    def serve(app):
        running.append(servers.wsgi_server(app))
        return running[-1].url()

    yield serve
    for server in running:
        server.stop()


def admin_token(url):
    return {"auth_type": "admin_token", "endpoint": url, "token": TOKEN}


def image_at(app, *urls, **fields):
    """An image of the pipeline's stub with locations ``urls``."""
    stub = app.application
    image = stub.create_image(name="cirros", **fields)
    for url in urls:
        stub.add_location(image["id"], url)
    return image["id"]


def show(app, image_id, headers=MEMBER):
    response = call(app, "GET", f"/v2/images/{image_id}", headers=headers)
    assert response.status_int == 200, response.text
    return response.json


def listed(app, headers=MEMBER):
    response = call(app, "GET", "/v2/images?limit=1000", headers=headers)
    assert response.status_int == 200, response.text
    return {image["id"]: image for image in response.json["images"]}


def test_a_caller_who_may_read_locations_sees_the_best(pipeline):
    app = pipeline(**HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)

    shown = show(app, image_id, SERVICE)
    assert shown["direct_url"] == HTTP_URL
    assert "locations" not in shown


def test_without_service_credentials_an_end_user_sees_glances(pipeline,
                                                              caplog):
    with caplog.at_level(logging.INFO, "loc_strategy_filter"):
        app = pipeline(**HTTP_FIRST)
    said = [record for record in caplog.records
            if "No service credentials" in record.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO
    image_id = image_at(app, FILE_URL, HTTP_URL)

    shown = show(app, image_id)
    assert shown["direct_url"] == FILE_URL
    assert "locations" not in shown


def test_service_credentials_answer_for_an_end_user(pipeline, endpoint):
    app = None
    recorder = Recorder(lambda environ, start: app.application(environ,
                                                               start))
    app = pipeline(auth=admin_token(endpoint(recorder)), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)

    shown = show(app, image_id)
    assert shown["direct_url"] == HTTP_URL
    assert "locations" not in shown
    assert recorder.asked == [(f"/v2/images/{image_id}/locations",
                               "1.1 loc-strategy-filter", TOKEN)]


def test_a_caller_who_may_read_never_uses_the_service(pipeline, endpoint):
    recorder = Recorder(None, status="500 Internal Server Error")
    app = pipeline(auth=admin_token(endpoint(recorder)), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)
    assert show(app, image_id, SERVICE)["direct_url"] == HTTP_URL
    assert recorder.asked == []


@pytest.mark.parametrize("hide", ["false", "true"], ids=["shown", "hidden"])
def test_a_list_shows_each_images_best_and_no_locations(pipeline, endpoint,
                                                        hide):
    app = None
    recorder = Recorder(lambda environ, start: app.application(environ,
                                                               start))
    app = pipeline(auth=admin_token(endpoint(recorder)), hide_locations=hide,
                   **HTTP_FIRST)
    ids = [image_at(app, FILE_URL, f"http://127.0.0.1:9292/{n}")
           for n in range(20)]
    bare = image_at(app)  # no locations: no direct_url

    images = listed(app)
    for n, image_id in enumerate(ids):
        assert images[image_id]["direct_url"] == f"http://127.0.0.1:9292/{n}"
    assert all("locations" not in image for image in images.values())
    assert "direct_url" not in images[bare]
    assert len(recorder.asked) == 20


def test_a_list_answer_looks_images_up_concurrently(pipeline, endpoint):
    """20 lookups of 0.2 s each take about 0.2 s x 20 / 8, not 4 s."""
    app = None

    def slow(environ, start_response):
        time.sleep(0.2)
        return app.application(environ, start_response)

    app = pipeline(auth=admin_token(endpoint(slow)), **HTTP_FIRST)
    for _ in range(20):
        image_at(app, FILE_URL, HTTP_URL)
    started = time.monotonic()
    images = listed(app)
    assert time.monotonic() - started < 2
    assert {image["direct_url"] for image in images.values()} == {HTTP_URL}


def test_the_cache_spares_the_second_list_and_forgets_on_a_change(
        pipeline, endpoint):
    app = None
    recorder = Recorder(lambda environ, start: app.application(environ,
                                                               start))
    app = pipeline(auth=admin_token(endpoint(recorder)), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)
    listed(app)
    listed(app)
    assert len(recorder.asked) == 1

    # A change behind the filter's back is seen after the TTL only ...
    app.application.add_location(image_id, "http://127.0.0.1:9292/new")
    app.application.catalog.update(
        image_id, lambda record: {
            **record, "locations": record["locations"][::-1]})
    assert show(app, image_id)["direct_url"] == HTTP_URL
    # ... one through the filter at once.
    response = patch(app, image_id, {"op": "replace", "path": "/name",
                                     "value": "renamed"})
    assert response.status_int == 200
    assert response.json["direct_url"] == "http://127.0.0.1:9292/new"
    assert show(app, image_id)["direct_url"] == "http://127.0.0.1:9292/new"


def test_no_cache_with_a_ttl_of_zero(pipeline, endpoint):
    app = None
    recorder = Recorder(lambda environ, start: app.application(environ,
                                                               start))
    app = pipeline(auth=admin_token(endpoint(recorder)),
                   location_cache_ttl="0", **HTTP_FIRST)
    image_at(app, FILE_URL, HTTP_URL)
    listed(app)
    listed(app)
    assert len(recorder.asked) == 2


@pytest.mark.parametrize("status, body", [
    ("403 Forbidden", b'{"error": "no"}'),
    ("200 OK", b"not json"),
    ("200 OK", b'{"url": "http://127.0.0.1:9292/x"}'),
    ("200 OK", b"[]"),
    ("500 Internal Server Error", b""),
], ids=["refused", "not-json", "not-a-list", "empty", "server-error"])
def test_a_failed_lookup_leaves_glances_direct_url(pipeline, endpoint, status,
                                                   body):
    recorder = Recorder(None, status=status, body=body)
    app = pipeline(auth=admin_token(endpoint(recorder)), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)
    assert show(app, image_id)["direct_url"] == FILE_URL
    assert listed(app)[image_id]["direct_url"] == FILE_URL


def test_an_unreachable_endpoint_leaves_glances_direct_url(pipeline):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    app = pipeline(auth=admin_token(f"http://127.0.0.1:{port}"), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)
    assert show(app, image_id)["direct_url"] == FILE_URL


def test_a_hanging_endpoint_costs_the_timeout_only(pipeline):
    release = threading.Event()

    def hang(connection):
        release.wait(10)

    with servers.raw_server(hang) as hanging:
        app = pipeline(auth=admin_token(hanging.url()),
                       location_lookup_timeout="0.3", **HTTP_FIRST)
        ids = [image_at(app, FILE_URL, HTTP_URL) for _ in range(3)]
        started = time.monotonic()
        assert show(app, ids[0])["direct_url"] == FILE_URL
        images = listed(app)
        elapsed = time.monotonic() - started
        release.set()
    assert elapsed < 2
    assert {images[i]["direct_url"] for i in ids} == {FILE_URL}


def test_without_credentials_a_service_caller_teaches_a_member_nothing(
        pipeline):
    app = pipeline(**HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)
    assert show(app, image_id, SERVICE)["direct_url"] == HTTP_URL
    assert show(app, image_id)["direct_url"] == FILE_URL
    assert listed(app)[image_id]["direct_url"] == FILE_URL


def test_a_request_another_filter_made_learns_nothing(pipeline, endpoint):
    recorder = Recorder(None, status="500 Internal Server Error")
    app = pipeline(auth=admin_token(endpoint(recorder)), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, HTTP_URL)
    shown = show(app, image_id, {**MEMBER, "Via": "1.1 loc-strategy-filter"})
    assert shown["direct_url"] == FILE_URL and recorder.asked == []


@pytest.mark.parametrize("auth, named", [
    ({"auth_type": "no-such-plugin"}, "auth_type"),
    ({"auth_type": "admin_token", "token": TOKEN}, "endpoint"),
    ({"auth_type": "admin_token", "endpoint": "http://127.0.0.1:1"}, "token"),
    ({"auth_type": "password"}, "auth_url"),
], ids=["unknown-plugin", "no-endpoint", "no-token", "password-incomplete"])
def test_bad_service_credentials_fail_at_start_up(pipeline, auth, named):
    with pytest.raises(errors.ConfigurationError) as raised:
        pipeline(auth=auth)
    assert "location_strategy_filter_auth" in str(raised.value)
    assert named in str(raised.value)


@pytest.mark.parametrize("name, value", [
    ("location_lookup_timeout", "0"),
    ("location_lookup_concurrency", "0"),
    ("location_cache_ttl", "-1"),
])
def test_bad_lookup_options_fail_at_start_up(pipeline, name, value):
    with pytest.raises(errors.ConfigurationError, match=name):
        pipeline(**{name: value})


def test_a_multi_store_download_is_steered_to_the_best_store(pipeline,
                                                             tmp_path):
    app = pipeline(multi_store="true", download_mode="steer",
                   location_strategy="store_id", store_id_preference="slow")
    stub = app.application
    image = stub.create_image(name="two-stores", disk_format="raw",
                              container_format="bare")
    stub.upload(image["id"], b"fast bytes")
    slow = tmp_path / "data" / "slow-copy"
    slow.write_bytes(b"slow bytes")
    stub.add_location(image["id"], stub.data_dir.url_for(str(slow)),
                      {"store": "slow"})

    shown = show(app, image["id"], SERVICE)
    assert "locations" not in shown
    assert shown["direct_url"] == stub.data_dir.url_for(str(slow))
    response = call(app, "GET", f"/v2/images/{image['id']}/file",
                    headers=SERVICE)
    assert response.status_int == 200
    assert response.body == b"slow bytes"


def test_the_paste_sample_still_loads(tmp_path):
    sample = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                          "etc", "api-paste.ini.sample")
    assert deploy.loadapp(f"config:{os.path.abspath(sample)}",
                          global_conf={"data_dir": str(tmp_path)})


def test_a_service_lookup_logs_no_location_secret_at_debug(pipeline,
                                                           endpoint):
    secret_url = "http://user:hunter2@127.0.0.1:9292/y?temp_url_sig=s3cr3t"
    app = None
    recorder = Recorder(lambda environ, start: app.application(environ,
                                                               start))
    app = pipeline(auth=admin_token(endpoint(recorder)), **HTTP_FIRST)
    image_id = image_at(app, FILE_URL, secret_url)
    with capturing_root() as logs:
        assert show(app, image_id)["direct_url"] == secret_url
    assert recorder.asked, "the service endpoint was asked"
    said = "\n".join(logs.texts)
    assert "hunter2" not in said and "s3cr3t" not in said
    assert TOKEN not in said
