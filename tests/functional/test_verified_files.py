"""A file location is verified the first time it is served whole, then
sent by the server's file wrapper (sendfile) for as long as it is the same
file: a changed file is verified again, and one that fails has failed.
"""

import logging
import os
import wsgiref.util

import pytest
import webob

from loc_strategy_filter.download.verify import Verified
from tests.functional.conftest import call
from tests.functional.test_download import DATA
from tests.functional.test_download import filtered
from tests.functional.test_download import gets
from tests.functional.test_download import image_with


def served(app, image_id, **headers):
    """The body object the filter answers with, and its bytes."""
    environ = webob.Request.blank(f"/v2/images/{image_id}/file",
                                  headers=headers).environ
    environ["wsgi.file_wrapper"] = wsgiref.util.FileWrapper
    statuses = []
    body = app(environ, lambda status, headers, exc_info=None:
               statuses.append(status))
    try:
        data = b"".join(body)
    finally:
        body.close()
    return statuses[0], body, data


def file_of(stub, image_id):
    url = call(stub, "GET", f"/v2/images/{image_id}").json["locations"][0][
        "url"]
    return url[len("file://"):]


def test_verified_once_then_sent_by_the_file_wrapper(stub, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    image_id = image_with(stub)
    app = filtered(stub, tmp_path)
    _, first, data = served(app, image_id)
    assert isinstance(first, Verified) and data == DATA
    assert "matched the image's record" in caplog.text
    for _ in range(2):
        _, body, data = served(app, image_id)
        assert isinstance(body, wsgiref.util.FileWrapper) and data == DATA


def test_a_file_changed_in_place_is_verified_again_and_fails(
        stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(stub, tmp_path)
    served(app, image_id)
    path = file_of(stub, image_id)
    before = os.stat(path)
    with open(path, "r+b") as rotten:
        rotten.write(bytes(4096))
    # Even with the modification time put back, the change time moved.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(Exception, match="mismatch"):
        served(app, image_id)
    # The file failed: the next download reads the mirror.
    _, body, data = served(app, image_id)
    assert not isinstance(body, wsgiref.util.FileWrapper) and data == DATA
    assert len(gets(mirror)) == 1


def test_a_file_replaced_by_a_good_copy_is_verified_again(stub, tmp_path):
    image_id = image_with(stub)
    app = filtered(stub, tmp_path)
    served(app, image_id)
    path = file_of(stub, image_id)
    copy = path + ".new"
    with open(copy, "wb") as new:
        new.write(DATA)
    os.replace(copy, path)
    _, body, data = served(app, image_id)
    assert isinstance(body, Verified) and data == DATA
    _, body, data = served(app, image_id)
    assert isinstance(body, wsgiref.util.FileWrapper) and data == DATA


def test_with_verification_off_the_file_wrapper_is_used_at_once(
        stub, tmp_path):
    image_id = image_with(stub)
    app = filtered(stub, tmp_path, verify_checksums="off")
    _, body, data = served(app, image_id)
    assert isinstance(body, wsgiref.util.FileWrapper) and data == DATA


def test_a_range_goes_out_by_the_file_wrapper_unverified(stub, tmp_path):
    # No digest checks a range, streamed or not.
    image_id = image_with(stub)
    app = filtered(stub, tmp_path)
    status, body, data = served(app, image_id, Range="bytes=10-99")
    assert status.startswith("206")
    assert isinstance(body, wsgiref.util.FileWrapper) and data == DATA[10:100]


def test_a_verified_file_truncated_while_it_is_sent_ends_the_body_broken(
        stub, tmp_path):
    image_id = image_with(stub)
    app = filtered(stub, tmp_path)
    served(app, image_id)  # verified: the next goes by the file wrapper
    environ = webob.Request.blank(f"/v2/images/{image_id}/file").environ
    environ["wsgi.file_wrapper"] = wsgiref.util.FileWrapper
    body = app(environ, lambda status, headers, exc_info=None: None)
    assert isinstance(body, wsgiref.util.FileWrapper)
    os.truncate(file_of(stub, image_id), len(DATA) // 2)
    with pytest.raises(OSError, match="truncated"):
        for _ in body:
            pass
    body.close()
