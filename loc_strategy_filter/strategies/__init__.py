"""Ordering image locations by a named strategy.

The facade clients and the filter share: ``get_ordered_locations`` and
``choose_best_location`` look a strategy up by name among those registered
under the ``loc_strategy_filter.strategies`` entry-point group, so a third
party's strategy is selected exactly like a built-in one.
"""

import functools
from importlib import metadata

from loc_strategy_filter.requester import Requester
from loc_strategy_filter.strategies.base import InvalidOptionError
from loc_strategy_filter.strategies.base import StrategiesNotInstalledError
from loc_strategy_filter.strategies.base import Strategy
from loc_strategy_filter.strategies.base import StrategyError
from loc_strategy_filter.strategies.base import UnknownStrategyError

ENTRY_POINT_GROUP = "loc_strategy_filter.strategies"
DEFAULT_STRATEGY = "location_order"

__all__ = [
    "DEFAULT_STRATEGY", "ENTRY_POINT_GROUP", "InvalidOptionError",
    "StrategiesNotInstalledError", "Strategy", "StrategyError",
    "UnknownStrategyError", "available_strategies",
    "choose_best_location", "get_ordered_locations", "load_strategy",
]


@functools.lru_cache(maxsize=None)
def _registry():
    return {ep.name: ep
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_strategies():
    """The names of all registered strategies, sorted."""
    return sorted(_registry())


def load_strategy(name):
    """The registered ``Strategy`` called ``name``."""
    try:
        entry_point = _registry()[name]
    except (KeyError, TypeError):
        # Without the built-in default, no list of names would help.
        if DEFAULT_STRATEGY not in _registry():
            raise StrategiesNotInstalledError(name) from None
        raise UnknownStrategyError(name, _registry()) from None
    return entry_point.load()


def get_ordered_locations(locations, strategy=DEFAULT_STRATEGY, *,
                          client_address=None, **options):
    """A new list of ``locations``, best first; the input is not changed.

    ``client_address`` (``"10.1.2.3"``) is the consumer's IP address, for a
    strategy that orders by who asks (``client_network``): the order the
    filter gives a request from that address.
    """
    requester = Requester.at(client_address)
    return load_strategy(strategy).orderer(**options)(locations, requester)


def choose_best_location(locations, strategy=DEFAULT_STRATEGY, *,
                         client_address=None, **options):
    """The best of ``locations`` (the dict itself), or None if none."""
    ordered = get_ordered_locations(locations, strategy,
                                    client_address=client_address, **options)
    return ordered[0] if ordered else None
