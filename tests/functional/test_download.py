"""Downloads through the filter: the strategy's choice is what is read."""

import dataclasses
import hashlib
import logging
import os

import pytest
import webob
import webob.dec

from loc_strategy_filter.errors import VerificationFailed
from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter_stub import StubImageAPI
from tests.functional.conftest import call
from tests.functional.conftest import create_image
from tests.functional.conftest import patch
from tests.functional.conftest import set_locations
from tests.functional import mirrors

DATA = os.urandom(256 * 1024 + 17)
MIRROR_FIRST = {"location_strategy": "store_type",
                "store_type_preference": "http, file"}


def filtered(upstream, tmp_path, **conf):
    conf.setdefault("download_mode", "serve")
    conf.setdefault("file_dirs", str(tmp_path))
    conf.setdefault("http_allowed_hosts", "127.0.0.1")
    conf.setdefault("http_read_timeout", "2")
    return LocationStrategyFilter(upstream, conf)


def image_with(app, *urls, data=DATA):
    """An uploaded image (its file location first), then ``urls``."""
    image = create_image(app, disk_format="raw", container_format="bare")
    assert call(app, "PUT", f"/v2/images/{image['id']}/file", body=data,
                content_type="application/octet-stream").status_int == 204
    for url in urls:
        response = patch(app, image["id"], {
            "op": "add", "path": "/locations/-",
            "value": {"url": url, "metadata": {}}})
        assert response.status_int == 200, response.text
    return image["id"]


def download(app, image_id, **headers):
    return call(app, "GET", f"/v2/images/{image_id}/file", headers=headers)


def gets(mirror):
    return [entry for entry in mirror.log if entry[0] == "GET"]


