"""``client_network``: locations ordered for the network the client is in.

For edge and distributed-compute (DCN) Glance: each site has a store of its
own, and the computes of a site should read their own site's copy, not fetch
the image across the WAN. Operators map each client network to the stores its
clients prefer; the most specific network holding the client's address wins,
and a client in no listed network, or of no known address, gets the default
preference. The networks are looked up by prefix, so a thousand of them cost
what one does.
"""

import ipaddress
import re

from oslo_config import cfg

from loc_strategy_filter.locations import store_id_of
from loc_strategy_filter.locations import store_type_named
from loc_strategy_filter.locations import STORE_TYPE_NAMES
from loc_strategy_filter.locations import store_type_of
from loc_strategy_filter.locations import url_of
from loc_strategy_filter.strategies.base import InvalidOptionError
from loc_strategy_filter.strategies.base import preference_list
from loc_strategy_filter.strategies.base import ranker
from loc_strategy_filter.strategies.base import stable_partition
from loc_strategy_filter.strategies.base import Strategy

PREFER_BY = ("store_id", "store_type")

_ENTRY_SEPARATOR = re.compile(r"[;\n]")
_NAME_SEPARATOR = re.compile(r"[\s,]+")
_ENTRY_SYNTAX = ("entries 'NETWORK: NAME [NAME ...]' separated by ';' or "
                 "newlines, e.g. '10.1.0.0/16: edge1 central'")
# Requester gives a client at ::ffff:10.1.2.3 as 10.1.2.3: such a network
# could never match.
_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")

OPTIONS = (
    cfg.StrOpt(
        "network_preferences",
        default="",
        help="""
Client networks, each with the stores its clients prefer, best first.

With ``location_strategy = client_network``, an image's locations are ordered
for the client that asks: the most specific network listed here that holds
the client's address (the longest prefix) gives the order of its stores.
Locations of stores it does not name follow, in their original order. A
client in no listed network, or whose address is not known, gets
``default_preference``. Store names are compared case-insensitively; repeats
are ignored.

Possible values:
    * Entries ``NETWORK: NAME [NAME ...]`` separated by ``;`` or newlines
      (indented continuation lines); names separated by whitespace or
      commas; IPv4 and IPv6 networks without host bits, each listed once.
      For example ``10.1.0.0/16: edge1 central; fd00:1::/48: edge1 central``.
    * Names are store identifiers (``metadata["store"]``, the keys of
      Glance's ``enabled_backends``), or store types with
      ``prefer_by = store_type``.
    * Empty (the default): every client gets ``default_preference``.

Related options:
    * ``[DEFAULT] location_strategy``
    * ``default_preference``
    * ``prefer_by``
    * ``[location_strategy_filter] trusted_proxies``
"""),
    cfg.StrOpt(
        "default_preference",
        default="",
        help="""
The stores preferred by clients in none of the ``network_preferences``.

Also the order for a client whose address is not known (a library caller
that gave none). Locations of stores not named follow, in their original
order. Names are compared case-insensitively; repeats are ignored.

Possible values:
    * Store names separated by whitespace or commas, e.g. ``central``:
      store identifiers, or store types with ``prefer_by = store_type``.
    * Empty (the default): the image's own location order.

Related options:
    * ``network_preferences``
    * ``prefer_by``
"""),
    cfg.StrOpt(
        "prefer_by",
        default="store_id",
        choices=PREFER_BY,
        help="""
What the store names of the ``client_network`` strategy name.

Possible values:
    * store_id (the default): store identifiers, as each location names its
      store in ``metadata["store"]`` (a multi-store Glance).
    * store_type: store types, by each location's URL scheme: file (alias
      filesystem), http, rbd, swift, s3, cinder, vmware (alias
      vmware_datastore).

Related options:
    * ``network_preferences``
    * ``default_preference``
"""),
)


def _store_type_of_location(location):
    return store_type_of(url_of(location))


def _store_id_names(option):
    return str.casefold


def _store_type_names(option):
    def canonical(name):
        store_type = store_type_named(name)
        if name and store_type is None:
            raise InvalidOptionError(
                option, name, f"store types {', '.join(STORE_TYPE_NAMES)}")
        return store_type

    return canonical


