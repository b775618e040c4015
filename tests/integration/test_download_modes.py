"""Every ``download_mode`` in both store layouts, inside the real Glance.

Each test downloads through a filtered glance-api and checks three things:
the user gets exactly what Glance alone sends (bytes, checksum, headers);
who read the bytes (the mirror's access log, the files the kernel saw read,
or the filter's log line); and, through the ``glance_logged_no_error``
fixture every integration test gets, that glance-api logged no ERROR and no
traceback meanwhile.

Single store (a file store and an http mirror, ``store_type = http, file``):

- ``serve``: the filter reads the mirror, after Glance said 200 to the
  user's own request;
- ``auto`` (the ``store_type`` server): the mirror names no store, so the
  filter serves it too;
- ``steer``: nothing to steer to (no ``metadata["store"]``), so Glance
  serves from its file and the mirror is never read;
- ``off``: Glance serves, the mirror is never read.

Multi-store (copies in ``fast`` and ``slow``, ``store_id = slow, fast``):
``steer`` and ``auto`` make Glance read ``slow`` (``?prefer=slow``);
``serve`` makes the filter read the slow copy itself; ``off`` leaves Glance
reading ``fast``, its first location.
"""

import hashlib

import pytest

from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.conftest import sdk_connection
from tests.integration.conftest import served_by
from tests.integration.file_watch import FileWatch
from tests.integration.test_download import filter_gets
from tests.integration.test_multistore import stores_read  # noqa: F401


def assert_glances_image(answer, glance_answer, image):
    assert answer.status_code == 200
    assert answer.content == DATA
    assert hashlib.md5(answer.content).hexdigest() == image["checksum"]
    assert (hashlib.new(image["os_hash_algo"], answer.content).hexdigest()
            == image["os_hash_value"])
    assert_same_download(answer, glance_answer)


# --- Single store: a file and an http mirror ---------------------------------

@pytest.mark.parametrize("server, mirror_reads", [
    ("serve", 1), ("store_type", 1), ("steer", 0), ("off", 0)])
def test_single_store_download_modes(glance, glance_deployment, original_case,
                                     mirror, server, mirror_reads):
    image_id = original_case.image_id
    image = glance["bare"].show(image_id).json()
    glance_answer = glance["bare"].download(image_id)
    since = len(mirror.requests)
    log_start = glance_deployment.servers[server].log_end()

    with FileWatch([original_case.file_path]) as watch:
        answer = glance[server].download(image_id)

    assert_glances_image(answer, glance_answer, image)
    assert len(filter_gets(mirror, original_case.mirror_path,
                           since)) == mirror_reads
    log = glance_deployment.servers[server].log(since=log_start)
    served_by_mirror = (f"Image {image_id}: bytes 0 to {len(DATA)} served by "
                        "location 1 (http store)")
    assert (served_by_mirror in log) == bool(mirror_reads)
    # Glance opens its file for the user's own request in every mode (the
    # filter drops that answer unread when it serves); only Glance reads it
    # when Glance serves.
    read = watch.read()
    assert (str(original_case.file_path) in read) == (not mirror_reads)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_sdk_download_in_serve_mode_comes_from_the_mirror(
        glance, original_case, mirror):
    """openstacksdk, as ``openstack image save`` uses it, checks the hash."""
    since = len(mirror.requests)

    answer = sdk_connection(glance["serve"]).image.download_image(
        original_case.image_id)

    assert answer.content == DATA
    assert len(filter_gets(mirror, original_case.mirror_path, since)) == 1


# --- Multi-store: copies in two file stores ----------------------------------

@pytest.mark.parametrize("server, read_by_glance, read_by_filter", [
    ("store_id", {"slow"}, False),
    ("store_id_auto", {"slow"}, False),
    ("store_id_serve", {"slow"}, True),
    ("store_id_off", {"fast"}, False)])
def test_multistore_download_modes(multistore, multistore_deployment, copies,
                                   server, read_by_glance, read_by_filter):
    image = multistore["bare"].show(copies.image_id).json()
    glance_answer = multistore["bare"].download(copies.image_id)
    log_start = multistore_deployment.servers[server].log_end()

    answer, read = stores_read(
        copies, lambda: multistore[server].download(copies.image_id))

    assert_glances_image(answer, glance_answer, image)
    assert read == read_by_glance
    log = multistore_deployment.servers[server].log(since=log_start)
    # The slow copy is the image's second location (index 1).
    assert served_by(log, copies.image_id, 1, "file") == read_by_filter
    assert ("Download steered to store slow" in log) == (
        server in ("store_id", "store_id_auto"))
