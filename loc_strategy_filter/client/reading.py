"""An image's bytes as the client reads them: from its locations, failing
over, then from the image API at the byte they reached, verified; and who
sent them.
"""

import dataclasses
from typing import Optional
import weakref

from loc_strategy_filter.download.verify import Verified
from loc_strategy_filter.errors import DownloadFailed
from loc_strategy_filter.locations import describe
from loc_strategy_filter.stores import ReadFailed


@dataclasses.dataclass(frozen=True)
class Served:
    """Who sent an image's bytes."""

    #: The image's size in bytes.
    size: int
    #: The location that sent the bytes (the last one, after failing
    #: over) and its index in the image's locations; None when the image
    #: API sent them all.
    location: Optional[dict] = dataclasses.field(default=None, repr=False)
    index: Optional[int] = None
    #: How many locations failed part way and gave way to the next.
    failovers: int = 0
    #: The byte the image API took over at (0: it sent every byte); None
    #: when it sent none.
    image_api_from: Optional[int] = None

    def __str__(self):
        """``location 0 (http store, http://mirror/x)``, ``... up to byte
        1024, then the image API from byte 1024``, or ``the image API``;
        URLs redacted.
        """
        if self.location is None:
            return "the image API"
        said = describe(self.index, self.location)
        if self.image_api_from is None:
            return said
        return (f"{said} up to byte {self.image_api_from}, then the image "
                f"API from byte {self.image_api_from}")


class ImageStream:
    """An image's verified bytes, in chunks: iterate once, then ``served``
    says who sent them. The last chunk comes only once the size and
    checksums match; wrong bytes raise ``VerificationFailed`` instead. A
    context manager: leaving it closes the connections and files.
    """

    def __init__(self, recorded, located=None, image_api=None):
        """Bytes from ``located`` (a ``FailoverStream`` already opened, with
        the image API as its continuation or not), else from ``image_api``
        (an open source of the whole image).
        """
        self._recorded = recorded
        self._located = located
        chunks = located if located is not None else _api_chunks(image_api)
        verified = Verified(
            chunks, recorded,
            on_mismatch=None if located is None else located.wrong_bytes)
        self._chunks = iter(verified)
        # A stream dropped unread still lets go of its file or connection.
        self._close = weakref.finalize(self, _closed, verified, image_api)

    @property
    def size(self):
        return self._recorded.size

    @property
    def served(self):
        """Who sent the bytes so far (all of them, once iterated)."""
        located = self._located
        if located is None or located.continued_from == 0:
            return Served(self.size, image_api_from=0)
        first = located.served_by
        return Served(self.size, first.location, first.index,
                      located.failovers, located.continued_from)

    def __iter__(self):
        return self._chunks

    def close(self):
        self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _closed(verified, image_api):
    try:
        verified.close()
    finally:
        if image_api is not None:
            image_api.close()


def _api_chunks(source):
    try:
        yield from source.chunks()
    except ReadFailed as exc:
        raise DownloadFailed(str(exc)) from None
