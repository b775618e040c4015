"""What a location strategy is, and the stable partition two of them share.

A strategy is a pure function over Glance-shaped locations (dicts with ``url``
and ``metadata``). It is registered by name under the entry-point group
``loc_strategy_filter.strategies``; ``build`` validates the strategy's options
once and returns the function that orders a list of locations. A strategy
that declares ``sees_requester`` gets the ``requester.Requester`` too.
"""

import dataclasses
import functools
from typing import Callable
from typing import Sequence

from loc_strategy_filter.errors import ConfigurationError
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.requester import Requester

Locations = Sequence[dict]
#: What ``Strategy.orderer`` returns, for every strategy alike:
#: ``order(locations, requester=ANYONE)``, a new list, best first.
Orderer = Callable[[Locations, Requester], list]


class StrategyError(ConfigurationError):
    """A strategy name or option that cannot be used."""


class UnknownStrategyError(StrategyError):
    """The strategy name is not registered."""

    def __init__(self, name, available):
        self.name = name
        self.available = sorted(available)
        super().__init__(
            f"Unknown location strategy {name!r}; available strategies: "
            f"{', '.join(self.available)}")


class StrategiesNotInstalledError(StrategyError):
    """None of this package's own strategies is registered: its entry points
    are not installed, as when it runs from a source tree.
    """

    def __init__(self, name):
        self.name = name
        super().__init__(
            f"Cannot load location strategy {name!r}: no strategies are "
            "registered, because the entry points of loc-strategy-filter "
            "are not installed (running from a source tree?). Install the "
            "package: 'pip install -e .' in its source tree, or "
            "'pip install loc-strategy-filter'.")


class InvalidOptionError(StrategyError):
    """An option value a strategy cannot accept."""

    def __init__(self, option, value, allowed):
        self.option = option
        self.value = value
        self.allowed = allowed
        super().__init__(
            f"Invalid value {value!r} for option {option}; allowed: {allowed}")


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A named strategy.

    ``options`` are the oslo.config options the strategy reads from the
    ``[<name>_location_strategy]`` group; their names are the keyword
    arguments ``build`` accepts. ``build`` returns ``ordered(locations)``,
    or with ``sees_requester`` ``ordered(locations, requester)``: a
    strategy written before requesters existed keeps working unchanged.
    An ``ordered`` that tells clients apart by network says which in its
    attribute ``client_networks`` (``ipaddress`` networks), so that no
    trusted proxy network is allowed to hold them.
    """

    name: str
    build: Callable[..., Callable]
    options: tuple = ()
    sees_requester: bool = False

    @property
    def config_group(self):
        return f"{self.name}_location_strategy"

    def orderer(self, **options):
        accepted = {opt.dest for opt in self.options}
        unexpected = sorted(set(options) - accepted)
        if unexpected:
            raise InvalidOptionError(
                unexpected[0], options[unexpected[0]],
                f"the options of strategy {self.name!r}: "
                f"{', '.join(sorted(accepted)) or 'none'}")
        ordered = self.build(**options)
        if self.sees_requester:
            @functools.wraps(ordered)
            def order(locations, requester=ANYONE):
                return ordered(locations, requester)
        else:
            def order(locations, requester=ANYONE):
                return ordered(locations)
        # So that the filter finds no requester for a strategy that never
        # looks at one: parsing an address costs a request microseconds.
        order.sees_requester = self.sees_requester
        return order


def preference_list(option, value, canonical=str.casefold):
    """Normalise a preference given as a list or a comma-separated string.

    Names are trimmed and canonicalised; empty and repeated names are dropped,
    so a repeated name can never repeat a location.
    """
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise InvalidOptionError(option, value,
                                 "a list or a comma-separated string")
    names = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidOptionError(option, item, "names (strings)")
        name = canonical(item.strip())
        if name and name not in names:
            names.append(name)
    return names


def stable_partition(rank_of):
    """An orderer sorting locations by ``rank_of(location)``, lowest first.

    Python's sort is stable, so locations of equal rank keep their original
    relative order. Each location's rank is computed once, by ``sorted``.
    """
    # A partial, not a closure: one Python call less per answer's image.
    return functools.partial(sorted, key=rank_of)


def ranker(key_of, preference):
    """``rank_of`` for ``stable_partition``: the position of a location's key
    in ``preference``, and after all of them for keys not listed.
    """
    ranks = {key: rank for rank, key in enumerate(preference)}
    last = len(ranks)

    def rank_of(location):
        return ranks.get(key_of(location), last)

    return rank_of
