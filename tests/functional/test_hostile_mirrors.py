"""Hostile mirrors as the best location: the client still gets the exact
image, from the next location, through the real paste pipeline.
"""

import gzip
import os
import time

import pytest

from tests.functional.conftest import call
from tests.functional.conftest import create_image
from tests.functional.conftest import patch
from tests.functional import mirrors

DATA = os.urandom(256 * 1024 + 17)
SIZE = len(DATA)
OK = "HTTP/1.1 200 OK"


def whole(head, body=DATA):
    return mirrors.answer([OK, *head], body)


def same_length_garbage():
    packed = gzip.compress(DATA)[:SIZE]
    return packed + bytes(SIZE - len(packed))


def reset_mid_stream(connection):
    connection.sendall(b"%s\r\nContent-Length: %d\r\n\r\n" % (OK.encode(),
                                                              SIZE)
                       + DATA[:100_000])
    time.sleep(0.05)
    mirrors.reset(connection)


HOSTILE = {
    # verify_checksums is off: only the reader's refusal saves the client.
    "gzip-of-the-images-length": whole(
        ["Content-Encoding: gzip", f"Content-Length: {SIZE}"],
        same_length_garbage()),
    "transfer-gzip-of-the-images-length": whole(
        ["Transfer-Encoding: gzip", f"Content-Length: {SIZE}"],
        same_length_garbage()),
    # urllib3 only warned, and the garbage went out as the image.
    "header-without-colon": whole(
        [f"Content-Length: {SIZE}", "this line has no colon"],
        same_length_garbage()),
    "length-two-values": whole([f"Content-Length: {SIZE}, 5"]),
    "length-huge": whole(["Content-Length: " + "9" * 5000]),
    "length-negative": whole(["Content-Length: -1"]),
    "status-garbage": mirrors.answer(["HTTP/1.1 2oo OK"], DATA),
    "chunked-garbage": whole(["Transfer-Encoding: chunked"],
                             b"1000\r\n" + DATA[:4096] + b"\r\nzz\r\n"),
    "reset-mid-stream": reset_mid_stream,
    **{f"redirect-{name}": mirrors.answer(
        ["HTTP/1.1 302 Found", f"Location: {location}", "Content-Length: 0"])
       for name, location in {
           "bad-port": "http://127.0.0.1:99999/x",
           "control-character": "/x\x01y",
           "ftp": "ftp://127.0.0.1/x",
           "ipv6-garbage": "http://[::1/x"}.items()},
}

RANGE_HOSTILE = {
    "206-length-disagrees": mirrors.answer(
        ["HTTP/1.1 206 Partial Content",
         f"Content-Range: bytes 100-1099/{SIZE}", "Content-Length: 1005"],
        b"junk!" + DATA[100:1100]),
    "206-range-huge": mirrors.answer(
        ["HTTP/1.1 206 Partial Content",
         "Content-Range: bytes 100-1099/" + "9" * 30, "Content-Length: 1000"],
        DATA[100:1100]),
}


@pytest.fixture
def hostile():
    running = []

    def start(script):
        running.append(mirrors.RawMirror(script))
        return running[-1]

    yield start
    for mirror in running:
        mirror.stop()


def pipeline(load_pipeline, tmp_path, **conf):
    return load_pipeline(**{
        "download_mode": "serve", "file_dirs": str(tmp_path),
        "http_allowed_hosts": "127.0.0.1", "http_read_timeout": "2",
        "verify_checksums": "false", "location_strategy": "store_type",
        "store_type_preference": "http, file", **conf})


def image_with(app, *urls):
    """An uploaded image (its file location first), then ``urls``."""
    image = create_image(app, disk_format="raw", container_format="bare")
    assert call(app, "PUT", f"/v2/images/{image['id']}/file", body=DATA,
                content_type="application/octet-stream").status_int == 204
    for url in urls:
        assert patch(app, image["id"], {
            "op": "add", "path": "/locations/-",
            "value": {"url": url, "metadata": {}}}).status_int == 200
    return image["id"]


def download(app, image_id, **headers):
    return call(app, "GET", f"/v2/images/{image_id}/file", headers=headers)


@pytest.mark.parametrize("script", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_best_mirror_ends_in_the_file_locations_image(
        script, hostile, load_pipeline, tmp_path):
    mirror = hostile(script)
    app = pipeline(load_pipeline, tmp_path)
    image_id = image_with(app, mirror.url())
    response = download(app, image_id)
    assert response.status_int == 200
    assert response.body == DATA
    assert mirror.requests, "the hostile mirror was the best location"


@pytest.mark.parametrize("script", RANGE_HOSTILE.values(),
                         ids=RANGE_HOSTILE.keys())
def test_a_hostile_partial_answer_ends_in_the_exact_range(
        script, hostile, load_pipeline, tmp_path):
    mirror = hostile(script)
    app = pipeline(load_pipeline, tmp_path)
    image_id = image_with(app, mirror.url())
    response = download(app, image_id, Range="bytes=100-1099")
    assert response.status_int == 206
    assert response.body == DATA[100:1100]
    assert b"Range: bytes=100-1099" in mirror.requests[0]


def test_a_hostile_mirror_fails_over_to_a_good_mirror(
        hostile, started, load_pipeline, tmp_path):
    bad = hostile(HOSTILE["gzip-of-the-images-length"])
    good = started(DATA)
    app = pipeline(load_pipeline, tmp_path, file_dirs="/nonexistent")
    image_id = image_with(app, bad.url(), good.url())
    assert download(app, image_id).body == DATA
    assert bad.requests and good.log


SLOW = {"http_header_timeout": "0.5", "http_min_rate": "100000",
        "http_rate_window": "0.5"}
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % SIZE


@pytest.mark.parametrize("script", [
    mirrors.dribble(HEAD + b"X-Pad: 1\r\n" * 1000, step=5),
    mirrors.dribble(HEAD + b"\r\n", DATA, step=100),
], ids=["headers-dribbled", "body-dribbled"])
def test_a_slow_mirror_fails_over_within_its_deadline(
        script, hostile, load_pipeline, tmp_path):
    mirror = hostile(script)
    app = pipeline(load_pipeline, tmp_path, **SLOW)
    image_id = image_with(app, mirror.url())
    began = time.monotonic()
    response = download(app, image_id)
    assert response.body == DATA
    assert time.monotonic() - began < 2.0
    assert mirror.requests
