"""The ``openstack`` command's plugin against the real Glance image API,
run as the real command, reaching Glance without authentication
(``OS_AUTH_TYPE=none``, ``OS_ENDPOINT``) as openstacksdk does here.

Who read the bytes: the mirror's access log, and glance-api's request log
(uWSGI logs every request), where a download through Glance shows as a GET
of ``/v2/images/<id>/file``.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import DATA
from tests.integration.test_download import filter_gets

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")
MIRROR_FIRST = ["--strategy", "store_type", "--store-type-preference",
                "http, file"]


def openstack(tmp_path, server, *args):
    """``openstack *args -f json`` against ``server``: its fields, once it
    succeeded.
    """
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("OS_")}
    environment.update(HOME=str(tmp_path), OS_AUTH_TYPE="none",
                       OS_ENDPOINT=server.url)
    result = subprocess.run([OPENSTACK, *args, "-f", "json"],
                            env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def glance_downloads(server, since, image_id, expected):
    """The downloads Glance itself sent since ``since``."""
    return server.requests_logged(f"GET /v2/images/{image_id}/file", since,
                                  expected)


@pytest.fixture
def config(tmp_path):
    """A client config file whose readers allow ``lines``."""
    def write(**lines):
        path = tmp_path / "client.conf"
        path.write_text("[location_strategy_filter]\n" + "".join(
            f"{name} = {value}\n" for name, value in lines.items()))
        return ["--config-file", str(path)]
    return write


@pytest.mark.parametrize("server, strategy, mirror_first", [
    ("location_order", [], False),
    ("store_type", MIRROR_FIRST, True),
    # Glance alone shows the upload's order: the client's strategy decides.
    ("bare", MIRROR_FIRST, True),
], ids=["location_order", "store_type", "bare-store_type"])
def test_order_of_the_original_case(glance_deployment, original_case,
                                    tmp_path, server, strategy,
                                    mirror_first):
    case = original_case
    ordered = ([case.mirror_url, case.file_url] if mirror_first
               else [case.file_url, case.mirror_url])

    fields = openstack(tmp_path, glance_deployment.servers[server], "image",
                       "location", "order", case.image_id, *strategy)

    assert fields == {
        "id": case.image_id, "name": case.name,
        "strategy": "store_type" if mirror_first else "location_order",
        "client_address": "127.0.0.1", "locations": ordered,
        "best": ordered[0]}


def test_fetch_reads_the_mirror(glance_deployment, original_case, mirror,
                                config, tmp_path):
    server = glance_deployment.servers["store_type"]
    output = tmp_path / "image.raw"
    since, log_start = len(mirror.requests), server.log_end()

    fields = openstack(tmp_path, server, "image", "fetch",
                       original_case.image_id, "--file", str(output),
                       *config(http_allowed_hosts="127.0.0.1"),
                       *MIRROR_FIRST)

    assert output.read_bytes() == DATA
    # The filter in front of Glance shows the mirror first already.
    assert fields["served_by"] == (
        f"location 0 (http store, {original_case.mirror_url})")
    assert fields["size"] == len(DATA)
    assert len(filter_gets(mirror, original_case.mirror_path, since)) == 1
    assert glance_downloads(
        server, log_start, original_case.image_id, 0) == 0


def test_fetch_reads_glances_file_under_location_order(
        glance_deployment, original_case, mirror, config, tmp_path):
    server = glance_deployment.servers["location_order"]
    output = tmp_path / "image.raw"
    since, log_start = len(mirror.requests), server.log_end()

    fields = openstack(tmp_path, server, "image", "fetch",
                       original_case.image_id, "--file", str(output),
                       *config(file_dirs=glance_deployment.images_dir))

    assert output.read_bytes() == DATA
    assert fields["served_by"].startswith(
        f"location 0 (file store, {original_case.file_url}")
    assert mirror.seen(original_case.mirror_path, since) == []
    assert glance_downloads(
        server, log_start, original_case.image_id, 0) == 0


def test_fetch_with_nothing_readable_is_glances_download(
        glance_deployment, original_case, tmp_path):
    server = glance_deployment.servers["store_type"]
    output = tmp_path / "image.raw"
    log_start = server.log_end()

    fields = openstack(tmp_path, server, "image", "fetch",
                       original_case.image_id, "--file", str(output),
                       *MIRROR_FIRST)

    assert output.read_bytes() == DATA
    assert fields["served_by"] == "the image API"
    assert glance_downloads(
        server, log_start, original_case.image_id, 1) == 1
    assert sorted(path.name for path in tmp_path.glob("image.raw*")) == [
        "image.raw"]
