"""``store_id``: locations grouped by a preferred order of store identifiers.

For multi-store deployments, where each location names its store in
``metadata["store"]`` (the ``enabled_backends`` key in Glance).
"""

from oslo_config import cfg

from loc_strategy_filter.locations import store_id_of
from loc_strategy_filter.strategies.base import preference_list
from loc_strategy_filter.strategies.base import ranker
from loc_strategy_filter.strategies.base import stable_partition
from loc_strategy_filter.strategies.base import Strategy

OPTIONS = (
    cfg.ListOpt(
        "store_id_preference",
        default=[],
        help="""
Store identifiers in the order their image locations are preferred.

With ``location_strategy = store_id``, image locations are grouped by the
store named in their ``metadata["store"]``, in this order. Locations of
stores not listed, and locations naming no store, follow in their original
order. Identifiers are compared case-insensitively; repeats are ignored.

Possible values:
    * A comma-separated list of store identifiers, e.g. ``fast, ceph-east``
      (the keys of Glance's ``[DEFAULT] enabled_backends``).
    * Empty (the default): the original order.

Related options:
    * ``[DEFAULT] location_strategy``
"""),
)


def _build(store_id_preference=()):
    preference = preference_list("store_id_preference", store_id_preference)
    return stable_partition(ranker(store_id_of, preference))


STRATEGY = Strategy(name="store_id", build=_build, options=OPTIONS)
