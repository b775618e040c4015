"""Image location selection strategies for the Glance image API.

Clients import the same functions the filter uses, so both choose alike::

    from loc_strategy_filter import choose_best_location
    best = choose_best_location(image["locations"], "store_type",
                                store_type_preference="http, file")
"""

from loc_strategy_filter.locations import store_type_of
from loc_strategy_filter.strategies import available_strategies
from loc_strategy_filter.strategies import choose_best_location
from loc_strategy_filter.strategies import get_ordered_locations
from loc_strategy_filter.strategies import InvalidOptionError
from loc_strategy_filter.strategies import StrategyError
from loc_strategy_filter.strategies import UnknownStrategyError

__all__ = [
    "InvalidOptionError", "StrategyError", "UnknownStrategyError",
    "available_strategies", "choose_best_location", "get_ordered_locations",
    "store_type_of",
]
