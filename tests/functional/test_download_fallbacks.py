"""Downloads through the paste pipeline when locations fail: what the filter
remembers, and when the upstream's own download takes over.
"""

import logging
import os
import time

import pytest
import webob
import webob.dec

from loc_strategy_filter.errors import LocationsExhausted
from loc_strategy_filter.errors import VerificationFailed
from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter_stub import StubImageAPI
from tests.functional import mirrors
from tests.functional.test_download import DATA
from tests.functional.test_download import download
from tests.functional.test_download import gets
from tests.functional.test_download import image_with

# Locations the filter may read are the mirrors only: the upload (a file
# in the stub's data directory) is read by the upstream alone.
MIRRORS_ONLY = {"download_mode": "serve", "location_strategy": "store_type",
                "store_type_preference": "http, file",
                "http_allowed_hosts": "127.0.0.1", "http_read_timeout": "1",
                "file_dirs": "/nonexistent", "location_failure_ttl": "300"}


def broken_download(app, image_id, breaks_with=VerificationFailed):
    """The status and the bytes of a download whose body must break."""
    environ = webob.Request.blank(f"/v2/images/{image_id}/file").environ
    statuses, received = [], bytearray()
    body = app(environ, lambda status, headers, exc_info=None:
               statuses.append(status))
    with pytest.raises(breaks_with):
        for chunk in body:
            received += chunk
    body.close()
    return statuses, bytes(received)


# -- Wrong bytes --------------------------------------------------------------

