"""Who asks for an image's locations: what a strategy may take into account.

A ``Requester`` is built once per request (by the filter, ``requester_of``)
or given by a client (``client_address="10.1.2.3"``), and handed to the
strategy with the locations. Strategies that do not look at it never see it.

Which address is the client's, and why (``requester_of``):

* The peer (``REMOTE_ADDR``) is the client unless it is one of the
  operator's ``trusted_proxies``. A forwarding header is text any client can
  send, so one that arrives from a peer that is not a trusted proxy is never
  read: otherwise a client would choose its own network, and with it the
  store it is steered to, by writing a header.
* Only the configured header (``client_address_header``) is read, never the
  other kind. A proxy appends to the header it writes and passes every other
  header on as the client wrote it, so the header it does not write holds
  nothing but what the client chose.
* The chain is read from the right, where the trusted proxies appended what
  they saw: each address inside ``trusted_proxies`` is a hop to skip, and the
  first one that is not is the client. Everything left of it was written by
  the client (or by proxies the operator does not trust) and is neither
  believed nor even parsed. When every address is a trusted proxy, the
  leftmost is the client (a request from inside the proxies' own networks).
* A value in the walked part that does not name an address (garbage,
  ``unknown``, an obfuscated ``_identifier``, an empty element, a Forwarded
  element without ``for=``) makes the whole header unusable: the client is
  then the peer, and the reason is logged at debug. A request never fails
  because of this header.
* The work is bounded: elements are found by searching for commas from the
  right, only up to ``MAX_HOPS`` elements are looked at, each at most
  ``MAX_ELEMENT`` characters long. More trusted hops than ``MAX_HOPS`` is
  treated as malformed (no real deployment chains 32 proxies), so a hostile
  header of a megabyte costs what its last few elements cost.
"""

import dataclasses
import ipaddress
import logging
import re
from typing import Optional
from typing import Union

LOG = logging.getLogger(__name__)

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: How many elements of a forwarding chain are looked at, at most.
MAX_HOPS = 32
#: The longest element looked at; a Forwarded element with ``by``, ``host``
#: and ``proto`` fits many times over.
MAX_ELEMENT = 512


