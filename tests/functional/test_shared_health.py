"""Two filters in front of one image API, as two workers of a Glance API:
with the shared cache, a mirror that hangs costs one of them a timeout, not
both; without it, each pays.
"""

import hashlib
import os

import pytest

from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter_stub import StubImageAPI
from tests.functional.conftest import call
from tests.functional.conftest import create_image
from tests.functional.conftest import patch
from tests.functional import mirrors

DATA = os.urandom(64 * 1024 + 5)


def workers(tmp_path, cache_lines=""):
    conf_file = tmp_path / "filter.conf"
    conf_file.write_text(cache_lines)
    stub = StubImageAPI.factory({}, data_dir=str(tmp_path),
                                show_multiple_locations="true")
    return stub, [LocationStrategyFilter.factory(
        {}, oslo_config_file=str(conf_file), download_mode="serve",
        file_dirs=str(tmp_path), http_allowed_hosts="127.0.0.1",
        http_header_timeout="0.5", location_strategy="store_type",
        store_type_preference="http, file")(stub) for _ in range(2)]


def cache_lines(memcached):
    return f"""
[location_strategy_filter_cache]
enabled = true
backend = dogpile.cache.pymemcache
memcache_servers = {memcached.address}
"""


def hanging_mirror_first(app, listener):
    image = create_image(app, disk_format="raw", container_format="bare")
    assert call(app, "PUT", f"/v2/images/{image['id']}/file", body=DATA,
                content_type="application/octet-stream").status_int == 204
    assert patch(app, image["id"], {
        "op": "add", "path": "/locations/-", "value": {
            "url": f"http://127.0.0.1:{listener.port}/x",
            "metadata": {}}}).status_int == 200
    return image["id"]


def downloaded(app, image_id):
    response = call(app, "GET", f"/v2/images/{image_id}/file")
    assert response.status_int == 200
    return hashlib.sha256(response.body).hexdigest()


@pytest.fixture
def listener():
    hanging = mirrors.Listener()  # accepts, and never answers
    yield hanging
    hanging.close()


def test_the_second_worker_does_not_wait_on_what_the_first_saw_hang(
        tmp_path, memcached, listener):
    stub, (first, second) = workers(tmp_path, cache_lines(memcached))
    image_id = hanging_mirror_first(stub, listener)
    expected = hashlib.sha256(DATA).hexdigest()
    assert downloaded(first, image_id) == expected
    assert listener.accepted() == 1
    assert downloaded(second, image_id) == expected
    assert downloaded(second, image_id) == expected
    assert listener.accepted() == 0


def test_without_the_cache_each_worker_pays_the_timeout(tmp_path, listener):
    stub, (first, second) = workers(tmp_path)
    image_id = hanging_mirror_first(stub, listener)
    expected = hashlib.sha256(DATA).hexdigest()
    assert downloaded(first, image_id) == expected
    assert downloaded(first, image_id) == expected
    assert listener.accepted() == 1
    assert downloaded(second, image_id) == expected
    assert listener.accepted() == 1


def test_a_dead_cache_costs_downloads_nothing_but_the_sharing(
        tmp_path, memcached, listener):
    stub, (first, second) = workers(tmp_path, cache_lines(memcached))
    image_id = hanging_mirror_first(stub, listener)
    memcached.kill()
    expected = hashlib.sha256(DATA).hexdigest()
    for app in (first, first, second, second):
        assert downloaded(app, image_id) == expected
    assert listener.accepted() == 2  # each learned for itself
