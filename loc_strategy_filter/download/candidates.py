"""Which locations a download reads, in what order: one rule for the filter
and the client. An image not ``active`` has none: the API decides on those.
"""

import dataclasses
import typing

from loc_strategy_filter.locations import shown_locations
from loc_strategy_filter.stores import Reader
from loc_strategy_filter.stores import reader_for


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A location, its reader, and its ``index`` in the image (for logs)."""

    index: int
    location: dict
    reader: Reader

    @property
    def url(self):
        return self.location["url"]


def ranked(image, order):
    """``(index, location)`` pairs in ``order``: the strategy's one run."""
    if image.get("status") != "active":
        return []
    shown = shown_locations(image)
    position = {id(location): index for index, location in enumerate(shown)}
    return [(position.get(id(location)), location)
            for location in order(shown)]


def deprioritised(ranking, recalled):
    """``ranking`` as ``recalled.deprioritised`` (``failures.Recalled``)
    orders it.
    """
    index_of = {id(location): index for index, location in ranking}
    kept = recalled.deprioritised([location for _, location in ranking])
    return [(index_of[id(location)], location) for location in kept]


def readable(ranking, readers):
    """``ranking``'s pairs that ``readers`` allow, as ``Candidate``s."""
    found = []
    for index, location in ranking:
        reader = reader_for(readers, location["url"])
        if reader is not None and reader.allows(location["url"]):
            found.append(Candidate(index, location, reader))
    return found


class Planned(typing.NamedTuple):
    """An image's locations as a download plans to read them."""

    #: ``ranked``'s ``(index, location)`` pairs, in strategy order.
    ranking: list
    #: What the memory of failures recalls of them (``failures.Recalled``).
    recalled: object
    #: The pairs in the order tried: those that failed lately last, those
    #: whose bytes were wrong for this record left out.
    tried: list


def planned(image, order, memory, recorded):
    """How a download of ``image`` (``RecordedBytes`` ``recorded``) reads
    it, in ``order``, given the failures ``memory`` (a
    ``failures.FailureMemory``) holds: one rule for the filter and the
    client.
    """
    ranking = ranked(image, order)
    recalled = memory.recall([location["url"] for _, location in ranking],
                             recorded)
    return Planned(ranking, recalled, deprioritised(ranking, recalled))
