"""The authorisation gate of the download filter, through the filter in
front of the stub: a location is read only for the bytes the upstream's
answer to the user's own download agreed to send, in ``serve`` and in
``auto`` mode alike (``auto`` reads the record first, which a user may be
allowed to see without being allowed the bytes).
"""

import pytest
import webob
import webob.dec

from tests.functional.test_download import DATA
from tests.functional.test_download import download
from tests.functional.test_download import filtered
from tests.functional.test_download import Gate
from tests.functional.test_download import gets
from tests.functional.test_download import image_with
from tests.functional.test_download import MIRROR_FIRST

MODES = pytest.mark.parametrize("mode", ["serve", "auto"])


class Answering:
    """An upstream in front of the stub that answers downloads with
    ``answer(request, stub)``; records pass untouched.
    """

    def __init__(self, stub, answer):
        self.stub = stub
        self.answer = answer

    @webob.dec.wsgify
    def __call__(self, request):
        if not request.path_info.endswith("/file"):
            return request.get_response(self.stub)
        return self.answer(request, self.stub)


@MODES
@pytest.mark.parametrize("status", [403, 404, 500, 503])
def test_a_refused_or_failed_download_is_forwarded_and_no_location_read(
        stub, tmp_path, started, mode, status):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(Gate(stub, status), tmp_path, download_mode=mode,
                   **MIRROR_FIRST)
    response = download(app, image_id)
    assert response.status_int == status and response.body == b"refused"
    assert gets(mirror) == []


def other_range(request, stub):
    """The bytes asked for, said to be others of the same length."""
    response = request.get_response(stub)
    start, _, stop = response.headers["Content-Range"].partition(" ")[2] \
        .partition("/")[0].partition("-")
    length = int(stop) - int(start) + 1
    response.headers["Content-Range"] = f"bytes 0-{length - 1}/{len(DATA)}"
    return response


def first_bytes(request, stub):
    """A range of the image to a request for all of it."""
    return webob.Response(
        status=206, body=DATA[:100], content_type="application/octet-stream",
        headers={"Content-Range": f"bytes 0-99/{len(DATA)}"})


@MODES
@pytest.mark.parametrize("asked, answer, content_range, sent", [
    ("bytes=10-99", other_range, f"bytes 0-89/{len(DATA)}", DATA[10:100]),
    (None, first_bytes, f"bytes 0-99/{len(DATA)}", DATA[:100]),
], ids=["another-range", "a-range-to-the-whole"])
def test_a_206_of_other_bytes_than_asked_is_not_served_from_a_location(
        stub, tmp_path, started, mode, asked, answer, content_range, sent):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(Answering(stub, answer), tmp_path, download_mode=mode,
                   **MIRROR_FIRST)
    response = download(app, image_id, **({"Range": asked} if asked else {}))
    assert response.status_int == 206
    assert response.headers["Content-Range"] == content_range
    assert response.body == sent
    assert gets(mirror) == []


def ignoring_the_range(request, stub):
    """The whole image, whatever range was asked for (HTTP allows it)."""
    del request.headers["Range"]
    return request.get_response(stub)


def ignoring_the_range_but_saying_it(request, stub):
    """The whole image with 200, and the Content-Range asked for."""
    response = ignoring_the_range(request, stub)
    response.headers["Content-Range"] = f"bytes 10-99/{len(DATA)}"
    return response


@MODES
@pytest.mark.parametrize("answer, content_range", [
    (ignoring_the_range, None),
    (ignoring_the_range_but_saying_it, f"bytes 10-99/{len(DATA)}"),
], ids=["plain", "with-the-range-asked-for"])
def test_a_200_to_a_ranged_request_is_not_served_as_a_range_from_a_location(
        stub, tmp_path, started, mode, answer, content_range):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(Answering(stub, answer), tmp_path, download_mode=mode,
                   **MIRROR_FIRST)
    response = download(app, image_id, Range="bytes=10-99")
    assert response.status_int == 200 and response.body == DATA
    assert response.headers.get("Content-Range") == content_range
    assert gets(mirror) == []
