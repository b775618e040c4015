import os

from paste import deploy
import pytest
import webob

from loc_strategy_filter.client import Client
from loc_strategy_filter_stub import StubImageAPI
from tests.functional import mirrors
from tests.functional import stub_api
from tests.functional.stub_api import ImageAPI

SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                      "etc", "api-paste.ini.sample")
FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"
PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture
def started():
    """Start loopback mirrors; stop them after the test."""
    running = []

    def start(*args, **kwargs):
        running.append(mirrors.Mirror(*args, **kwargs))
        return running[-1]

    yield start
    for mirror in running:
        mirror.stop()


@pytest.fixture
def load_pipeline(tmp_path):
    """Load etc/api-paste.ini.sample with options given as global conf."""
    def load(**conf):
        conf.setdefault("data_dir", str(tmp_path))
        return deploy.loadapp(f"config:{os.path.abspath(SAMPLE)}",
                              global_conf=conf)
    return load


def call(app, method, path, **kwargs):
    return webob.Request.blank(path, method=method, **kwargs).get_response(app)


def create_image(app, **fields):
    fields.setdefault("name", "cirros")
    response = call(app, "POST", "/v2/images", json=fields)
    assert response.status_int == 201, response.text
    return response.json


def patch(app, image_id, *operations):
    return call(app, "PATCH", f"/v2/images/{image_id}", json=list(operations),
                content_type=PATCH)


def set_locations(app, image_id, urls):
    """Give an image its locations, as the original Glance test case did."""
    response = patch(app, image_id, {
        "op": "replace", "path": "/locations",
        "value": [{"url": url, "metadata": {}} for url in urls]})
    assert response.status_int == 200, response.text
    return response.json


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def api(data_dir, monkeypatch):
    """The image API, and openstacksdk pointed at it with no auth."""
    served = ImageAPI(data_dir)
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OS_AUTH_TYPE", "none")
    monkeypatch.setenv("OS_ENDPOINT", served.url)
    yield served
    served.stop()


@pytest.fixture
def stub(tmp_path):
    return StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True,
                        show_image_direct_url=True)


@pytest.fixture
def connection(api):
    """openstacksdk's connection to the stub image API, without auth."""
    openstack = pytest.importorskip("openstack")
    return openstack.connect()


@pytest.fixture
def client(connection, data_dir):
    """A consumer library client that may read the stub's files and the
    loopback mirrors.
    """
    def build(**overrides):
        overrides.setdefault("file_dirs", str(data_dir))
        overrides.setdefault("http_allowed_hosts", "127.0.0.1")
        overrides.setdefault("http_read_timeout", "2")
        return Client(connection, **overrides)
    return build


@pytest.fixture
def slow_mirror():
    """A mirror sending stub_api.DATA at ~50 kB/s (a 5 s download)."""
    head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(stub_api.DATA)}\r\n"
            "Connection: close\r\n\r\n").encode()
    mirror = mirrors.RawMirror(mirrors.dribble(head, stub_api.DATA, step=1024,
                                               pause=0.02))
    yield mirror
    mirror.stop()
