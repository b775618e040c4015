"""The filter in front of the stub image API, loaded from the paste sample."""

import hashlib
import os

from paste import deploy
import pytest

from tests.functional.conftest import call
from tests.functional.conftest import create_image
from tests.functional.conftest import FILE_URL
from tests.functional.conftest import HTTP_URL
from tests.functional.conftest import patch
from tests.functional.conftest import SAMPLE
from tests.functional.conftest import set_locations

STORE_TYPE_HTTP_FIRST = {"location_strategy": "store_type",
                         "store_type_preference": "http, file"}


def urls(image):
    return [location["url"] for location in image["locations"]]


@pytest.mark.parametrize("conf, best", [
    ({"location_strategy": "location_order"}, FILE_URL),
    (STORE_TYPE_HTTP_FIRST, HTTP_URL),
], ids=["location_order", "store_type"])
def test_original_glance_test_case(load_pipeline, conf, best):
    app = load_pipeline(**conf)
    image = create_image(app)
    set_locations(app, image["id"], [FILE_URL, HTTP_URL])

    shown = call(app, "GET", f"/v2/images/{image['id']}").json
    assert shown["direct_url"] == best
    assert urls(shown)[0] == best
    assert sorted(urls(shown)) == sorted([FILE_URL, HTTP_URL])


def test_list_agrees_with_show(load_pipeline):
    app = load_pipeline(**STORE_TYPE_HTTP_FIRST)
    for name in ("one", "two"):
        image = create_image(app, name=name)
        set_locations(app, image["id"], [FILE_URL, HTTP_URL])
    create_image(app, name="no-locations")

    listed = call(app, "GET", "/v2/images").json["images"]
    with_locations = [image for image in listed if image["locations"]]
    assert len(listed) == 3 and len(with_locations) == 2
    for image in with_locations:
        assert image["direct_url"] == HTTP_URL
        assert urls(image) == [HTTP_URL, FILE_URL]
        shown = call(app, "GET", f"/v2/images/{image['id']}").json
        assert shown == image


def test_update_result_follows_the_strategy(load_pipeline):
    app = load_pipeline(**STORE_TYPE_HTTP_FIRST)
    image = create_image(app)
    updated = set_locations(app, image["id"], [FILE_URL, HTTP_URL])
    assert updated["direct_url"] == HTTP_URL
    assert urls(updated) == [HTTP_URL, FILE_URL]


def test_appended_location_becomes_best_when_preferred(load_pipeline):
    app = load_pipeline(**STORE_TYPE_HTTP_FIRST)
    image = create_image(app)
    set_locations(app, image["id"], [FILE_URL])
    response = patch(app, image["id"], {
        "op": "add", "path": "/locations/-",
        "value": {"url": HTTP_URL, "metadata": {}}})
    assert response.json["direct_url"] == HTTP_URL


def test_create_result_passes_the_filter(load_pipeline):
    app = load_pipeline(**STORE_TYPE_HTTP_FIRST)
    created = create_image(app, name="fresh")
    assert created["locations"] == []
    assert "direct_url" not in created


def test_hide_locations(load_pipeline):
    app = load_pipeline(hide_locations="true", **STORE_TYPE_HTTP_FIRST)
    image = create_image(app)
    set_locations(app, image["id"], [FILE_URL, HTTP_URL])
    shown = call(app, "GET", f"/v2/images/{image['id']}").json
    listed = call(app, "GET", "/v2/images").json["images"]
    assert "locations" not in shown and "locations" not in listed[0]
    assert shown["direct_url"] == listed[0]["direct_url"] == HTTP_URL


GLANCE_API_CONF = """
[DEFAULT]
show_image_direct_url = True
show_multiple_locations = True
location_strategy = store_type
enabled_backends = fast:file

[store_type_location_strategy]
store_type_preference = http, file

[glance_store]
default_backend = fast

[database]
connection = sqlite:////tmp/glance.sqlite
"""


def test_config_from_an_oslo_config_file(load_pipeline, tmp_path):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(GLANCE_API_CONF)
    app = load_pipeline(oslo_config_file=str(conf_file))
    image = create_image(app)
    assert set_locations(app, image["id"], [FILE_URL, HTTP_URL])[
        "direct_url"] == HTTP_URL


def test_config_found_by_project_and_program(load_pipeline, tmp_path,
                                             monkeypatch):
    (tmp_path / ".glance").mkdir()
    (tmp_path / ".glance" / "glance-api.conf").write_text(GLANCE_API_CONF)
    monkeypatch.setenv("HOME", str(tmp_path))
    app = load_pipeline(oslo_config_project="glance",
                        oslo_config_program="glance-api")
    image = create_image(app)
    assert set_locations(app, image["id"], [FILE_URL, HTTP_URL])[
        "direct_url"] == HTTP_URL