def test_the_strategys_choice_is_the_location_read(stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    by_type = filtered(stub, tmp_path, **MIRROR_FIRST)
    by_order = filtered(stub, tmp_path)

    response = download(by_type, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert response.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert response.content_type == "application/octet-stream"
    assert len(gets(mirror)) == 1

    assert download(by_order, image_id).body == DATA
    assert len(gets(mirror)) == 1, "location_order must read the file"


def test_falls_back_when_the_best_location_is_down(stub, tmp_path, started):
    down = f"http://127.0.0.1:{mirrors.closed_port()}/image"
    mirror = started(DATA)
    image_id = image_with(stub, down, mirror.url())
    response = download(filtered(stub, tmp_path, **MIRROR_FIRST), image_id)
    assert response.body == DATA and len(gets(mirror)) == 1


def test_mid_stream_failover_delivers_the_exact_bytes(stub, tmp_path, started):
    dying = started(DATA, behaviour="dies", die_after=100_000)
    healthy = started(DATA)
    image_id = image_with(stub, dying.url(), healthy.url())
    response = download(filtered(stub, tmp_path, **MIRROR_FIRST), image_id)
    assert response.body == DATA
    assert gets(dying) and gets(healthy)
    resumed_at = int(gets(healthy)[0][2].split("=")[1].split("-")[0])
    assert 0 < resumed_at <= 100_000


@pytest.mark.parametrize("verification, mismatch", [
    ("strongest", "sha512 os_hash_value mismatch"),
    ("all", "md5 checksum mismatch"),
    ("true", "md5 checksum mismatch"),
])
def test_a_corrupt_mirror_aborts_the_response(stub, tmp_path, started,
                                              verification, mismatch):
    corrupt = started(DATA, behaviour="corrupt")
    image_id = image_with(stub, corrupt.url())
    app = filtered(stub, tmp_path, location_strategy="store_type",
                   store_type_preference="http", file_dirs="/nonexistent",
                   verify_checksums=verification)
    environ = webob.Request.blank(f"/v2/images/{image_id}/file").environ
    statuses = []
    body = app(environ, lambda status, headers, exc_info=None:
               statuses.append(status))
    received = bytearray()
    with pytest.raises(VerificationFailed, match=mismatch):
        for chunk in body:
            received += chunk
    body.close()
    assert statuses == ["200 OK"]
    assert len(received) < len(DATA)


def test_off_checks_the_size_alone(stub, tmp_path, started):
    corrupt = started(DATA, behaviour="corrupt")
    image_id = image_with(stub, corrupt.url())
    app = filtered(stub, tmp_path, location_strategy="store_type",
                   store_type_preference="http", file_dirs="/nonexistent",
                   verify_checksums="off")
    response = download(app, image_id)
    assert len(response.body) == len(DATA) and response.body != DATA


def test_a_disallowed_redirect_is_never_followed(stub, tmp_path, started):
    elsewhere = mirrors.Listener()
    redirecting = started(behaviour="redirect",
                          redirect_to=f"http://127.0.0.1:{elsewhere.port}/x")
    image_id = image_with(stub, redirecting.url())
    app = filtered(stub, tmp_path,
                   http_allowed_hosts=f"127.0.0.1:{redirecting.port}",
                   **MIRROR_FIRST)
    response = download(app, image_id)
    assert response.body == DATA  # from the file location
    assert gets(redirecting) and elsewhere.accepted() == 0
    elsewhere.close()


def test_a_host_not_allowed_is_never_contacted(stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(stub, tmp_path, http_allowed_hosts="mirror.example.com",
                   **MIRROR_FIRST)
    assert download(app, image_id).body == DATA
    assert mirror.log == []


@pytest.mark.parametrize("spelling", [
    "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]",
], ids=["decimal", "hex", "octal", "short", "ipv4-mapped"])
def test_loopback_spellings_are_refused_without_a_connection(
        stub, tmp_path, started, spelling):
    mirror = started(DATA)
    image_id = image_with(stub, f"http://{spelling}:{mirror.port}/image")
    app = filtered(stub, tmp_path, http_allowed_hosts="mirror.example.com",
                   **MIRROR_FIRST)
    assert download(app, image_id).body == DATA
    assert mirror.log == []


def test_files_outside_file_dirs_are_never_read(stub, tmp_path, caplog):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    image_id = image_with(stub)
    app = filtered(stub, tmp_path, file_dirs=str(allowed))
    with caplog.at_level(logging.INFO):
        response = download(app, image_id)
    # Nothing the filter may read: the upstream's own answer, unchanged.
    assert response.body == DATA
    assert "served" not in caplog.text.lower()


class Gate:
    """An upstream in front of the stub that answers downloads itself with
    ``status`` (those with ``?prefer=`` only, when ``prefer_only``), and
    logs what it is asked.
    """

    def __init__(self, stub, status, prefer_only=False):
        self.stub = stub
        self.status = status
        self.prefer_only = prefer_only
        self.asked = []

    @webob.dec.wsgify
    def __call__(self, request):
        self.asked.append(request.path_qs)
        if request.path_info.endswith("/file") and (
                "prefer" in request.GET or not self.prefer_only):
            return webob.Response(status=self.status, body=b"refused")
        return request.get_response(self.stub)


@pytest.mark.parametrize("status", [401, 403, 404, 409])
def test_upstream_refusals_pass_through_and_no_location_is_contacted(
        stub, tmp_path, started, status):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(Gate(stub, status), tmp_path, **MIRROR_FIRST)
    response = download(app, image_id)
    assert response.status_int == status and response.body == b"refused"
    assert gets(mirror) == []


class Deactivated:
    """An upstream in front of the stub whose image records say the image
    is deactivated, and which still sends its data (as to an admin).
    """

    def __init__(self, stub):
        self.stub = stub

    @webob.dec.wsgify
    def __call__(self, request):
        response = request.get_response(self.stub)
        if response.content_type == "application/json":
            response.json = dict(response.json, status="deactivated")
        return response


@pytest.mark.parametrize("mode", ["serve", "auto"])
def test_an_image_that_is_not_active_is_the_upstreams_to_send(
        stub, tmp_path, started, mode):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(Deactivated(stub), tmp_path, download_mode=mode,
                   **MIRROR_FIRST)
    response = download(app, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert gets(mirror) == []


class Recorded:
    """An upstream in front of the stub whose image records say ``fields``
    (the stub's data and downloads are untouched).
    """

    def __init__(self, stub, **fields):
        self.stub = stub
        self.fields = fields

    @webob.dec.wsgify
    def __call__(self, request):
        response = request.get_response(self.stub)
        if response.content_type == "application/json":
            response.json = dict(response.json, **self.fields)
        return response


@pytest.mark.parametrize("mode", ["serve", "auto"])
@pytest.mark.parametrize("field, value", [
    ("checksum", 12345), ("os_hash_algo", ["sha512"]),
    ("os_hash_value", {"sha512": "x"}),
], ids=["int-checksum", "list-algorithm", "object-hash"])
def test_a_digest_of_another_type_in_the_record_is_no_digest(
        stub, tmp_path, started, mode, field, value):
    """The record is the upstream's JSON: a digest that is no string says
    nothing, and the size alone is checked.
    """
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(Recorded(stub, **{field: value}), tmp_path,
                   download_mode=mode, **MIRROR_FIRST)
    response = download(app, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert len(gets(mirror)) == 1, "served from the mirror"


def counting_strategy(app):
    """``app`` with its strategy counting its runs, and the count."""
    runs = []

    def counted(locations, requester=None, order=app.settings.order):
        runs.append(len(locations))
        return order(locations, requester)

    return LocationStrategyFilter(app.application, dataclasses.replace(
        app.settings, order=counted)), runs


def test_the_strategy_ranks_a_served_download_once(stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app, runs = counting_strategy(filtered(stub, tmp_path,
                                           download_mode="auto",
                                           **MIRROR_FIRST))
    assert download(app, image_id).body == DATA
    assert len(gets(mirror)) == 1 and runs == [2]


def test_the_strategy_ranks_once_when_every_location_failed_lately(
        stub, tmp_path, started, caplog):
    failing = started(behaviour="error")
    image_id = image_with(stub, failing.url())
    app, runs = counting_strategy(filtered(
        stub, tmp_path, download_mode="auto", file_dirs="/nonexistent",
        location_failure_ttl="300", **MIRROR_FIRST))
    assert download(app, image_id).body == DATA  # the mirror fails
    assert download(app, image_id).body == DATA  # not tried: the warning
    assert "failed in the last 300 seconds" in caplog.text
    assert len(gets(failing)) == 1 and runs == [2, 2]


class ContextFilter:
    """Glance's context filter in miniature: it sets ``req.context``, and
    the upstream behind it answers 500 to a request without one (as
    Glance's controllers do).
    """

    def __init__(self, stub):
        self.stub = stub

    @webob.dec.wsgify
    def __call__(self, request):
        request.context = object()
        return request.get_response(self._upstream)

    @webob.dec.wsgify
    def _upstream(self, request):
        if getattr(request, "context", None) is None:
            return webob.Response(status=500, body=b"no context")
        return request.get_response(self.stub)


def test_the_image_record_is_fetched_with_the_users_context(stub, tmp_path,
                                                            started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    context = ContextFilter(stub)
    context._upstream = filtered(context._upstream, tmp_path, **MIRROR_FIRST)
    response = download(context, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert len(gets(mirror)) == 1, "the filter must serve from the mirror"


def test_serve_mode_asks_for_the_users_download_before_the_record(
        stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    gate = Gate(stub, 403)
    response = download(filtered(gate, tmp_path, **MIRROR_FIRST), image_id)
    assert response.status_int == 403
    assert gate.asked == [f"/v2/images/{image_id}/file"]


@pytest.mark.parametrize("header, start, stop", [
    ("bytes=0-0", 0, 1), ("bytes=-1", len(DATA) - 1, len(DATA)),
    ("bytes=10-99", 10, 100), ("bytes=1000-", 1000, len(DATA)),
    ("bytes=-5000", len(DATA) - 5000, len(DATA)),
], ids=["first-byte", "last-byte", "middle", "open-ended", "suffix"])
@pytest.mark.parametrize("source", ["mirror", "file"])
def test_ranges(stub, tmp_path, started, header, start, stop, source):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    conf = MIRROR_FIRST if source == "mirror" else {}
    response = download(filtered(stub, tmp_path, **conf), image_id,
                        Range=header)
    assert response.status_int == 206
    assert response.body == DATA[start:stop]
    assert response.headers["Content-Range"] == \
        f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert int(response.headers["Content-Length"]) == stop - start
    assert bool(gets(mirror)) == (source == "mirror")


def test_unsatisfiable_range_is_416(stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    response = download(filtered(stub, tmp_path, **MIRROR_FIRST), image_id,
                        Range=f"bytes={len(DATA)}-")
    assert response.status_int == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_a_failed_location_is_tried_last_for_a_while(stub, tmp_path, started):
    failing = started(behaviour="error")
    healthy = started(DATA)
    image_id = image_with(stub, failing.url(), healthy.url())
    app = filtered(stub, tmp_path, location_failure_ttl="300", **MIRROR_FIRST)
    for _ in range(3):
        assert download(app, image_id).body == DATA
    assert len(gets(failing)) == 1 and len(gets(healthy)) == 3


def multi_store_image(tmp_path, mirror):
    stub = StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True,
                        multi_store=True)
    image_id = image_with(stub)
    patch(stub, image_id, {"op": "add", "path": "/locations/-", "value": {
        "url": mirror.url(), "metadata": {"store": "mirror"}}})
    return stub, image_id


@pytest.mark.parametrize("mode", ["steer", "auto"])
def test_steer_makes_the_upstream_read_the_preferred_store(tmp_path, started,
                                                           mode):
    mirror = started(DATA)
    stub, image_id = multi_store_image(tmp_path, mirror)
    app = filtered(stub, tmp_path, download_mode=mode,
                   location_strategy="store_id", store_id_preference="mirror")
    assert download(app, image_id).body == DATA
    assert len(gets(mirror)) == 1  # the stub itself read the mirror


def test_steer_falls_back_to_the_plain_download_when_refused(tmp_path,
                                                             started):
    mirror = started(DATA)
    multi, image_id = multi_store_image(tmp_path, mirror)
    # A single-store upstream answers ?prefer= with 400.
    single = StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True)
    single.catalog = multi.catalog
    app = filtered(single, tmp_path, download_mode="steer",
                   location_strategy="store_id", store_id_preference="mirror")
    response = download(app, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert gets(mirror) == []


def test_off_passes_downloads_through(stub, tmp_path, started):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(stub, tmp_path, download_mode="off", **MIRROR_FIRST)
    assert download(app, image_id).body == DATA and gets(mirror) == []


def test_the_filters_own_reads_are_never_served_by_a_filter(stub, tmp_path,
                                                            started):
    # A location pointing back at a filtered image API must not loop.
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    app = filtered(stub, tmp_path, **MIRROR_FIRST)
    response = download(app, image_id, Via="1.1 loc-strategy-filter")
    assert response.body == DATA and gets(mirror) == []


def test_a_failing_strategy_passes_the_download_through(stub, tmp_path):
    def broken(locations, requester=None):
        raise RuntimeError("plugin bug")

    image_id = image_with(stub)
    app = LocationStrategyFilter(stub, dataclasses.replace(
        filtered(stub, tmp_path).settings, strategy="broken", order=broken))
    response = download(app, image_id)
    assert response.status_int == 200 and response.body == DATA


def test_steer_falls_back_when_the_download_from_store_policy_refuses(
        tmp_path, started):
    mirror = started(DATA)
    stub, image_id = multi_store_image(tmp_path, mirror)
    gate = Gate(stub, 403, prefer_only=True)
    app = filtered(gate, tmp_path, download_mode="steer",
                   location_strategy="store_id", store_id_preference="mirror")
    response = download(app, image_id)
    assert response.status_int == 200 and response.body == DATA
    assert gate.asked[-2:] == [f"/v2/images/{image_id}/file?prefer=mirror",
                               f"/v2/images/{image_id}/file"]


TRAVERSALS = {
    "dot-dot": "file://{allowed}/../secret",
    "percent-encoded-dot-dot": "file://{allowed}/%2e%2e/secret",
    "symlink-out": "file://{allowed}/link-out",
    "file-host": "file://localhost{outside}/secret",
}


@pytest.mark.parametrize("trick", TRAVERSALS)
def test_traversals_are_never_read_even_as_the_best_location(tmp_path, trick):
    """The secret has the image's size; the filter refuses the best
    location and serves the next one, the upload.
    """
    allowed = tmp_path / "images"
    allowed.mkdir()
    secret = tmp_path / "secret"
    secret.write_bytes(b"S" * len(DATA))
    (allowed / "link-out").symlink_to(secret)
    stub = StubImageAPI(data_dir=str(allowed), show_multiple_locations=True)
    image_id = image_with(stub)
    upload_url = call(stub, "GET", f"/v2/images/{image_id}").json[
        "locations"][0]["url"]
    trick_url = TRAVERSALS[trick].format(allowed=allowed, outside=tmp_path)
    set_locations(stub, image_id, [trick_url, upload_url])

    # An upstream that accepts the download, so only the filter decides
    # what is read.
    response = download(filtered(Gate(stub, 200), tmp_path,
                                 file_dirs=str(allowed)), image_id)

    assert response.status_int == 200 and response.body == DATA
