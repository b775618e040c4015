"""No log record, from any logger, shows a location URL's credentials.

Every failure path of an http download, through the real paste pipeline,
with a root handler at DEBUG: the filter's own records, urllib3's (request
lines, header-parse warnings with their tracebacks) and the stub's.
"""

import http.client
import os

import pytest
import webob

from loc_strategy_filter.cmd import serve
from tests.functional.conftest import call
from tests.functional.conftest import create_image
from tests.functional.conftest import patch
from tests.functional import mirrors
from tests.log_doubles import capturing_root
from tests.log_doubles import colonless_header_server
from tests.servers import wsgi_server

DATA = os.urandom(64 * 1024 + 17)
SECRETS = ("s3cr3t", "s3cr3tsig", "user:")
USERINFO = "user:s3cr3t@"
QUERY = "?X-Amz-Signature=s3cr3tsig&X-Amz-Credential=AKIA"
# What the log must say happened, so that each case tests its path.
BY_HTTP = "served by location 1 (http store)"
BY_FILE = "served by location 0 (file store)"
MISMATCH = "is not the image"
EITHER = "served by location"  # whether the mirror's answer is used or not


@pytest.fixture
def captured():
    with capturing_root() as handler:
        yield handler


def secret_url(port, host="127.0.0.1", path="/image"):
    return f"http://{USERINFO}{host}:{port}{path}{QUERY}"


def _ok(started):
    return secret_url(started(DATA).port), BY_HTTP


def _redirect_then_ok(started):
    target = started(DATA)
    hop = started(behaviour="redirect", redirect_to=secret_url(target.port))
    return secret_url(hop.port), BY_HTTP


def _refused_host(started):
    return secret_url(started(DATA).port, host="images.example.com"), BY_FILE


def _bad_port(started):
    return secret_url(99999), BY_FILE


def _slash_in_password(started):
    port = started(DATA).port
    return f"http://user:s3cr3t/x@127.0.0.1:{port}/image{QUERY}", BY_FILE


def _redirect_to(location):
    def setup(started):
        return secret_url(started(behaviour="redirect",
                                  redirect_to=location).port), BY_FILE
    return setup


def _redirect_loop(started):
    return secret_url(started(behaviour="redirect",
                              redirect_to=f"/again{QUERY}").port), BY_FILE


def _colonless_header(started):
    mirror = colonless_header_server(DATA)
    started.extra.append(mirror)
    return secret_url(mirror.port), EITHER


def _error_500(started):
    return secret_url(started(behaviour="error").port), BY_FILE


def _connection_refused(started):
    return secret_url(mirrors.closed_port()), BY_FILE


def _mid_stream_death(started):
    return secret_url(started(DATA, behaviour="dies",
                              die_after=10_000).port), BY_FILE


def _checksum_mismatch(started):
    return secret_url(started(DATA, behaviour="corrupt").port), MISMATCH


CASES = {
    "success": _ok,
    "redirect-then-success": _redirect_then_ok,
    "refused-host": _refused_host,
    "bad-port": _bad_port,
    "slash-in-password": _slash_in_password,
    "malformed-redirect-ipv6": _redirect_to(f"http://[::1/x{QUERY}"),
    "malformed-redirect-port": _redirect_to(
        f"http://{USERINFO}127.0.0.1:notaport/x{QUERY}"),
    "redirect-disallowed-host": _redirect_to(
        f"http://{USERINFO}elsewhere.example/x{QUERY}"),
    "redirect-loop": _redirect_loop,
    "header-without-colon": _colonless_header,
    "error-500": _error_500,
    "connection-refused": _connection_refused,
    "mid-stream-death": _mid_stream_death,
    "checksum-mismatch": _checksum_mismatch,
}


@pytest.fixture
def servers(started):
    started.extra = []
    yield started
    for server in started.extra:
        server.stop()


def read_whole(app, image_id):
    """Status and bytes of a download; a broken body ends early."""
    environ = webob.Request.blank(f"/v2/images/{image_id}/file").environ
    statuses, received = [], bytearray()
    body = app(environ, lambda status, headers, exc_info=None:
               statuses.append(status))
    try:
        for chunk in body:
            received += chunk
    except Exception:  # an aborted body: the checksum-mismatch case
        pass
    finally:
        getattr(body, "close", lambda: None)()
    return statuses, bytes(received)


@pytest.mark.parametrize("setup", CASES.values(), ids=CASES.keys())
def test_no_record_carries_a_secret(setup, servers, load_pipeline, tmp_path,
                                    captured):
    url, outcome = setup(servers)
    app = load_pipeline(download_mode="serve", file_dirs=str(tmp_path),
                        http_allowed_hosts="127.0.0.1",
                        http_read_timeout="2",
                        location_strategy="store_type",
                        store_type_preference="http, file")
    image = create_image(app, disk_format="raw", container_format="bare")
    assert call(app, "PUT", f"/v2/images/{image['id']}/file", body=DATA,
                content_type="application/octet-stream").status_int == 204
    assert patch(app, image["id"], {
        "op": "add", "path": "/locations/-",
        "value": {"url": url, "metadata": {}}}).status_int == 200

    statuses, body = read_whole(app, image["id"])

    assert statuses and statuses[0].startswith("200")
    assert (body == DATA) is (outcome != MISMATCH)
    assert any(outcome in text for text in captured.texts), captured.texts
    leaks = [text for text in captured.texts
             if any(secret in text for secret in SECRETS)]
    assert leaks == []


def test_the_serve_commands_access_log_shows_no_query(capsys):
    """A location may point back at the served image API, signature and
    all: wsgiref's access log line must not show it.
    """
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    # One thread: the request is answered and logged before the stop returns.
    with wsgi_server(app, handler_class=serve._RequestHandler,
                     threaded=False) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        connection.request("GET", f"/v2/images/x/file{QUERY}")
        assert connection.getresponse().read() == b"ok"
        connection.close()
    logged = capsys.readouterr().err
    assert '"GET /v2/images/x/file?*** HTTP/1.1" 200' in logged
    assert "s3cr3t" not in logged
