"""Which locations of an image a download reads, and in what order: one
rule for the filter and the client. An image that is not ``active`` has
none: the image API decides whether those may be downloaded at all.
"""

import dataclasses

from loc_strategy_filter.locations import shown_locations
from loc_strategy_filter.stores import Reader, reader_for


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A location to read, with the reader that may read it; ``index`` is
    its place in the image's own list, for logs."""

    index: int
    location: dict
    reader: Reader

    @property
    def url(self):
        return self.location["url"]


def ranked(image, order):
    """``(index, location)`` pairs of the locations ``image`` shows, in the
    strategy's ``order``; none unless the image is active. The strategy runs
    here, once for everything a download derives from its order."""
    if image.get("status") != "active":
        return []
    shown = shown_locations(image)
    position = {id(location): index for index, location in enumerate(shown)}
    return [(position.get(id(location)), location)
            for location in order(shown)]


def deprioritised(ranking, memory, recorded=None):
    """``ranking``'s pairs as a download tries them, by
    ``memory.deprioritised``."""
    index_of = {id(location): index for index, location in ranking}
    kept = memory.deprioritised([location for _, location in ranking],
                                recorded)
    return [(index_of[id(location)], location) for location in kept]


def readable(ranking, readers):
    """The locations of ``ranking``'s pairs that ``readers`` allow, as
    ``Candidate`` objects in its order."""
    found = []
    for index, location in ranking:
        reader = reader_for(readers, location["url"])
        if reader is not None and reader.allows(location["url"]):
            found.append(Candidate(index, location, reader))
    return found


def _tried(image, order, memory, recorded):
    ranking = ranked(image, order)
    return ranking if memory is None else deprioritised(ranking, memory,
                                                        recorded)


def best_location(image, order, memory=None, recorded=None):
    """The location to read first, readable by the filter or not (steering
    has the upstream read it), or None."""
    return next((location for _, location
                 in _tried(image, order, memory, recorded)), None)


def candidates(image, order, readers, memory=None, recorded=None):
    """The ``Candidate`` objects of ``image`` that ``readers`` allow, in
    ``order``, then by ``memory`` (if any) as ``deprioritised`` says."""
    return readable(_tried(image, order, memory, recorded), readers)
