"""A file location inside the real Glance: the first whole download a
worker serves of it streams through the filter and is verified; the next
ones go out by uWSGI's ``wsgi.file_wrapper`` (sendfile) while the file is
unchanged. A file that rots in place is verified again, and fails.

Who sent the bytes is told by glance-api's log, where the filter says
which way each download went out (one uWSGI worker per server here).
"""

import os

import pytest
import requests

from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.test_download import make_image
from tests.integration.test_hostile_mirrors import logged_download

STREAMED = (f"bytes 0 to {len(DATA)} served by location 0 (file store) after "
            "0 failover(s)")
SENDFILE = ("served by location 0 (file store) through the server's file "
            "wrapper")
VERIFIED = "the file of location 0 matched the image's record"


def test_a_file_is_verified_once_then_sent_by_sendfile(glance,
                                                       glance_deployment):
    image_id = make_image(glance["location_order"])

    answers = [logged_download(glance, glance_deployment, "location_order",
                               image_id) for _ in range(3)]

    for answer, _ in answers:
        assert answer.status_code == 200 and answer.content == DATA
        assert_same_download(answer, glance["bare"].download(image_id))
    (_, first), (_, second), (_, third) = answers
    assert f"Image {image_id}: {STREAMED}" in first
    assert f"Image {image_id}: {VERIFIED}" in first
    assert SENDFILE not in first
    for log in (second, third):
        assert f"Image {image_id}: {SENDFILE}" in log
        assert VERIFIED not in log


@pytest.mark.filter_errors("is not the image's", "VerificationFailed")
def test_a_file_that_rots_after_it_was_verified_fails(glance,
                                                      glance_deployment):
    image_id = make_image(glance["location_order"])
    for _ in range(2):  # verified, then sent by sendfile
        logged_download(glance, glance_deployment, "location_order",
                        image_id)
    file_path = glance_deployment.images_dir / image_id
    before = os.stat(file_path)
    with open(file_path, "r+b") as rotten:
        rotten.write(bytes(4096))
    os.utime(file_path, ns=(before.st_atime_ns, before.st_mtime_ns))

    # The change time moved: the file is verified again, and the body that
    # went out ends short instead of cleanly.
    log_start = glance_deployment.servers["location_order"].log_end()
    with pytest.raises(requests.exceptions.RequestException):
        glance["location_order"].download(image_id)
    log = glance_deployment.servers["location_order"].log(since=log_start)
    assert f"Image {image_id}: data read from location(s) 0 is not" in log
    # The file failed: the filter leaves the next download to Glance, which
    # sends its file as it is.
    answer, log = logged_download(glance, glance_deployment,
                                  "location_order", image_id)
    assert_same_download(answer, glance["bare"].download(image_id))
    assert "every location the filter may read failed" in log
