"""Kept image records (``download_record_ttl``) inside the real Glance.

Two servers of the single-store deployment, one uWSGI worker each, serve
downloads themselves (``download_mode = serve``, ``store_type = http,
file``, the mirror readable): ``kept_records`` keeps the record a download
read for the default five seconds, ``kept_records_ttl0`` keeps none
(``download_record_ttl = 0``). They run Glance's ``keystone`` pipeline
without authtoken, so the roles a test sends decide what Glance's policy
allows, and their policy file says ``download_image: role:member``: a
``reader`` may show an image, and Glance refuses them its download (403).

Who read the bytes is told by the mirror's access log and glance-api's log
(the filter says which location served each download).

How many times the filter read the record is not observed: it reads it in
process, through Glance's app, where neither uWSGI (which logs the outer
request only) nor Glance (nothing on an image show, at any level) nor the
filter (nothing on a record read that succeeds) logs it; and oslo.policy's
remote check (an ``http:`` rule for ``get_image``, which would have
counted the shows) fails inside Glance: it deep-copies Glance's policy
target, which holds a module ("cannot pickle 'module' object"). The
functional tests count the reads.
"""

import hashlib
import uuid

import pytest

from tests.integration.conftest import DATA
from tests.integration.conftest import IDENTITY
from tests.integration.conftest import READ_THE_MIRRORS
from tests.integration.conftest import SERVE
from tests.integration.conftest import STORE_TYPE
from tests.integration import glance_api
from tests.integration.image_api import ImageApi
from tests.integration.test_download import filter_gets
from tests.integration.test_download import make_image

SERVED_BY_THE_MIRROR = (f"bytes 0 to {len(DATA)} served by location 1 "
                        "(http store) after 0 failover(s)")
READER = {"X-Roles": "reader"}


def keeping(ttl=None):
    filter_lines = {} if ttl is None else {
        "location_strategy_filter": {"download_record_ttl": str(ttl)}}
    return glance_api.merge_sections(
        STORE_TYPE, READ_THE_MIRRORS, SERVE, filter_lines)


@pytest.fixture(scope="module")
def keepers(glance_deployment):
    """The two servers, by name."""
    policy = {"download_image": "role:member"}
    configs = {name: {"operator_config": keeping(ttl), "flavor": "keystone",
                      "identity": IDENTITY, "policy": policy}
               for name, ttl in (("kept_records", None),
                                 ("kept_records_ttl0", 0))}
    try:
        with glance_deployment.servers_for_a_while(configs) as added:
            yield added
    except glance_api.StartError as exc:
        pytest.fail(str(exc), pytrace=False)


def client(server, caller=None):
    return ImageApi(server.url, {**server.headers, **(caller or {})})


def mirrored_image(api, mirror):
    """A new image: Glance's file (location 0), then a mirror path (1, the
    best); its record, as this caller sees it, and the path.
    """
    path = f"/kept/{uuid.uuid4()}"
    image_id = make_image(api, mirror.publish(path, DATA))
    return api.show(image_id).json(), path


def assert_the_image(answer, image):
    assert answer.status_code == 200, answer.text[:500]
    assert answer.content == DATA
    assert hashlib.sha512(answer.content).hexdigest() == image["os_hash_value"]


def downloads(server, api, image, times):
    """``times`` downloads, each the image; what the server logged."""
    log_start = server.log_end()
    for _ in range(times):
        assert_the_image(api.download(image["id"]), image)
    return server.log(since=log_start)


@pytest.mark.parametrize("name", ["kept_records", "kept_records_ttl0"])
def test_downloads_in_one_worker_all_come_from_the_mirror(keepers, mirror,
                                                          name):
    server = keepers[name]
    api = client(server)
    image, path = mirrored_image(api, mirror)
    since = len(mirror.requests)

    log = downloads(server, api, image, 3)

    assert len(filter_gets(mirror, path, since)) == 3
    assert log.count(f"Image {image['id']}: {SERVED_BY_THE_MIRROR}") == 3
    assert len(server.worker_pids()) == 1


def test_a_kept_record_serves_no_byte_to_a_user_glance_refuses(
        keepers, mirror):
    server = keepers["kept_records"]
    api = client(server)
    image, path = mirrored_image(api, mirror)
    downloads(server, api, image, 1)  # the record is kept
    since = len(mirror.requests)

    refused = client(server, READER).download(image["id"])

    assert refused.status_code == 403, refused.text[:500]
    assert client(server, READER).show(image["id"]).status_code == 200
    assert DATA[:64] not in refused.content
    assert mirror.seen(path, since) == []


def test_a_removed_location_is_not_read_after_the_change(keepers, mirror):
    server = keepers["kept_records"]
    api = client(server)
    image, path = mirrored_image(api, mirror)
    downloads(server, api, image, 1)  # the record is kept
    changed = api.patch(image["id"], {"op": "remove", "path": "/locations/1"})
    assert changed.status_code == 200, changed.text
    since = len(mirror.requests)

    log = downloads(server, api, image, 1)

    assert mirror.seen(path, since) == []
    assert f"Image {image['id']}: {SERVED_BY_THE_MIRROR}" not in log
    # Served from Glance's file, location 0 (a file's first serve is logged
    # as its check; later ones as the file wrapper's).
    assert any(f"Image {image['id']}: " in line and "location 0" in line
               for line in log.splitlines()), log


def test_a_replaced_location_is_not_read_after_the_change(keepers, mirror):
    """Glance replaces no locations but the empty list: the change is one
    PATCH removing the mirror path and adding another.
    """
    server = keepers["kept_records"]
    api = client(server)
    image, path = mirrored_image(api, mirror)
    downloads(server, api, image, 1)  # the record is kept
    new_path = f"{path}/replaced"
    changed = api.patch(
        image["id"], {"op": "remove", "path": "/locations/1"},
        {"op": "add", "path": "/locations/-",
         "value": {"url": mirror.publish(new_path, DATA), "metadata": {}}})
    assert changed.status_code == 200, changed.text
    since = len(mirror.requests)

    log = downloads(server, api, image, 1)

    assert mirror.seen(path, since) == []
    assert len(filter_gets(mirror, new_path, since)) == 1
    assert f"Image {image['id']}: {SERVED_BY_THE_MIRROR}" in log
