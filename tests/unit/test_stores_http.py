import base64
import contextlib
import gc
import gzip
import http.server
import logging
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import hypothesis
from hypothesis import strategies as st
import pytest

from loc_strategy_filter import errors
from loc_strategy_filter import settings
from loc_strategy_filter.stores import build_reader
from loc_strategy_filter.stores.http import BLOCK_SIZE
from loc_strategy_filter.stores.http import HttpReader
from loc_strategy_filter.stores import ReadFailed
from loc_strategy_filter.stores import ReadRefused
from tests.functional.mirrors import answer
from tests.functional.mirrors import dribble
from tests.functional.mirrors import RawMirror
from tests.functional.mirrors import reset
from tests import servers

DATA = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers each path with the route the test registered for it."""

    def do_GET(self):
        self.server.requests.append((self.path, dict(self.headers)))
        route = self.server.routes.get(self.path.partition("?")[0])
        if route is None:
            self.send_error(404)
        else:
            route(self)

    def log_message(self, *args):
        pass


def serve_ranges(handler, data=DATA):
    """200 or, for ``Range: bytes=a-b``, 206: what a real store sends."""
    asked = handler.headers.get("Range", "")
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", asked)
    if not match:
        return send(handler, 200, data)
    first = int(match[1])
    last = min(int(match[2] or len(data) - 1), len(data) - 1)
    if first >= len(data):
        return send(handler, 416, b"",
                    {"Content-Range": f"bytes */{len(data)}"})
    send(handler, 206, data[first:last + 1],
         {"Content-Range": f"bytes {first}-{last}/{len(data)}"})


def send(handler, status, body, headers=(), length=None):
    handler.send_response(status)
    for name, value in dict(headers).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body) if length is None
                                              else length))
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location, status=302):
    return lambda handler: send(handler, status, b"", {"Location": location})


@contextlib.contextmanager
def running(host):
    with servers.http_server(Handler, host) as served:
        server = served.server
        server.requests = []
        server.routes = {"/img": serve_ranges}
        server.release = threading.Event()
        server.port = served.port
        server.url = lambda path="/img": served.url(path)
        try:
            yield server
        finally:
            server.release.set()


@pytest.fixture
def server():
    with running("127.0.0.1") as server:
        yield server


@pytest.fixture
def server6():
    with running("::1") as server:
        yield server


@pytest.fixture
def other_server():
    with running("127.0.0.1") as server:
        yield server


class Tripwire:
    """Listening sockets that are never accepted from, to count connects.

    The kernel completes a TCP handshake into the backlog without accept(),
    so any connection attempt at all is found by a non-blocking accept.
    """

    def __init__(self):
        self.v4 = self._listen(socket.AF_INET, "127.0.0.1")
        self.v6 = self._listen(socket.AF_INET6, "::1")
        self.port = self.v4.getsockname()[1]
        self.port6 = self.v6.getsockname()[1]

    @staticmethod
    def _listen(family, host):
        sock = socket.socket(family)
        sock.bind((host, 0))
        sock.listen(8)
        sock.setblocking(False)
        return sock

    def url(self, path="/img"):
        return f"http://127.0.0.1:{self.port}{path}"

    def connections(self):
        count = 0
        for sock in (self.v4, self.v6):
            with contextlib.suppress(BlockingIOError):
                while True:
                    sock.accept()[0].close()
                    count += 1
        return count

    def close(self):
        self.v4.close()
        self.v6.close()


@pytest.fixture
def tripwire():
    tripwire = Tripwire()
    yield tripwire
    tripwire.close()


def make_reader(*allowed, **settings):
    """A reader of small chunks, or with ``chunk_size=None`` its own."""
    settings = {"chunk_size": 1000, "http_connect_timeout": 1.0,
                "http_read_timeout": 1.0, **settings}
    if settings["chunk_size"] is None:
        del settings["chunk_size"]
    return build_reader(HttpReader, http_allowed_hosts=allowed, **settings)


# Either chunk size a test runs with: the small one of most tests here, and
# the reader's own block size, with which a fast mirror streams fastest.
CHUNK_SIZES = pytest.mark.parametrize("chunk_size", [1000, None],
                                      ids=["small-chunks", "default-chunks"])


def read_all(source):
    try:
        return b"".join(source.chunks())
    finally:
        source.close()


def test_full_read(server):
    source = make_reader("127.0.0.1").open(server.url())
    chunks = list(source.chunks())
    source.close()
    assert b"".join(chunks) == DATA
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)
    assert source.size == len(DATA)
    assert "Range" not in server.requests[0][1]


RANGES = [(0, 1), (0, 1000), (1, 2), (999, 2001), (5000, None),
          (10239, None), (10239, 10240), (0, 10240), (7, 7)]


@pytest.mark.parametrize("start, stop", RANGES, ids=str)
def test_ranged_read_is_exact(server, start, stop):
    url = server.url()
    source = make_reader("127.0.0.1").open(url, start, stop)
    assert read_all(source) == DATA[start:stop]
    assert source.size == len(DATA)


@pytest.mark.parametrize("start, stop, header", [
    (0, 1, "bytes=0-0"), (10, 20, "bytes=10-19"), (10, None, "bytes=10-"),
], ids=["first-byte", "middle", "open-ended"])
def test_range_header_sent(server, start, stop, header):
    url = server.url()
    make_reader("127.0.0.1").open(url, start, stop).close()
    assert server.requests[0][1]["Range"] == header


@pytest.mark.parametrize("start, stop", RANGES, ids=str)
def test_whole_object_answer_to_a_range_is_cut_to_the_range(server, start,
                                                            stop):
    server.routes["/img"] = lambda handler: send(handler, 200, DATA)
    url = server.url()
    source = make_reader("127.0.0.1").open(url, start, stop)
    assert read_all(source) == DATA[start:stop]


@pytest.mark.parametrize("start, stop", [(10241, None), (0, 10241)],
                         ids=["start-past-end", "stop-past-end"])
def test_range_beyond_the_object_fails(server, start, stop):
    url = server.url()
    with pytest.raises(ReadFailed):
        make_reader("127.0.0.1").open(url, start, stop)


@pytest.mark.parametrize("start, stop", [(10241, None), (0, 10241)],
                         ids=["start-past-end", "stop-past-end"])
def test_whole_object_answer_beyond_the_range_fails(server, start, stop):
    server.routes["/img"] = lambda handler: send(handler, 200, DATA)
    url = server.url()
    with pytest.raises(ReadFailed):
        make_reader("127.0.0.1").open(url, start, stop)


@pytest.mark.parametrize("content_range", [
    "bytes 0-99/10240", "bytes 10-98/10240", "bytes 10-99/50", "bytes 10-99",
    "items 10-99/10240", "",
], ids=["wrong-start", "wrong-end", "end-past-total", "no-total",
        "wrong-unit", "missing"])
def test_partial_answer_not_matching_the_range_fails(server, content_range):
    server.routes["/img"] = lambda handler: send(
        handler, 206, DATA[10:100], {"Content-Range": content_range})
    url = server.url()
    with pytest.raises(ReadFailed):
        make_reader("127.0.0.1").open(url, 10, 100)


def test_partial_answer_to_a_whole_object_request_fails(server):
    server.routes["/img"] = lambda handler: send(
        handler, 206, DATA[:100], {"Content-Range": "bytes 0-99/10240"})
    with pytest.raises(ReadFailed):
        make_reader("127.0.0.1").open(server.url())


def test_unknown_total_size(server):
    server.routes["/img"] = lambda handler: send(
        handler, 206, DATA[10:100], {"Content-Range": "bytes 10-99/*"})
    url = server.url()
    source = make_reader("127.0.0.1").open(url, 10, 100)
    assert source.size is None
    assert read_all(source) == DATA[10:100]


def test_chunked_body_without_length(server):
    def chunked(handler):
        handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        for offset in range(0, len(DATA), 4096):
            piece = DATA[offset:offset + 4096]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")
    server.routes["/img"] = chunked
    source = make_reader("127.0.0.1").open(server.url())
    assert source.size is None
    assert read_all(source) == DATA


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "br", "identity, gzip",
                                      "x-unknown"])
def test_content_encoding_not_asked_for_fails(server, encoding):
    packed = gzip.compress(DATA)
    server.routes["/img"] = lambda handler: send(
        handler, 200, packed, {"Content-Encoding": encoding})
    with pytest.raises(ReadFailed, match="Content-Encoding"):
        make_reader("127.0.0.1").open(server.url())


@pytest.mark.parametrize("encoding", ["identity", " Identity ", ""])
def test_identity_encoding_is_the_image(server, encoding):
    server.routes["/img"] = lambda handler: send(
        handler, 200, DATA, {"Content-Encoding": encoding})
    assert read_all(make_reader("127.0.0.1").open(server.url())) == DATA


@pytest.mark.parametrize("status", [404, 403, 500, 304, 204])
def test_other_status_fails(server, status):
    server.routes["/img"] = lambda handler: send(handler, status, b"")
    with pytest.raises(ReadFailed, match=str(status)):
        make_reader("127.0.0.1").open(server.url())


def test_connection_dropped_mid_body_fails(server):
    server.routes["/img"] = lambda handler: send(
        handler, 200, DATA[:4000], length=len(DATA))
    source = make_reader("127.0.0.1").open(server.url())
    received = b""
    with pytest.raises(ReadFailed):
        for chunk in source.chunks():
            received += chunk
    source.close()
    assert received == DATA[:len(received)]
    assert len(received) <= 4000


def test_every_byte_before_a_drop_is_passed_on_before_the_failure(server):
    """So that a failover resumes at the last good byte, not before it."""
    server.routes["/img"] = lambda handler: send(
        handler, 200, DATA[:4000], length=len(DATA))
    source = make_reader("127.0.0.1", chunk_size=1 << 20).open(server.url())
    received = b""
    with pytest.raises(ReadFailed):
        for chunk in source.chunks():
            received += chunk
    source.close()
    assert received == DATA[:4000]


@pytest.mark.parametrize("status, headers", [
    (206, {"Content-Range": "bytes 10-99/10240"}), (200, {}),
], ids=["partial", "whole"])
def test_body_without_length_cut_short_fails(server, status, headers):
    def close_delimited(handler):
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(DATA[10:60] if status == 206 else DATA[:60])
    server.routes["/img"] = close_delimited
    url = server.url()
    source = make_reader("127.0.0.1").open(url, 10, 100)
    with pytest.raises(ReadFailed, match="40 bytes to go"):
        list(source.chunks())
    source.close()


def test_connection_dropped_before_the_range_start_fails(server):
    server.routes["/img"] = lambda handler: send(
        handler, 200, DATA[:4000], length=len(DATA))
    url = server.url()
    source = make_reader("127.0.0.1").open(url, 5000)
    with pytest.raises(ReadFailed):
        list(source.chunks())
    source.close()


def test_server_stalling_mid_body_times_out(server):
    def stall(handler):
        send(handler, 200, DATA[:10], length=len(DATA))
        handler.wfile.flush()
        handler.server.release.wait(5)
    server.routes["/img"] = stall
    reader = make_reader("127.0.0.1", http_read_timeout=0.2)
    source = reader.open(server.url())
    began = time.monotonic()
    with pytest.raises(ReadFailed):
        list(source.chunks())
    source.close()
    assert time.monotonic() - began < 1.0


def test_server_stalling_before_answering_times_out(server):
    server.routes["/img"] = lambda handler: handler.server.release.wait(5)
    reader = make_reader("127.0.0.1", http_read_timeout=0.2)
    began = time.monotonic()
    with pytest.raises(ReadFailed):
        reader.open(server.url())
    assert time.monotonic() - began < 1.0


def test_nothing_listening_fails(tripwire):
    tripwire.v4.close()
    with pytest.raises(ReadFailed):
        make_reader("127.0.0.1").open(tripwire.url("/x"))


def test_disallowed_host_refused_without_connecting(tripwire):
    reader = make_reader("images.example.com",
                         f"127.0.0.1:{tripwire.port + 1}")
    with pytest.raises(ReadRefused):
        reader.open(tripwire.url())
    assert tripwire.connections() == 0


# (host as written in the URL, which listener it reaches)
LOOPBACK = {
    "dotted": ("127.0.0.1", 4),
    "decimal": ("2130706433", 4),
    "hex": ("0x7f000001", 4),
    "hex-first-part": ("0x7f.0.0.1", 4),
    "octal": ("0177.0.0.1", 4),
    "short": ("127.1", 4),
    "trailing-dot": ("127.0.0.1.", 4),
    "zero": ("0", 4),
    "ipv4-mapped": ("[::ffff:127.0.0.1]", 4),
    "ipv4-mapped-hex": ("[::ffff:7f00:1]", 4),
    "ipv6": ("[::1]", 6),
    "ipv6-long": ("[0:0:0:0:0:0:0:1]", 6),
    "ipv6-unspecified": ("[::]", 6),
}


@pytest.mark.parametrize("host, family", LOOPBACK.values(),
                         ids=LOOPBACK.keys())
def test_every_loopback_spelling_refused_without_connecting(tripwire, host,
                                                            family):
    port = tripwire.port if family == 4 else tripwire.port6
    reader = make_reader("images.example.com", "10.0.0.1", "[2001:db8::1]")
    with pytest.raises(ReadRefused):
        reader.open(f"http://{host}:{port}/img")
    assert tripwire.connections() == 0


# Each reaches its listener only when its own address is listed.
NAMED = {key: value for key, value in LOOPBACK.items()
         if key not in ("zero", "ipv6-unspecified")}


@pytest.mark.parametrize("host, family", NAMED.values(), ids=NAMED.keys())
def test_every_spelling_allowed_by_the_address_it_spells(server, server6,
                                                         host, family):
    port = server.port if family == 4 else server6.port
    entry = "127.0.0.1" if family == 4 else "[::1]"
    source = make_reader(entry).open(f"http://{host}:{port}/img", 5, 9)
    assert read_all(source) == DATA[5:9]


@pytest.mark.parametrize("host, family", [
    ("[::1]", 6), ("::1", 6), ("0", 4), ("0.0.0.0", 4), ("[::]", 6),
    ("127.0.0.2", 4), ("127.2", 4)], ids=[
    "ipv6-loopback", "ipv6-bare", "zero", "unspecified", "ipv6-unspecified",
    "other-loopback", "other-loopback-short"])
def test_another_local_address_refused_without_connecting(tripwire, host,
                                                          family):
    port = tripwire.port if family == 4 else tripwire.port6
    with pytest.raises(ReadRefused):
        make_reader("127.0.0.1").open(f"http://{host}:{port}/img")
    assert tripwire.connections() == 0


def test_names_are_not_resolved_for_the_allow_list(tripwire):
    with pytest.raises(ReadRefused):
        make_reader("127.0.0.1").open(f"http://localhost:{tripwire.port}/")
    assert tripwire.connections() == 0


def test_allowed_host_on_another_port_refused(server, tripwire):
    reader = make_reader(f"127.0.0.1:{server.port}")
    assert read_all(reader.open(server.url())) == DATA
    with pytest.raises(ReadRefused):
        reader.open(tripwire.url())
    assert tripwire.connections() == 0


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/img", "file:///etc/passwd", "http:///img",
    "http://127.0.0.1:99999/img", "http://127.0.0.1:x/img",
    "http://127.0.0.1/im g", "http://127.0.0.1/img\r\nX-Injected: 1",
    "http://[::1/img", "http://127.0.0.1%2f@evil/img",
    # urllib.parse drops tabs and newlines: not "http://127.0.0.1/img".
    "http://127.0.0\t.1/img", "http://evil\n@127.0.0.1/img",
], ids=["ftp", "file", "no-host", "port-too-big", "port-not-number",
        "space", "header-injection", "unclosed-bracket", "encoded-host",
        "tab-in-host", "newline-before-userinfo"])
def test_malformed_or_foreign_url_refused(url):
    with pytest.raises(ReadRefused):
        make_reader("127.0.0.1").open(url)


@pytest.mark.parametrize("scheme", ["HTTP", "Http"])
def test_scheme_case_reads_the_allowed_host_itself(server, other_server,
                                                   scheme):
    reader = make_reader(f"127.0.0.1:{server.port}")
    url = f"{scheme}://127.0.0.1:{server.port}/img"
    assert reader.allows(url)
    assert read_all(reader.open(url)) == DATA
    assert len(server.requests) == 1 and other_server.requests == []
    assert not reader.allows(f"{scheme}://127.0.0.1:{other_server.port}/img")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_allowed_host_followed(server, other_server, status):
    server.routes["/hop"] = redirect(other_server.url(), status)
    url = server.url("/hop")
    source = make_reader("127.0.0.1").open(url, 100, 300)
    assert read_all(source) == DATA[100:300]
    assert other_server.requests[0][1]["Range"] == "bytes=100-299"


def test_relative_redirect_followed(server):
    server.routes["/hop"] = redirect("img")
    url = server.url("/hop")
    assert read_all(make_reader("127.0.0.1").open(url)) == DATA


def test_redirect_to_disallowed_host_refused_without_connecting(server,
                                                                tripwire):
    server.routes["/hop"] = redirect(tripwire.url())
    reader = make_reader(f"127.0.0.1:{server.port}")
    with pytest.raises(ReadRefused):
        reader.open(server.url("/hop"))
    assert tripwire.connections() == 0


@pytest.mark.parametrize("spelling", ["[::1]", "2130706433", "0x7f.1"])
def test_redirect_to_loopback_respelled_refused(server, tripwire, spelling):
    server.routes["/hop"] = redirect(f"http://{spelling}:{tripwire.port}/")
    reader = make_reader(f"127.0.0.1:{server.port}")
    with pytest.raises(ReadRefused):
        reader.open(server.url("/hop"))
    assert tripwire.connections() == 0


@pytest.mark.parametrize("location", ["file:///etc/passwd",
                                      "gopher://127.0.0.1/x"])
def test_redirect_to_another_scheme_fails(server, location):
    server.routes["/hop"] = redirect(location)
    with pytest.raises(ReadFailed, match="bad redirect"):
        make_reader("127.0.0.1").open(server.url("/hop"))


def redirect_chain(server, length):
    for hop in range(length):
        server.routes[f"/hop{hop}"] = redirect(f"/hop{hop + 1}")
    server.routes[f"/hop{length}"] = server.routes["/img"]


def test_redirects_up_to_the_limit_followed(server):
    redirect_chain(server, 3)
    reader = make_reader("127.0.0.1", http_max_redirects=3)
    assert read_all(reader.open(server.url("/hop0"))) == DATA


def test_redirects_beyond_the_limit_fail(server):
    redirect_chain(server, 4)
    reader = make_reader("127.0.0.1", http_max_redirects=3)
    with pytest.raises(ReadFailed, match="redirects"):
        reader.open(server.url("/hop0"))
    assert len(server.requests) == 4


def test_redirect_loop_fails(server):
    server.routes["/hop"] = redirect("/hop")
    with pytest.raises(ReadFailed, match="redirects"):
        make_reader("127.0.0.1").open(server.url("/hop"))


def test_redirect_without_location_fails(server):
    server.routes["/hop"] = lambda handler: send(handler, 302, b"")
    with pytest.raises(ReadFailed, match="Location"):
        make_reader("127.0.0.1").open(server.url("/hop"))


@pytest.mark.parametrize("name", ["http_proxy", "HTTP_PROXY", "https_proxy",
                                  "all_proxy", "ALL_PROXY"])
def test_proxy_environment_ignored(server, tripwire, monkeypatch, name):
    monkeypatch.setenv(name, f"http://127.0.0.1:{tripwire.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    source = make_reader("127.0.0.1").open(server.url())
    assert read_all(source) == DATA
    assert tripwire.connections() == 0


SECRET = "s3cr@t/pa:ss"
SECRET_IN_URL = "s3cr%40t%2Fpa:ss"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_userinfo_sent_as_basic_auth_and_never_logged(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.routes["/hop"] = redirect("/img")
    url = f"http://alice:{SECRET_IN_URL}@127.0.0.1:{server.port}/hop"
    assert read_all(make_reader("127.0.0.1").open(url)) == DATA
    assert [headers["Authorization"] for _, headers in server.requests] == [
        basic("alice", SECRET)] * 2
    assert caplog.records, "the redirect should have been logged"
    for text in (SECRET, SECRET_IN_URL, "s3cr", basic("alice", SECRET)[6:]):
        assert text not in caplog.text


def test_credentials_never_in_failure_messages(server, caplog):
    caplog.set_level(logging.DEBUG)
    reader = make_reader(f"127.0.0.1:{server.port}")
    failures = []
    for url in (f"http://alice:{SECRET_IN_URL}@127.0.0.1:{server.port}/404",
                f"http://alice:{SECRET_IN_URL}@127.0.0.1:1/img",
                f"http://alice:{SECRET_IN_URL}@127.0.0.1:{server.port}/a b"):
        with pytest.raises((ReadFailed, ReadRefused)) as caught:
            reader.open(url)
        failures.append(str(caught.value))
    assert all("127.0.0.1" in failure for failure in failures)
    assert not any("s3cr" in failure for failure in failures + [caplog.text])


def test_credentials_not_carried_to_another_origin(server, other_server):
    server.routes["/hop"] = redirect(other_server.url())
    url = f"http://alice:{SECRET_IN_URL}@127.0.0.1:{server.port}/hop"
    assert read_all(make_reader("127.0.0.1").open(url)) == DATA
    assert "Authorization" in server.requests[0][1]
    assert "Authorization" not in other_server.requests[0][1]


def test_redirect_may_carry_its_own_credentials(server, other_server):
    server.routes["/hop"] = redirect(
        f"http://bob:pw@127.0.0.1:{other_server.port}/img")
    url = server.url("/hop")
    assert read_all(make_reader("127.0.0.1").open(url)) == DATA
    assert other_server.requests[0][1]["Authorization"] == basic("bob", "pw")


# --- https: the test certificate is trusted through SSL_CERT_FILE, which the
# system trust store OpenSSL loads for urllib3 honours.

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("no openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_server(certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    with running("127.0.0.1") as server:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.server_names = names
        yield server


@pytest.fixture
def trusted(certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


def test_https_verified_against_the_host_name(tls_server, trusted):
    url = f"https://localhost:{tls_server.port}/img"
    source = make_reader("localhost").open(url, 1, 3)
    assert read_all(source) == DATA[1:3]
    assert tls_server.server_names == ["localhost"]


def test_https_certificate_for_another_name_fails(tls_server, trusted):
    with pytest.raises(ReadFailed):
        make_reader("127.0.0.1").open(
            f"https://127.0.0.1:{tls_server.port}/img")


def test_https_untrusted_certificate_fails(tls_server):
    with pytest.raises(ReadFailed):
        make_reader("localhost").open(
            f"https://localhost:{tls_server.port}/img")


def test_redirect_from_https_to_http_refused(tls_server, trusted, tripwire):
    tls_server.routes["/hop"] = redirect(f"http://localhost:{tripwire.port}/")
    reader = make_reader("localhost")
    with pytest.raises(ReadRefused, match="https to http"):
        reader.open(f"https://localhost:{tls_server.port}/hop")
    assert tripwire.connections() == 0


@pytest.mark.parametrize("url, allowed", [
    ("http://127.0.0.1:8080/x", True), ("https://2130706433/x", True),
    ("http://[::1]/x", False), ("http://127.0.0.2/x", False),
    ("http://mirror.example.com/x", False),
    ("ftp://127.0.0.1/x", False), ("http://127.0.0.1 /x", False),
], ids=["listed", "decimal-loopback", "ipv6-loopback-not-listed",
        "other-loopback-not-listed", "not-listed", "not-http", "space"])
def test_allows_decides_without_a_connection(url, allowed):
    assert make_reader("127.0.0.1").allows(url) is allowed


def test_requests_say_they_come_from_the_filter(server):
    server.routes["/img"] = lambda handler: send(handler, 200, DATA)
    source = make_reader("127.0.0.1").open(
        f"http://127.0.0.1:{server.port}/img")
    read_all(source)
    assert server.requests[0][1]["Via"] == "1.1 loc-strategy-filter"


# --- Hostile mirrors: raw sockets, for answers http.server cannot give.

@pytest.fixture
def raw():
    servers = []

    def start(script):
        servers.append(RawMirror(script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def reset_after(count):
    """A script sending ``count`` body bytes of 10240, then a TCP reset."""
    def script(connection):
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10240\r\n\r\n"
                           + DATA[:count])
        time.sleep(0.05)
        reset(connection)
    return script


OK_206 = ["HTTP/1.1 206 Partial Content"]


def ranged(script):
    """A hostile answer to bytes 10-99 (unmarked ones answer whole reads)."""
    script.asked = (10, 100)
    return script


HOSTILE = {
    "gzip": answer(["HTTP/1.1 200 OK", "Content-Encoding: gzip",
                    "Content-Length: 10240"], DATA),
    # http.client decodes "chunked" alone: these bytes would pass coded.
    "transfer-gzip": answer(["HTTP/1.1 200 OK", "Transfer-Encoding: gzip",
                             "Content-Length: 10240"], DATA),
    "transfer-gzip-chunked": ranged(answer(
        [*OK_206, "Content-Range: bytes 10-99/10240",
         "Transfer-Encoding: gzip, chunked"], b"5a\r\n" + DATA[10:100]
        + b"\r\n0\r\n\r\n")),
    "206-length-longer-than-range": ranged(answer(
        [*OK_206, "Content-Range: bytes 10-99/10240", "Content-Length: 95"],
        b"junk!" + DATA[10:100])),
    "206-length-shorter-than-range": ranged(answer(
        [*OK_206, "Content-Range: bytes 10-99/10240", "Content-Length: 50"],
        DATA[10:60])),
    "range-huge": ranged(answer(
        [*OK_206, "Content-Range: bytes 10-99/" + "9" * 30], DATA[10:100])),
    "range-thousands-of-digits": ranged(answer(
        [*OK_206, "Content-Range: bytes 10-99/" + "9" * 5000], DATA[10:100])),
    "range-negative": ranged(answer(
        [*OK_206, "Content-Range: bytes -10-99/10240"], DATA[10:100])),
    "range-two-values": ranged(answer(
        [*OK_206, "Content-Range: bytes 10-99/10240",
         "Content-Range: bytes 10-99/10240"], DATA[10:100])),
    "length-huge": answer(
        ["HTTP/1.1 200 OK", "Content-Length: " + "9" * 30], DATA),
    "length-thousands-of-digits": answer(
        ["HTTP/1.1 200 OK", "Content-Length: " + "9" * 5000], DATA),
    "length-negative": answer(
        ["HTTP/1.1 200 OK", "Content-Length: -1"], DATA),
    "length-two-values": answer(
        ["HTTP/1.1 200 OK", "Content-Length: 10240, 100"], DATA),
    "header-without-colon": answer(
        ["HTTP/1.1 200 OK", "Content-Length: 10240", "no colon here",
         "Content-Encoding: gzip"], DATA),
    "status-garbage": answer(["HTTP/1.1 2oo OK"], DATA),
    "not-http": answer(["SSH-2.0-OpenSSH_9.6"]),
    "header-line-too-long": answer(
        ["HTTP/1.1 200 OK", "X-Long: " + "x" * 70000], DATA),
    "too-many-headers": answer(
        ["HTTP/1.1 200 OK", *(f"X-{n}: 1" for n in range(200))], DATA),
    "empty-answer": answer([]),
    "chunked-garbage": answer(
        ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"],
        b"10\r\n" + DATA[:16] + b"\r\nzz\r\n" + DATA[16:]),
    "chunked-cut-short": answer(
        ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"],
        b"1000\r\n" + DATA[:100]),
    "reset-mid-stream": reset_after(4000),
    **{f"redirect-{name}": answer(["HTTP/1.1 302 Found",
                                   f"Location: {location}",
                                   "Content-Length: 0"])
       for name, location in {
           "bad-port": "http://127.0.0.1:99999/img",
           "port-not-a-number": "http://127.0.0.1:x/img",
           "two-ports": "http://127.0.0.1:1:2/img",
           "control-character": "http://127.0.0.1/\x01img",
           "delete-character": "/img\x7f",
           "tab": "/i\tmg",
           "ftp": "ftp://127.0.0.1/img",
           "javascript": "javascript:alert(1)",
           "ipv6-unclosed": "http://[::1/img",
           "ipv6-garbage": "http://[zz::1]/img",
           "ipv6-in-port": "http://127.0.0.1:[::1]/img",
           "empty-host": "http:///img",
           "non-ascii-host": "http://\uff10.0.0.1/img"}.items()},
}


@pytest.mark.parametrize("script", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_answer_is_a_failed_location(raw, script):
    server = raw(script)
    with pytest.raises(ReadFailed):
        read_all(make_reader("127.0.0.1").open(
            server.url(), *getattr(script, "asked", (0, None))))


def test_gzip_refused_even_if_it_is_the_objects_length(raw):
    server = raw(answer(["HTTP/1.1 200 OK", "Content-Encoding: gzip",
                         "Content-Length: 10240"], DATA))
    with pytest.raises(ReadFailed, match="Content-Encoding 'gzip'"):
        make_reader("127.0.0.1").open(server.url())


def test_partial_answer_whose_length_disagrees_is_refused_at_open(raw):
    server = raw(HOSTILE["206-length-longer-than-range"])
    with pytest.raises(ReadFailed, match="Content-Length 95"):
        make_reader("127.0.0.1").open(server.url(), 10, 100)


def test_header_parse_defects_are_refused_at_open(raw):
    server = raw(HOSTILE["header-without-colon"])
    with pytest.raises(ReadFailed, match="a header block that does not parse"):
        make_reader("127.0.0.1").open(server.url())


def slow_reader(**settings):
    return make_reader("127.0.0.1", http_header_timeout=0.5,
                       http_min_rate=5000, http_rate_window=0.3, **settings)


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10240\r\n" + b"X-Pad: 1\r\n" * 500,
    b"HTTP/1.1 302 Found\r\nLocation: /img\r\n" + b"X-Pad: 1\r\n" * 500,
], ids=["headers", "redirect"])
def test_headers_dribbled_fail_within_the_header_timeout(raw, head):
    server = raw(dribble(head))
    began = time.monotonic()
    with pytest.raises(ReadFailed, match="no answer within 0.5 s"):
        slow_reader().open(server.url())
    assert time.monotonic() - began < 1.0


def test_redirect_hops_share_one_header_timeout(raw):
    head = b"HTTP/1.1 302 Found\r\nLocation: /img\r\nContent-Length: 0\r\n"
    server = raw(dribble(head + b"\r\n", step=20, pause=0.02))
    began = time.monotonic()
    with pytest.raises(ReadFailed, match="no answer within"):
        slow_reader(http_max_redirects=100).open(server.url())
    assert time.monotonic() - began < 1.0


@CHUNK_SIZES
@pytest.mark.parametrize("head, body", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10240\r\n\r\n", DATA),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     b"".join(b"1\r\n%c\r\n" % byte for byte in DATA)),
    (b"HTTP/1.1 200 OK\r\n\r\n", DATA),
], ids=["length", "chunked", "close-delimited"])
def test_body_dribbled_fails_below_the_minimum_rate(raw, head, body,
                                                    chunk_size):
    server = raw(dribble(head, body))
    source = slow_reader(chunk_size=chunk_size).open(server.url())
    received = b""
    began = time.monotonic()
    with pytest.raises(ReadFailed, match="less than 5000 bytes/s"):
        for chunk in source.chunks():
            received += chunk
    source.close()
    assert time.monotonic() - began < 1.0
    assert received == DATA[:len(received)]


def test_a_slow_consumer_does_not_count_against_the_mirror(server):
    source = slow_reader().open(server.url())
    chunks = source.chunks()
    first = next(chunks)
    time.sleep(0.6)  # twice the window, not spent waiting for the mirror
    assert first + b"".join(chunks) == DATA
    source.close()


@CHUNK_SIZES
def test_first_bytes_are_passed_on_before_a_full_chunk(raw, chunk_size):
    release = threading.Event()

    def script(connection):
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10240\r\n"
                           b"\r\n" + DATA[:10])
        release.wait(2)
        connection.sendall(DATA[10:])
    server = raw(script)
    source = make_reader("127.0.0.1", chunk_size=chunk_size).open(
        server.url())
    chunks = source.chunks()
    began = time.monotonic()
    assert next(chunks) == DATA[:10]
    assert time.monotonic() - began < 0.5
    release.set()
    assert DATA[:10] + b"".join(chunks) == DATA
    source.close()


def test_a_fast_source_comes_in_full_chunks(server):
    source = make_reader("127.0.0.1", chunk_size=1000).open(server.url())
    time.sleep(0.1)  # the whole body is in the socket by now
    chunks = list(source.chunks())
    source.close()
    assert [len(chunk) for chunk in chunks] == [1000] * 10 + [240]


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10240\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\n",
], ids=["length", "close-delimited"])
def test_a_dribbling_mirror_passes_each_few_bytes_on_as_they_come(raw, head):
    """Not once a block is full: the client sees the download start."""
    server = raw(dribble(head, DATA, step=5, pause=0.02))
    source = make_reader("127.0.0.1", chunk_size=None).open(server.url())
    chunks = source.chunks()
    began = time.monotonic()
    first = next(chunks)
    assert time.monotonic() - began < 0.5
    received = [first] + [next(chunks) for _ in range(4)]
    source.close()
    assert b"".join(received) == DATA[:len(b"".join(received))]
    assert all(len(chunk) < 100 for chunk in received)


def test_a_fast_source_comes_in_blocks_of_the_default_size(server):
    data = DATA * 400  # 4 MB
    server.routes["/big"] = lambda handler: send(handler, 200, data)
    source = make_reader("127.0.0.1", chunk_size=None).open(server.url("/big"))
    sizes = []
    for chunk in source.chunks():
        sizes.append(len(chunk))
        time.sleep(0.01)  # lets the next block arrive whole
    source.close()
    assert sum(sizes) == len(data)
    assert max(sizes) == BLOCK_SIZE == 1 << 20


def test_no_watchdog_thread_outlives_its_source(server, raw):
    hostile = raw(HOSTILE["gzip"])
    reader = slow_reader()
    for _ in range(10):
        read_all(reader.open(server.url()))
        reader.open(server.url()).close()  # closed unread
        with pytest.raises(ReadFailed):
            reader.open(hostile.url())
    with pytest.raises(ReadRefused):
        reader.open("http://images.example.com/img")
    assert not [thread for thread in threading.enumerate()
                if thread.name == "loc-strategy-filter-deadline"]


def test_a_source_dropped_unclosed_ends_its_watchdog_thread(server):
    source = make_reader("127.0.0.1").open(server.url())
    del source
    gc.collect()
    assert not [thread for thread in threading.enumerate()
                if thread.name == "loc-strategy-filter-deadline"]


@pytest.mark.parametrize("conf, fragments", [
    ({"http_min_rate": "0"}, ["http_min_rate", "'0'", ">= 1"]),
    ({"http_min_rate": "fast"}, ["http_min_rate", "'fast'", "integer"]),
    ({"http_rate_window": "0"}, ["http_rate_window", "'0'", ">= 0.001"]),
    ({"http_header_timeout": "-1"},
     ["http_header_timeout", "'-1'", ">= 0.001"]),
], ids=["rate-zero", "rate-not-a-number", "window-zero", "header-negative"])
def test_bad_deadline_values_fail_at_load(conf, fragments):
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.resolve(conf)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_deadline_options_reach_the_readers():
    readers = settings.resolve({"http_header_timeout": "0.5",
                                "http_min_rate": "7",
                                "http_rate_window": "2"}).readers
    assert readers["http"]._deadline == (0.5, 7, 2.0)


# --- Random answers: nothing but ReadFailed, ReadRefused or the right bytes.

NUMBERS = st.one_of(st.integers(0, 20000).map(str), st.sampled_from(
    ["", "-1", "9" * 30, "1e3", "0x10", "10, 20", " 100", "\uff11"]))
HEADER_LINES = st.one_of(
    st.builds("Content-Length: {}".format, NUMBERS),
    st.builds("Content-Range: bytes {}-{}/{}".format,
              NUMBERS, NUMBERS, st.one_of(NUMBERS, st.just("*"))),
    st.sampled_from([
        "Transfer-Encoding: chunked", "Content-Encoding: gzip",
        "Content-Encoding: identity", "Connection: close",
        "Location: /img", "Location: http://[::1/x",
        "Location: http://127.0.0.1:99999/", "Location: ftp://x/",
        "no colon", " folded", ": no name", "X-Empty:"]),
    # No line break: the body must start where the test thinks it does.
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"),
            min_size=1, max_size=30))
STATUS_LINES = st.one_of(
    st.sampled_from([200, 206, 302, 404, 100, 999, 0]).map(
        "HTTP/1.1 {} Whatever".format),
    st.sampled_from(["HTTP/1.0 200 OK", "HTTP/1.1 2oo OK", "garbage", "",
                     "HTTP/1.1 206"]))


def truthful_body(head, asked_start):
    """DATA from where the head says the body starts (a lying head is the
    point; lying bytes only checksums can catch).
    """
    match = re.search(r"Content-Range: bytes (\d{1,5})-", head)
    first = int(match[1]) if match and "206" in head.split("\r\n")[0] else 0
    return DATA[min(first, len(DATA)):]


@hypothesis.settings(max_examples=150, deadline=None, suppress_health_check=[
    hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(status=STATUS_LINES, lines=st.lists(HEADER_LINES,
                                                      max_size=6),
                  body_length=st.integers(0, len(DATA)),
                  asked=st.sampled_from([(0, None), (10, 100), (5000, None),
                                         (0, len(DATA))]))
def test_random_answers_fail_cleanly_or_give_the_right_bytes(
        raw, status, lines, body_length, asked):
    head = "\r\n".join([status, *lines]) + "\r\n\r\n"
    body = truthful_body(head, asked[0])[:body_length]
    server = raw(lambda connection: connection.sendall(
        head.encode() + body))
    reader = make_reader("127.0.0.1", http_max_redirects=1,
                         http_read_timeout=0.5, http_header_timeout=1.0)
    try:
        received = read_all(reader.open(server.url(), *asked))
    except (ReadFailed, ReadRefused):
        return
    start, stop = asked
    assert received == DATA[start:stop][:len(received)]
    if stop is not None:
        assert len(received) == stop - start


def test_a_malformed_answer_is_never_quoted(raw, caplog):
    """Its status line echoes the request, Authorization header and all."""
    server = raw(lambda connection: connection.sendall(
        b"HTTP/1.1 2oo " + server.requests[-1].replace(b"\r\n", b" | ")
        + b"\r\n\r\n"))
    secret = base64.b64encode(b"user:s3cr3t").decode()
    caplog.set_level("DEBUG")
    with pytest.raises(ReadFailed) as failed:
        make_reader("127.0.0.1").open(
            server.url().replace("http://", "http://user:s3cr3t@"))
    assert secret.encode() in server.requests[-1], "the mirror had it"
    assert "malformed status line" in str(failed.value)
    assert secret not in str(failed.value) and secret not in caplog.text
