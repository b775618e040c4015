"""``store_type``: locations grouped by a preferred order of store types."""

from oslo_config import cfg

from loc_strategy_filter.locations import scheme_of_location
from loc_strategy_filter.locations import store_type_named
from loc_strategy_filter.locations import STORE_TYPE_NAMES
from loc_strategy_filter.locations import STORE_TYPE_SCHEMES
from loc_strategy_filter.strategies.base import InvalidOptionError
from loc_strategy_filter.strategies.base import preference_list
from loc_strategy_filter.strategies.base import stable_partition
from loc_strategy_filter.strategies.base import Strategy

_KNOWN_NAMES = ", ".join(STORE_TYPE_NAMES)

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


def _canonical_store_type(name):
    store_type = store_type_named(name)
    if name and store_type is None:
        raise InvalidOptionError("store_type_preference", name,
                                 f"store types {_KNOWN_NAMES}")
    return store_type


def _build(store_type_preference=()):
    preference = preference_list("store_type_preference",
                                 store_type_preference,
                                 canonical=_canonical_store_type)
    # Rank by scheme directly: this runs for every location of every response.
    rank_of_scheme = {scheme: rank
                      for rank, store_type in enumerate(preference)
                      for scheme in STORE_TYPE_SCHEMES[store_type]}
    last = len(preference)

    def rank_of(location):
        return rank_of_scheme.get(scheme_of_location(location), last)

    return stable_partition(rank_of)


STRATEGY = Strategy(name="store_type", build=_build, options=OPTIONS)
