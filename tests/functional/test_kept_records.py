"""A download plans from the record another download read
(``download_record_ttl``), and still serves nothing the upstream did not
agree to send to the user's own download.
"""

import logging

import pytest
import webob
import webob.dec

from tests.functional.conftest import call
from tests.functional.conftest import patch
from tests.functional.test_download import DATA
from tests.functional.test_download import download
from tests.functional.test_download import filtered
from tests.functional.test_download import gets
from tests.functional.test_download import image_with
from tests.functional.test_download import MIRROR_FIRST
from tests.functional.test_download import multi_store_image

MODES = pytest.mark.parametrize("mode", ["serve", "auto"])


class Counting:
    """The stub, counting what it is asked; a download with ``X-Refused``
    is refused, as a user Glance's policy denies the bytes.
    """

    def __init__(self, stub):
        self.stub = stub
        self.records = 0
        self.downloads = 0

    @webob.dec.wsgify
    def __call__(self, request):
        if request.path_info.endswith("/file"):
            self.downloads += 1
            if "X-Refused" in request.headers:
                return webob.Response(status=403, body=b"refused")
        elif request.method == "GET":
            self.records += 1
        return request.get_response(self.stub)


@MODES
def test_downloads_of_an_image_read_its_record_once(stub, tmp_path, started,
                                                    mode):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    upstream = Counting(stub)
    app = filtered(upstream, tmp_path, download_mode=mode, **MIRROR_FIRST)
    for _ in range(3):
        assert download(app, image_id).body == DATA
    assert upstream.records == 1
    assert upstream.downloads == 3  # each user's own download, every time
    assert len(gets(mirror)) == 3


@MODES
def test_a_kept_record_serves_no_user_the_upstream_refuses(
        stub, tmp_path, started, mode):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    upstream = Counting(stub)
    app = filtered(upstream, tmp_path, download_mode=mode, **MIRROR_FIRST)
    assert download(app, image_id).body == DATA
    refused = download(app, image_id, **{"X-Refused": "1"})
    assert refused.status_int == 403 and refused.body == b"refused"
    assert upstream.records == 1  # planned from the kept record
    assert len(gets(mirror)) == 1


@pytest.mark.parametrize("operation", [
    {"op": "remove", "path": "/locations/1"},
    {"op": "replace", "path": "/locations", "value": []},
], ids=["remove", "replace"])
def test_a_location_change_through_the_filter_is_seen_at_once(
        stub, tmp_path, started, operation):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    upstream = Counting(stub)
    app = filtered(upstream, tmp_path, **MIRROR_FIRST)
    assert download(app, image_id).body == DATA
    file_location = call(stub, "GET", f"/v2/images/{image_id}").json[
        "locations"][0]
    if operation["op"] == "replace":
        operation = {**operation, "value": [file_location]}
    response = patch(app, image_id, operation)
    assert response.status_int == 200, response.text
    before = upstream.records
    assert download(app, image_id).body == DATA
    assert upstream.records == before + 1
    assert len(gets(mirror)) == 1  # the removed location is not read


def test_a_ttl_of_zero_reads_the_record_for_every_download(stub, tmp_path,
                                                           started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    upstream = Counting(stub)
    app = filtered(upstream, tmp_path, download_record_ttl="0",
                   **MIRROR_FIRST)
    for _ in range(2):
        assert download(app, image_id).body == DATA
    assert upstream.records == 2


class Hiding:
    """The stub, but a user with ``X-Hidden`` is told the image does not
    exist, as Glance tells a user a private image is not theirs.
    """

    def __init__(self, stub):
        self.stub = stub

    @webob.dec.wsgify
    def __call__(self, request):
        if "X-Hidden" in request.headers:
            return webob.Response(status=404, body=b"No image found")
        return request.get_response(self.stub)


def test_a_steer_for_a_user_glance_hides_the_image_from_is_not_logged(
        tmp_path, started, caplog):
    mirror = started(DATA)
    stub, image_id = multi_store_image(tmp_path, mirror)
    app = filtered(Hiding(stub), tmp_path, download_mode="steer",
                   location_strategy="store_id", store_id_preference="mirror")
    assert download(app, image_id).body == DATA  # keeps the record
    caplog.set_level(logging.INFO)
    caplog.clear()
    refused = download(app, image_id, **{"X-Hidden": "1"})
    assert refused.status_int == 404 and refused.body == b"No image found"
    assert "steered" not in caplog.text