#: ``prefer_by``: what a location is ranked by, and the canonical name of a
#: store for ``option``.
_RANKINGS = {
    "store_id": (store_id_of, _store_id_names),
    "store_type": (_store_type_of_location, _store_type_names),
}


def _names(option, value, canonical):
    """A preference given as names separated by whitespace or commas."""
    if isinstance(value, str):
        value = _NAME_SEPARATOR.split(value)
    return preference_list(option, value, canonical)


def _network(entry, text):
    """The network ``text`` spells, its IPv6 scope dropped (it cannot
    change which addresses are inside).
    """
    try:
        network = ipaddress.ip_network(text.strip())
    except ValueError:
        raise InvalidOptionError("network_preferences", entry,
                                 _network_allowed(text)) from None
    if network.version == 6 and network.subnet_of(_IPV4_MAPPED):
        raise InvalidOptionError(
            "network_preferences", entry,
            "IPv4 networks written as IPv4 (a client at an IPv4-mapped "
            "address is matched as IPv4)")
    return type(network)((int(network.network_address), network.prefixlen))


def _network_allowed(text):
    """What to write instead of the network ``text``."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return ("IP networks such as 10.1.0.0/16 or fd00:1::/48, in "
                + _ENTRY_SYNTAX)
    return f"networks without host bits set, such as {network}"


def _network_preferences(value, canonical):
    """``{network: names}`` from the ``network_preferences`` text."""
    if value is None:
        return {}
    if not isinstance(value, str):
        raise InvalidOptionError("network_preferences", value, _ENTRY_SYNTAX)
    preferences = {}
    for entry in _ENTRY_SEPARATOR.split(value):
        entry = entry.strip()
        if not entry:
            continue
        # Store ids never hold a colon (enabled_backends is id:type), store
        # types neither, so the last one ends an IPv6 network.
        text, colon, names = entry.rpartition(":")
        if not colon:
            raise InvalidOptionError("network_preferences", entry,
                                     _ENTRY_SYNTAX)
        network = _network(entry, text)
        if network in preferences:
            raise InvalidOptionError(
                "network_preferences", entry,
                f"each network once ({network} is listed twice)")
        preferences[network] = _names("network_preferences", names, canonical)
        if not preferences[network]:
            raise InvalidOptionError(
                "network_preferences", entry,
                f"at least one store name, in {_ENTRY_SYNTAX}")
    return preferences


def _longest_prefix_match(values):
    """``match(address)``: the value of the most specific of the networks
    ``values`` maps that holds ``address``, or None.

    One dict lookup per prefix length present (at most 33 for IPv4, 129 for
    IPv6), however many networks: each length's networks are keyed by their
    address, and the address masked to that length is looked up.
    """
    by_length = {4: {}, 6: {}}
    for network, value in values.items():
        table = by_length[network.version].setdefault(
            (network.prefixlen, int(network.netmask)), {})
        table[int(network.network_address)] = value
    searches = {version: [(mask, table) for (_, mask), table
                          in sorted(tables.items(), reverse=True)]
                for version, tables in by_length.items()}

    def match(address):
        bits = int(address)
        for mask, table in searches[address.version]:
            value = table.get(bits & mask)
            if value is not None:
                return value
        return None

    return match


def _orderer(key_of, preference):
    if not preference:
        return list
    return stable_partition(ranker(key_of, preference))


def _build(network_preferences="", default_preference="",
           prefer_by="store_id"):
    if not isinstance(prefer_by, str) or prefer_by not in _RANKINGS:
        raise InvalidOptionError("prefer_by", prefer_by, ", ".join(PREFER_BY))
    key_of, names_for = _RANKINGS[prefer_by]
    preferences = _network_preferences(network_preferences,
                                       names_for("network_preferences"))
    match = _longest_prefix_match(
        {network: _orderer(key_of, names)
         for network, names in preferences.items()})
    default = _orderer(key_of, _names("default_preference", default_preference,
                                      names_for("default_preference")))

    def ordered(locations, requester):
        address = requester.client_address
        orderer = match(address) if address is not None else None
        return (orderer or default)(locations)

    # For the start-up check that no trusted proxy network holds clients.
    ordered.client_networks = tuple(preferences)
    return ordered


STRATEGY = Strategy(name="client_network", build=_build, options=OPTIONS,
                    sees_requester=True)