def parsed_address(text):
    """The IP address ``text`` spells, an IPv4-mapped IPv6 address
    (``::ffff:10.1.2.3``, as dual-stack servers report IPv4 peers) as the
    IPv4 address it maps; raises ``ValueError`` for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an IP address")
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@dataclasses.dataclass(frozen=True)
class Requester:
    """The consumer an order is for; ``client_address`` is None when it is
    not known (no peer address, or a client that gave none).
    """

    client_address: Optional[Address] = None

    @classmethod
    def at(cls, address):
        """The requester at ``address`` (a string, an address or None)."""
        if address is None:
            return ANYONE
        if isinstance(address, ipaddress.IPv6Address):
            return cls(address.ipv4_mapped or address)
        if isinstance(address, ipaddress.IPv4Address):
            return cls(address)
        return cls(parsed_address(address))


#: The requester nobody is known to be: what a client without an address,
#: and a strategy called the old way, order for.
ANYONE = Requester()


class _Malformed(ValueError):
    """A forwarding chain that names no usable address where it is read."""


def requester_of(environ, trusted_proxies=None, header="x-forwarded-for"):
    """The ``Requester`` a WSGI request is from.

    The client is the peer (``REMOTE_ADDR``; None when it is missing or not
    an address), or, when the peer is inside one of ``trusted_proxies``, the
    rightmost address of the ``header`` chain (``x-forwarded-for`` or
    ``forwarded``, any case) that is not inside them; the leftmost when all
    are.

    Security: a header from a peer that is not a trusted proxy is ignored,
    since any client can write one; only the configured header is read,
    since a proxy passes on unchanged the one it does not write; what is
    left of the client's address is the client's own text and is not
    parsed. A chain malformed where it is read, or with more than
    ``MAX_HOPS`` trusted hops, is ignored (logged at debug): the client is
    then the peer, never an error. More in the module docstring.
    """
    read_chain = _CHAIN_READERS.get(str(header).lower())
    if read_chain is None:
        raise ValueError(f"client_address_header {header!r} is not one of "
                         f"{', '.join(sorted(_CHAIN_READERS))}")
    peer = _peer_address(environ)
    if not trusted_proxies or peer is None or not _is_trusted(
            peer, trusted_proxies):
        return Requester(peer)
    key, address_of = read_chain
    value = environ.get(key)
    if not isinstance(value, str) or not value or value.isspace():
        return Requester(peer)
    try:
        return Requester(_client_in_chain(value, address_of, trusted_proxies))
    except _Malformed as error:
        LOG.debug("Ignoring the %s header from trusted proxy %s: %s",
                  header, peer, error)
        return Requester(peer)


def _peer_address(environ):
    """``REMOTE_ADDR`` as an address, None when missing or malformed."""
    try:
        return parsed_address(environ.get("REMOTE_ADDR"))
    except ValueError:
        return None


def _is_trusted(address, trusted_proxies):
    # An IPv4 address is in no IPv6 network and vice versa (no TypeError).
    return any(address in network for network in trusted_proxies)


def _client_in_chain(value, address_of, trusted_proxies):
    """The rightmost address in ``value`` not inside ``trusted_proxies``,
    the leftmost when all are; ``address_of`` parses one element.
    """
    leftmost = None
    for element in _elements_from_right(value):
        address = address_of(element)
        if not _is_trusted(address, trusted_proxies):
            return address
        leftmost = address
    return leftmost


def _elements_from_right(value):
    """The comma-separated elements of ``value`` without surrounding
    whitespace, right to left, at most ``MAX_HOPS`` of them; raises
    ``_Malformed`` when there are more, or for an empty or overlong one.

    Only the part of ``value`` walked is ever scanned: an element is found
    with ``rfind``, not by splitting the whole header.
    """
    end = len(value)
    for _ in range(MAX_HOPS):
        start = value.rfind(",", 0, end) + 1
        if end - start > MAX_ELEMENT:
            raise _Malformed(f"an element longer than {MAX_ELEMENT} "
                             "characters")
        element = value[start:end].strip(" \t")
        if not element:
            raise _Malformed("an empty element")
        yield element
        if start == 0:
            return
        end = start - 1
    raise _Malformed(f"more than {MAX_HOPS} trusted hops")


# X-Forwarded-For, as proxies write it: an address, optionally with a port,
# an IPv6 address optionally in brackets (with a port only in brackets).
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?\Z")
_IPV4_PORT = re.compile(r"([0-9.]+):([0-9]{1,5})\Z")
_BARE = re.compile(r"[0-9A-Fa-f:.]+\Z")


def _x_forwarded_for_address(element):
    """The address one X-Forwarded-For element names."""
    match = _BRACKETED.match(element)
    if match:
        return _address(match.group(1), match.group(2), version=6)
    match = _IPV4_PORT.match(element)
    if match:
        return _address(match.group(1), match.group(2), version=4)
    if _BARE.match(element):
        return _address(element, None)
    raise _Malformed(f"{_shown(element)} is not an address")


# Forwarded (RFC 7239 section 4): pairs separated by ";", a value a token
# or a quoted-string. Whitespace around ";" is accepted (some proxies write
# it), not around "=". A quoted-string containing a comma is split at the
# comma like any other text and so yields an element that does not match:
# malformed, never a smuggled element (the elements walked are the ones the
# trusted proxies appended, and none of them writes such a value).
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = (r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]'
           r'|\\[\t\x20-\x7e\x80-\xff])*"')
_PAIR = re.compile(
    rf"[ \t]*(?:({_TOKEN})=({_TOKEN}|{_QUOTED}))?[ \t]*(?:;|(\Z))")
_QUOTED_PAIR = re.compile(r"\\(.)")
# RFC 7239 section 6: node = nodename [ ":" node-port ]; an IPv6 nodename
# in brackets. "unknown" and obfuscated nodenames name no address and do
# not match; an obfuscated port next to a real address is harmless.
_NODE = re.compile(
    r"(?:([0-9.]+)|\[([0-9A-Fa-f:.]+)\])(?::([0-9]{1,5}|_[A-Za-z0-9._-]+))?\Z")


def _forwarded_address(element):
    """The address the ``for=`` parameter of one Forwarded element names."""
    nodes = [value for name, value in _forwarded_pairs(element)
             if name.lower() == "for"]
    if len(nodes) != 1:
        raise _Malformed(f"{_shown(element)} has {len(nodes)} for= "
                         "parameters, not one")
    node = nodes[0]
    if node.startswith('"'):
        node = _QUOTED_PAIR.sub(r"\1", node[1:-1])
    match = _NODE.match(node)
    if not match:
        raise _Malformed(f"for={_shown(node)} is not an address")
    ipv4, ipv6, port = match.groups()
    if ipv4 is not None:
        return _address(ipv4, port, version=4)
    return _address(ipv6, port, version=6)


def _forwarded_pairs(element):
    """The ``(name, value)`` pairs of one Forwarded element, a quoted value
    still quoted.
    """
    pairs = []
    position = 0
    while True:
        match = _PAIR.match(element, position)
        if not match:
            raise _Malformed(f"{_shown(element)} is not a Forwarded element")
        if match.group(1) is not None:
            pairs.append((match.group(1), match.group(2)))
        if match.group(3) is not None:
            return pairs
        position = match.end()


def _address(text, port, version=None):
    """The address ``text`` names, of IP ``version`` when given (before
    an IPv4-mapped address becomes IPv4), with a valid ``port``.
    """
    if port is not None and not port.startswith("_") and int(port) > 65535:
        raise _Malformed(f"port {port} is out of range")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _Malformed(f"{_shown(text)} is not an address") from None
    if version is not None and address.version != version:
        raise _Malformed(f"{_shown(text)} is not an IPv{version} address")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _shown(text):
    """``text`` as a log message may quote it: short, escaped."""
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


#: What each ``client_address_header`` is read from, and how an element is
#: parsed.
_CHAIN_READERS = {
    "x-forwarded-for": ("HTTP_X_FORWARDED_FOR", _x_forwarded_for_address),
    "forwarded": ("HTTP_FORWARDED", _forwarded_address),
}
