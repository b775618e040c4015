"""The client address locations are ordered for: one given, or else the
address this host reaches the image API from, which is the address the API
sees (unless a NAT or a proxy is in between: then give it).

The local address is found without sending a packet: ``connect()`` on a
UDP socket only makes the kernel choose the route and the source address
for it, which ``getsockname()`` then reads. The host is resolved, and the
first address ``getaddrinfo`` gives is the one used, IPv4 or IPv6, as an
HTTP client connecting would try it first.
"""

import logging
import socket
import urllib.parse

from loc_strategy_filter import requester

LOG = logging.getLogger(__name__)

#: The port of a URL that names none.
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_and_port(url):
    """The host and port the http(s) ``url`` reaches; raises
    ``ValueError``.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("not an http or https URL")
    if not parts.hostname:
        raise ValueError("no host")
    return parts.hostname, parts.port or DEFAULT_PORTS[scheme]


def local_address_towards(url):
    """The local IP address (a string) this host uses to reach the host of
    the http(s) ``url``; None when it cannot be found (a malformed URL, a
    host that does not resolve, no route), said in an info log line.
    Nothing is sent.
    """
    try:
        host, port = host_and_port(url)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (ValueError, UnicodeError, OSError) as exc:
        return _not_found(url, exc)
    error = None
    for family, kind, protocol, _, address in found:
        try:
            with socket.socket(family, kind, protocol) as sock:
                sock.connect(address)
                # An IPv6 link-local address carries its scope ("%eth0"),
                # which the server never sees.
                return sock.getsockname()[0].partition("%")[0]
        except OSError as exc:
            error = exc
    return _not_found(url, error)


def _not_found(url, reason):
    LOG.info("No local address towards %s (%s): ordering for a client of "
             "no known address", shown(url), reason)
    return None


def requester_for(address=None, endpoint=None):
    """The ``Requester`` to order for, and whence its address (for the
    user): ``address`` (an ``ipaddress`` address) when given, else the local
    address towards ``endpoint`` when one is given and found, else nobody
    known.
    """
    if address is not None:
        return requester.Requester.at(address), "given"
    if endpoint is None:
        return requester.ANYONE, None
    found = local_address_towards(endpoint)
    if found is None:
        return requester.ANYONE, None
    return (requester.Requester.at(found),
            f"this host's address towards {shown(endpoint)}")


def shown(url):
    """``url``'s host and port, what the address was found towards: no
    path, no credentials.
    """
    try:
        host, port = host_and_port(url)
    except ValueError:
        return repr(url[:60])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