def test_paste_value_overrides_the_config_file(load_pipeline, tmp_path):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(GLANCE_API_CONF)
    app = load_pipeline(oslo_config_file=str(conf_file),
                        location_strategy="location_order")
    image = create_image(app)
    assert set_locations(app, image["id"], [FILE_URL, HTTP_URL])[
        "direct_url"] == FILE_URL


def test_two_pipelines_in_one_process_keep_their_own_settings(load_pipeline):
    by_type = load_pipeline(**STORE_TYPE_HTTP_FIRST)
    by_order = load_pipeline(location_strategy="location_order")
    results = []
    for app in (by_type, by_order, by_type):
        image = create_image(app)
        results.append(set_locations(app, image["id"],
                                     [FILE_URL, HTTP_URL])["direct_url"])
    assert results == [HTTP_URL, FILE_URL, HTTP_URL]


@pytest.mark.parametrize("conf, words", [
    ({"location_strategy": "nearest"},
     ["location_strategy", "nearest", "location_order", "store_type"]),
    ({"location_strategy": "store_type", "store_type_preference": "fiel"},
     ["store_type_preference", "fiel", "file", "swift"]),
    ({"hide_locations": "sometimes"},
     ["hide_locations", "sometimes", "true or false"]),
], ids=["unknown-strategy", "unknown-store-type", "not-a-boolean"])
def test_bad_configuration_fails_when_the_pipeline_loads(load_pipeline, conf,
                                                         words):
    with pytest.raises(ValueError) as raised:
        load_pipeline(**conf)
    for word in words:
        assert word in str(raised.value)


def test_unknown_key_in_the_filter_section_fails_at_load(tmp_path):
    ini = tmp_path / "api-paste.ini"
    ini.write_text("[pipeline:main]\npipeline = lsf stub\n"
                   "[filter:lsf]\n"
                   "use = egg:loc_strategy_filter#location_strategy\n"
                   "store_type_preferences = http\n"
                   "[app:stub]\n"
                   "use = egg:loc_strategy_filter#stub_image_api\n")
    with pytest.raises(ValueError, match="store_type_preferences"):
        deploy.loadapp(f"config:{ini}")


class WatchedBody:
    """The upstream's body, recording whether anybody iterated it."""

    def __init__(self, inner):
        self.inner = inner
        self.iterated = False

    def __iter__(self):
        self.iterated = True
        return iter(self.inner)

    def close(self):
        getattr(self.inner, "close", lambda: None)()


def test_download_passes_through_unread_and_byte_identical(tmp_path):
    sample = f"config:{os.path.abspath(SAMPLE)}"
    conf = {**STORE_TYPE_HTTP_FIRST, "data_dir": str(tmp_path)}
    stub = deploy.loadapp(sample, name="stub", global_conf=conf)
    bodies = []

    def watched_stub(environ, start_response):
        bodies.append(WatchedBody(stub(environ, start_response)))
        return bodies[-1]

    app = deploy.loadfilter(sample, name="location_strategy",
                            global_conf=conf)(watched_stub)
    image = create_image(app, disk_format="raw", container_format="bare")
    data = bytes(range(256)) * 4097
    assert call(app, "PUT", f"/v2/images/{image['id']}/file", body=data,
                content_type="application/octet-stream").status_int == 204

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "",
               "PATH_INFO": f"/v2/images/{image['id']}/file",
               "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "wsgi.input": None}
    headers = []
    result = app(environ, lambda status, h, exc_info=None: headers.append(h))
    # The last upstream call is the download (the first fetched the record).
    assert result is bodies[-1] and not bodies[-1].iterated
    received = b"".join(result)
    result.close()
    assert received == data
    assert dict(headers[0])["Content-MD5"] == hashlib.md5(data).hexdigest()


def test_config_found_where_glance_finds_it(load_pipeline, tmp_path,
                                            monkeypatch):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "glance-api.conf").write_text(GLANCE_API_CONF)
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("OS_GLANCE_CONFIG_DIR", str(tmp_path / "etc"))
    app = load_pipeline(oslo_config_project="glance",
                        oslo_config_program="glance-api")
    image = create_image(app)
    assert set_locations(app, image["id"], [FILE_URL, HTTP_URL])[
        "direct_url"] == HTTP_URL