@pytest.mark.parametrize("mode", ["serve", "auto"])
def test_after_a_corrupt_mirror_the_upstream_serves_the_image(
        load_pipeline, started, mode, caplog):
    corrupt = started(DATA, behaviour="corrupt")
    app = load_pipeline(**{**MIRRORS_ONLY, "download_mode": mode})
    image_id = image_with(app, corrupt.url())

    statuses, received = broken_download(app, image_id)
    assert statuses == ["200 OK"] and len(received) < len(DATA)

    with caplog.at_level(logging.INFO):
        response = download(app, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert len(gets(corrupt)) == 1, "the corrupt mirror is not read again"
    assert "failed in the last 300" in caplog.text


def test_after_a_corrupt_mirror_the_next_location_serves(load_pipeline,
                                                         started):
    corrupt = started(DATA, behaviour="corrupt")
    healthy = started(DATA)
    app = load_pipeline(**MIRRORS_ONLY)
    image_id = image_with(app, corrupt.url(), healthy.url())

    statuses, received = broken_download(app, image_id)
    assert statuses == ["200 OK"] and len(received) < len(DATA)
    for _ in range(2):
        assert download(app, image_id).body == DATA
    assert len(gets(corrupt)) == 1 and len(gets(healthy)) == 2


@pytest.mark.parametrize("bad_record", ["checksum", "size"])
def test_one_images_bad_record_does_not_demote_a_shared_url(
        load_pipeline, started, tmp_path, bad_record):
    """Two images share a mirror URL; the mirror holds one of them. The
    other's record cannot match the mirror's bytes: that must not keep
    the first image from being read from the mirror.
    """
    mirror = started(DATA)
    app = load_pipeline(**{**MIRRORS_ONLY, "file_dirs": str(tmp_path)})
    other_data = (os.urandom(len(DATA)) if bad_record == "checksum"
                  else DATA[:-1])
    other = image_with(app, mirror.url(), data=other_data)
    image_id = image_with(app, mirror.url())

    if bad_record == "checksum":
        statuses, received = broken_download(app, other)
        assert len(received) < len(other_data)
    else:  # a size the mirror's object does not have: the upload serves
        assert download(app, other).body == other_data
    assert len(gets(mirror)) == 1

    assert download(app, image_id).body == DATA
    assert len(gets(mirror)) == 2, "the mirror is still the best location"


def test_a_larger_record_does_not_demote_a_shared_url(load_pipeline,
                                                      started):
    """The mirror's object is smaller than one image's record says, and
    the mirror cuts the range asked to its object: that is about this
    image's record, not about the mirror.
    """
    mirror = started(DATA)
    app = load_pipeline(**MIRRORS_ONLY)
    larger = image_with(app, mirror.url(), data=DATA + b"more")
    image_id = image_with(app, mirror.url())

    assert download(app, larger).body == DATA + b"more"  # the upstream's
    assert len(gets(mirror)) == 1

    assert download(app, image_id).body == DATA
    assert len(gets(mirror)) == 2, "the mirror is still the best location"


# -- Locations that failed lately ---------------------------------------------

@pytest.mark.parametrize("mode", ["serve", "auto"])
def test_a_silent_location_is_not_waited_for_again(load_pipeline, mode,
                                                   caplog):
    silent = mirrors.Listener()  # accepts connections, never answers
    try:
        app = load_pipeline(**{**MIRRORS_ONLY, "download_mode": mode})
        image_id = image_with(app, f"http://127.0.0.1:{silent.port}/image")
        assert download(app, image_id).body == DATA  # after the timeout
        assert silent.accepted() == 1

        started_at = time.monotonic()
        with caplog.at_level(logging.INFO):
            response = download(app, image_id)
        assert response.status_int == 200 and response.body == DATA
        assert time.monotonic() - started_at < 0.9
        assert silent.accepted() == 0
        assert "failed in the last 300" in caplog.text
    finally:
        silent.close()


def test_dead_and_failing_locations_are_not_tried_again(load_pipeline,
                                                        started):
    failing = started(behaviour="error")
    dead = f"http://127.0.0.1:{mirrors.closed_port()}/image"
    app = load_pipeline(**MIRRORS_ONLY)
    image_id = image_with(app, dead, failing.url())
    for _ in range(3):
        assert download(app, image_id).body == DATA
    assert len(gets(failing)) == 1


def test_a_fresh_location_is_tried_first_and_failed_ones_not_after_it(
        load_pipeline, started):
    """A fresh location goes first; when it dies too, the locations that
    failed lately are not waited for again: the upstream continues.
    """
    flaky = started(DATA, behaviour="error")
    dying = started(DATA, behaviour="dies", die_after=50_000)
    app = load_pipeline(**MIRRORS_ONLY)
    first = image_with(app, flaky.url())
    assert download(app, first).body == DATA  # flaky is now failed
    image_id = image_with(app, flaky.url(), dying.url())
    assert download(app, image_id).body == DATA
    assert len(gets(dying)) == 1 and len(gets(flaky)) == 1


def test_a_silent_location_does_not_stall_a_download_behind_a_failure(
        load_pipeline, started, caplog):
    silent = mirrors.Listener()  # accepts connections, never answers
    try:
        silent_url = f"http://127.0.0.1:{silent.port}/image"
        app = load_pipeline(**MIRRORS_ONLY)
        assert download(app, image_with(app, silent_url)).body == DATA
        assert silent.accepted() == 1  # it timed out, and is remembered
        dying = started(DATA, behaviour="dies", die_after=50_000)
        image_id = image_with(app, silent_url, dying.url())

        started_at = time.monotonic()
        response = download(app, image_id)

        assert response.body == DATA
        assert time.monotonic() - started_at < 0.9, "no read timeout waited"
        assert silent.accepted() == 0
        assert len(gets(dying)) == 1
    finally:
        silent.close()


# -- Continuing from the upstream ---------------------------------------------

@pytest.mark.parametrize("header, start, stop", [
    (None, 0, len(DATA)), ("bytes=1000-200000", 1000, 200001),
    ("bytes=5000-", 5000, len(DATA))], ids=["whole", "range", "open-ended"])
def test_a_broken_download_continues_from_the_upstream(
        load_pipeline, started, caplog, header, start, stop):
    dying = started(DATA, behaviour="dies", die_after=100_000)
    app = load_pipeline(**MIRRORS_ONLY)
    image_id = image_with(app, dying.url())
    headers = {"Range": header} if header else {}
    with caplog.at_level(logging.INFO):
        response = download(app, image_id, **headers)
        assert response.body == DATA[start:stop]  # read, so logged, here
    assert response.status_int == (206 if header else 200)
    assert len(gets(dying)) == 1
    [resumed_at] = [int(r.args[1]) for r in caplog.records
                    if "continue from the upstream" in r.msg]
    assert start < resumed_at <= start + 100_000
    assert f"then from byte {resumed_at} by the upstream" in caplog.text


class RangeTrouble:
    """An upstream in front of the stub that answers a ranged download it
    did not expect badly: ``ignore`` (a 200 with the whole image),
    ``gzip`` (a 206 marked as compressed), ``identity-then-gzip`` (marked
    twice, compressed the second time), ``shift`` (a 206 of other bytes),
    or ``500``.
    """

    def __init__(self, stub, trouble):
        self.stub, self.trouble, self.ranges = stub, trouble, []

    @webob.dec.wsgify
    def __call__(self, request):
        if not (request.path_info.endswith("/file") and request.range):
            return request.get_response(self.stub)
        self.ranges.append(request.headers["Range"])
        if self.trouble == "500":
            return webob.Response(status=500)
        if self.trouble == "ignore":
            del request.headers["Range"]
        if self.trouble == "shift":
            first = int(request.headers["Range"][6:].split("-")[0])
            request.headers["Range"] = f"bytes={first - 1}-"
        response = request.get_response(self.stub)
        if self.trouble == "gzip":
            response.headers["Content-Encoding"] = "gzip"
        if self.trouble == "identity-then-gzip":
            response.headerlist += [("Content-Encoding", "identity"),
                                    ("Content-Encoding", "gzip")]
        return response


@pytest.mark.parametrize("trouble", ["ignore", "gzip", "identity-then-gzip",
                                     "shift", "500"])
def test_only_the_exact_bytes_from_the_upstream_are_spliced_in(
        tmp_path, started, trouble):
    dying = started(DATA, behaviour="dies", die_after=100_000)
    stub = StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True)
    upstream = RangeTrouble(stub, trouble)
    app = LocationStrategyFilter(upstream, dict(MIRRORS_ONLY))
    image_id = image_with(stub, dying.url())
    statuses, received = broken_download(app, image_id,
                                         breaks_with=LocationsExhausted)
    assert statuses == ["200 OK"]
    assert DATA.startswith(received) and len(received) < len(DATA)
    assert len(upstream.ranges) == 1 and upstream.ranges[0].endswith("-")


def test_the_upstream_is_asked_for_the_rest_as_the_user(tmp_path, started):
    """The internal request carries the user's credentials, goes to the
    upstream (never through the filter again) and is not the filter's own
    read: no Via header.
    """
    dying = started(DATA, behaviour="dies", die_after=100_000)
    stub = StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True)
    asked = []

    def upstream(environ, start_response):
        if "HTTP_RANGE" in environ:
            asked.append(dict(environ))
        return stub(environ, start_response)

    app = LocationStrategyFilter(upstream, dict(MIRRORS_ONLY))
    image_id = image_with(stub, dying.url())
    response = download(app, image_id, **{"X-Auth-Token": "user-token"})
    assert response.body == DATA
    [internal] = asked
    assert internal["HTTP_X_AUTH_TOKEN"] == "user-token"
    assert internal["PATH_INFO"] == f"/v2/images/{image_id}/file"
    assert internal["HTTP_ACCEPT_ENCODING"] == "identity"
    assert "HTTP_VIA" not in internal
