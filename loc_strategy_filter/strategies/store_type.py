"""``store_type``: locations grouped by a preferred order of store types."""

from oslo_config import cfg

from loc_strategy_filter.strategies.base import (
    InvalidOptionError, Strategy, preference_list, stable_partition)

# URL schemes of each store type, as glance_store's drivers register them.
STORE_TYPE_SCHEMES = {
    "file": ("file", "filesystem"),
    "http": ("http", "https"),
    "rbd": ("rbd",),
    "swift": ("swift", "swift+http", "swift+https", "swift+config"),
    "s3": ("s3", "s3+http", "s3+https"),
    "cinder": ("cinder",),
    "vmware": ("vsphere",),
}
# Historic Glance names for the same store types.
ALIASES = {"filesystem": "file", "vmware_datastore": "vmware"}

_TYPE_OF_SCHEME = {scheme: store_type
                   for store_type, schemes in STORE_TYPE_SCHEMES.items()
                   for scheme in schemes}
_KNOWN_NAMES = ", ".join(sorted([*STORE_TYPE_SCHEMES, *ALIASES]))

OPTIONS = (
    cfg.ListOpt(
        "store_type_preference",
        default=[],
        help="""
Store types in the order their image locations are preferred.

With ``location_strategy = store_type``, image locations are grouped by the
type of store their URL names, in this order. Locations of types not listed,
and locations whose URL has an unknown scheme or cannot be parsed, follow in
their original order. Names are case-insensitive; repeats are ignored.

Possible values:
    * A comma-separated list of store types: file (alias filesystem), http,
      rbd, swift, s3, cinder, vmware (alias vmware_datastore). A store type
      covers all its URL schemes, e.g. swift covers swift, swift+http,
      swift+https and swift+config.
    * Empty (the default): the original order.

Related options:
    * ``[DEFAULT] location_strategy``
"""),
)


def store_type_of(url):
    """The store type a location URL belongs to, or None if unknown."""
    if not isinstance(url, str):
        return None
    scheme, sep, _ = url.partition(":")
    if not sep:
        return None
    return _TYPE_OF_SCHEME.get(scheme.strip().lower())


def _canonical_store_type(name):
    store_type = ALIASES.get(name.casefold(), name.casefold())
    if store_type and store_type not in STORE_TYPE_SCHEMES:
        raise InvalidOptionError("store_type_preference", name,
                                 f"store types {_KNOWN_NAMES}")
    return store_type


def _build(store_type_preference=()):
    preference = preference_list("store_type_preference",
                                 store_type_preference,
                                 canonical=_canonical_store_type)
    # Rank by scheme directly: this runs for every location of every response.
    rank_of_scheme = {scheme: rank for rank, store_type in enumerate(preference)
                      for scheme in STORE_TYPE_SCHEMES[store_type]}
    last = len(preference)

    def rank_of(location):
        url = location.get("url") if isinstance(location, dict) else None
        if not isinstance(url, str):
            return last
        scheme, sep, _ = url.partition(":")
        return rank_of_scheme.get(scheme.strip().lower(), last) if sep else last

    return stable_partition(rank_of)


STRATEGY = Strategy(name="store_type", build=_build, options=OPTIONS)
