"""``location_order``: the order the image owner or admin gave."""

from loc_strategy_filter.strategies.base import Strategy


def _build():
    return list


STRATEGY = Strategy(name="location_order", build=_build)
