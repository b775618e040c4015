"""Which hosts a location URL may reach, decided on one canonical spelling.

An allow-list compared as text is bypassed by respelling an address:
``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``[::ffff:127.0.0.1]`` all
reach 127.0.0.1. So every host is first reduced to one canonical form, the
same form the reader then connects to, and the allow-list compares those.

An entry allows the one address it names, in every spelling, and no other.
Loopback is not one host: ``127.0.0.1`` allows neither ``127.0.0.2`` nor
``::1``, because a service may listen on one loopback address alone, and
the unspecified addresses (``0.0.0.0``, ``::``, which reach this machine on
Linux) are allowed only where an entry names them. An IPv4-mapped IPv6
address is its IPv4 address, which is what a connection to it reaches.
Names are compared by name, never resolved: an allowed name is trusted to
resolve where the operator means it to.

No error message here quotes the text it was given: that text may be part
of a location URL, and a mis-split URL puts its userinfo where the host
should be. An allow-list entry, which is configuration, is named.
"""

import ipaddress
import re

_LABEL = re.compile(r"[a-z0-9_-]{1,63}\Z")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)\Z")
_HEX = re.compile(r"0x[0-9a-f]+\Z")
_OCTAL = re.compile(r"0[0-7]*\Z")
_DECIMAL = re.compile(r"[1-9][0-9]*\Z")


def canonical_host(host):
    """``host`` in its one canonical spelling.

    An IP address in any form a resolver accepts (decimal, hex, octal, short,
    bracketed IPv6, IPv4-mapped IPv6) becomes its standard form (IPv6
    without brackets); a name is lower-cased without its trailing dot.
    Raises ``ValueError`` for anything else, such as a zone id or a name
    whose last label is a number that is not a valid IPv4 address.
    """
    if not isinstance(host, str) or not host.isascii():
        raise ValueError("not a host name or IP address")
    if host.startswith("[") and host.endswith("]"):
        return _canonical_ipv6(host[1:-1])
    if ":" in host:
        return _canonical_ipv6(host)
    name = host.lower()
    if name.endswith("."):
        name = name[:-1]
    labels = name.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        return str(_parse_ipv4(labels))
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("not a host name or IP address")
    return name


def _canonical_ipv6(text):
    if "%" in text:
        raise ValueError("zone ids are not allowed")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise ValueError("not an IPv6 address") from None
    return str(address.ipv4_mapped or address)


def _parse_ipv4(parts):
    """The address a C resolver's ``inet_aton`` reads from ``parts``.

    One to four numbers, each decimal, ``0x`` hex or leading-zero octal; the
    last fills all the bytes the earlier ones did not.
    """
    try:
        numbers = [_ipv4_number(part) for part in parts]
    except ValueError:
        raise ValueError("not an IPv4 address") from None
    last_bits = 8 * (5 - len(numbers))
    if (len(numbers) > 4 or any(n > 255 for n in numbers[:-1])
            or numbers[-1] >= 1 << last_bits):
        raise ValueError("not an IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (24 - 8 * index)
    return ipaddress.IPv4Address(value)


def _ipv4_number(part):
    if _HEX.match(part):
        return int(part[2:], 16)
    if _OCTAL.match(part):
        return int(part, 8)
    if _DECIMAL.match(part):
        return int(part)
    raise ValueError("not a number")


class HostAllowList:
    """The hosts, and optionally ports, an HTTP reader may connect to.

    Entries are ``host`` (any port) or ``host:port``; IPv6 as ``[addr]``,
    ``[addr]:port`` or a bare ``addr``. A malformed entry raises
    ``ValueError`` here, at start-up, rather than silently allowing nothing.
    """

    def __init__(self, entries):
        self._allowed = frozenset(_parse_entry(entry) for entry in entries)

    def allows(self, host, port):
        """Whether ``host`` (in any spelling) may be reached on ``port``."""
        try:
            canonical = canonical_host(host)
        except ValueError:
            return False
        return ((canonical, None) in self._allowed
                or (canonical, port) in self._allowed)


def split_host_port(text):
    """``text`` as ``(host, port)``, the port an int or None when absent.

    IPv6 is written ``[addr]`` or ``[addr]:port``; a bare IPv6 address
    (more than one colon) has no port. Raises ``ValueError`` for a port
    that is not a number from 1 to 65535.
    """
    if text.startswith("["):
        host, bracket, rest = text.partition("]")
        host += bracket
        port = rest[1:] if rest.startswith(":") else rest or None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, None
    if port is None:
        return host, None
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError("port not a number from 1 to 65535")
    return host, int(port)


def _parse_entry(entry):
    try:
        host, port = split_host_port(entry.strip())
        return canonical_host(host), port
    except ValueError as exc:
        raise ValueError(f"{entry!r}: {exc}") from None
