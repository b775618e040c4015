import argparse
import errno
import ipaddress
import logging
import select
import socket

import pytest

from loc_strategy_filter.client import address as client_address
from loc_strategy_filter.client.address import local_address_towards
from loc_strategy_filter.client.address import requester_for
from loc_strategy_filter.cmd.client_address import client_address_argument
from loc_strategy_filter.cmd.client_address import endpoint_argument
from loc_strategy_filter.requester import ANYONE


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def udp_server(request):
    """A UDP socket bound on a free port of a loopback address."""
    host = request.param
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        yield sock


def _url_of(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/v2/"


def _received_anything(sock, seconds=0.2):
    readable, _, _ = select.select([sock], [], [], seconds)
    return bool(readable)


@pytest.mark.parametrize("udp_server", [
    "127.0.0.1",
    pytest.param("::1", marks=pytest.mark.skipif(
        not _has_ipv6_loopback(), reason="no IPv6 loopback")),
], ids=["ipv4", "ipv6"], indirect=True)
def test_to_a_loopback_endpoint_the_address_is_loopback_and_nothing_is_sent(
        udp_server):
    expected = udp_server.getsockname()[0]

    assert local_address_towards(_url_of(udp_server)) == expected

    assert not _received_anything(udp_server)


def test_the_host_is_resolved():
    assert local_address_towards("http://localhost:9292/") in (
        "127.0.0.1", "::1")


@pytest.mark.parametrize("url, port", [
    ("http://127.0.0.1/v2/", 80),
    ("https://127.0.0.1/v2/", 443),
    ("HTTPS://127.0.0.1", 443),
    ("http://127.0.0.1:9292/v2/", 9292),
], ids=["http", "https", "scheme-case", "explicit"])
def test_a_url_without_a_port_is_reached_at_its_schemes_port(monkeypatch, url,
                                                             port):
    asked = []
    real = socket.getaddrinfo

    def recorded(host, port, *args, **kwargs):
        asked.append((host, port))
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recorded)

    assert local_address_towards(url) == "127.0.0.1"
    assert asked == [("127.0.0.1", port)]


def test_an_unresolvable_host_has_no_address_and_says_so(monkeypatch,
                                                         caplog):
    def unresolvable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    caplog.set_level(logging.INFO, logger=client_address.__name__)

    assert local_address_towards("http://glance.invalid:9292/") is None
    assert ("No local address towards glance.invalid:9292 ([Errno -2] Name "
            "or service not known)" in caplog.text)


def test_no_route_has_no_address(monkeypatch, caplog):
    class Unroutable(socket.socket):
        def connect(self, address):
            raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(socket, "socket", Unroutable)
    caplog.set_level(logging.INFO, logger=client_address.__name__)

    assert local_address_towards("http://192.0.2.1:9292/") is None
    assert "Network is unreachable" in caplog.text


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/", "127.0.0.1:9292", "http:///v2", "http://h:99999/",
], ids=["scheme", "no-scheme", "no-host", "bad-port"])
def test_a_url_of_no_http_host_has_no_address(url):
    assert local_address_towards(url) is None


@pytest.mark.parametrize("text, expected", [
    ("10.1.2.3", "10.1.2.3"),
    ("fd00:1::5", "fd00:1::5"),
    ("::ffff:10.1.2.3", "10.1.2.3"),
], ids=["ipv4", "ipv6", "ipv4-mapped"])
def test_a_client_address_argument_is_an_address(text, expected):
    assert client_address_argument(text) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("text", ["10.1.2", "edge1", "10.1.0.0/16", ""],
                         ids=["short", "name", "network", "empty"])
def test_a_malformed_client_address_argument_names_the_value(text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        client_address_argument(text)


@pytest.mark.parametrize("text", ["ftp://h/", "h:9292", "http:///v2"],
                         ids=["scheme", "no-scheme", "no-host"])
def test_a_malformed_endpoint_argument_names_the_value(text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        endpoint_argument(text)


def test_a_given_address_wins_over_the_endpoint(monkeypatch):
    monkeypatch.setattr(client_address, "local_address_towards",
                        pytest.fail)
    requester, whence = requester_for(ipaddress.ip_address("10.1.2.3"),
                                      "http://127.0.0.1:9292/")
    assert str(requester.client_address) == "10.1.2.3"
    assert whence == "given"


def test_without_an_address_the_local_one_towards_the_endpoint():
    requester, whence = requester_for(None, "http://127.0.0.1:9292/v2/")
    assert str(requester.client_address) == "127.0.0.1"
    assert whence == "this host's address towards 127.0.0.1:9292"


@pytest.mark.parametrize("endpoint", [None, "http://192.0.2.1:99999/"],
                         ids=["no-endpoint", "no-address"])
def test_otherwise_nobody_known(endpoint):
    assert requester_for(None, endpoint) == (ANYONE, None)
