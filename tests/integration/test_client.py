"""The consumer library against the real Glance image API: the record
through openstacksdk, the bytes from the location the strategy chooses,
the image API's own download only when no location may be read.

Who read the bytes: the mirror's access log, and glance-api's request log
(uWSGI logs every request), where a download through Glance shows as a GET
of ``/v2/images/<id>/file``.
"""

import pytest

from loc_strategy_filter.client import Client
from tests.integration.conftest import DATA
from tests.integration.conftest import sdk_connection
from tests.integration.test_download import filter_gets

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

MIRROR_FIRST = {"location_strategy": "store_type",
                "store_type_preference": "http, file"}


def download(glance, deployment, name, image_id, path, through_glance,
             **config):
    """Download through the library from server ``name``, of which Glance
    itself sends ``through_glance`` downloads meanwhile: who served.
    """
    server = deployment.servers[name]
    since = server.log_end()
    served = Client(sdk_connection(glance[name]), **config).download(
        image_id, path)
    assert path.read_bytes() == DATA
    assert server.requests_logged(f"GET /v2/images/{image_id}/file", since,
                                  through_glance) == through_glance
    assert sorted(item.name for item in path.parent.glob(f"{path.name}*")
                  ) == [path.name]
    return served


def test_the_library_reads_the_mirror_the_strategy_prefers(
        glance, glance_deployment, original_case, mirror, tmp_path):
    since = len(mirror.requests)

    served = download(
        glance, glance_deployment, "store_type", original_case.image_id,
        tmp_path / "image.raw", 0, http_allowed_hosts="127.0.0.1",
        **MIRROR_FIRST)

    # The filter in front of Glance shows the mirror first already.
    assert (served.location["url"], served.image_api_from) == (
        original_case.mirror_url, None)
    assert len(filter_gets(mirror, original_case.mirror_path, since)) == 1


def test_the_library_reads_glances_file_under_location_order(
        glance, glance_deployment, original_case, mirror, tmp_path):
    since = len(mirror.requests)

    served = download(
        glance, glance_deployment, "location_order", original_case.image_id,
        tmp_path / "image.raw", 0,
        file_dirs=str(glance_deployment.images_dir))

    assert (served.location["url"], served.image_api_from) == (
        original_case.file_url, None)
    assert mirror.seen(original_case.mirror_path, since) == []


def test_with_nothing_readable_glance_sends_the_bytes(
        glance, glance_deployment, original_case, tmp_path):
    served = download(
        glance, glance_deployment, "store_type", original_case.image_id,
        tmp_path / "image.raw", 1, **MIRROR_FIRST)

    assert str(served) == "the image API"
