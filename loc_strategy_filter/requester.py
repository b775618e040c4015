"""Who asks for an image's locations: what a strategy may take into account.

A ``Requester`` is built once per request (by the filter) or given by a
client (``client_address="10.1.2.3"``), and handed to the strategy with the
locations. Strategies that do not look at it never see it.
"""

import dataclasses
import ipaddress
from typing import Optional, Union

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def parsed_address(text):
    """The IP address ``text`` spells, an IPv4-mapped IPv6 address
    (``::ffff:10.1.2.3``, as dual-stack servers report IPv4 peers) as the
    IPv4 address it maps; raises ``ValueError`` for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an IP address")
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@dataclasses.dataclass(frozen=True)
class Requester:
    """The consumer an order is for; ``client_address`` is None when it is
    not known (no peer address, or a client that gave none)."""

    client_address: Optional[Address] = None

    @classmethod
    def at(cls, address):
        """The requester at ``address`` (a string, an address or None)."""
        if address is None or isinstance(address, (ipaddress.IPv4Address,
                                                   ipaddress.IPv6Address)):
            return cls(address)
        return cls(parsed_address(address))


#: The requester nobody is known to be: what a client without an address,
#: and a strategy called the old way, order for.
ANYONE = Requester()
