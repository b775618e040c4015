"""What a store reader is: it opens one location URL for reading.

Readers are registered under the entry-point group
``loc_strategy_filter.readers``; each names the URL schemes it reads. A
reader is built once at start-up from ``ReaderConfig`` and must refuse, without
any I/O, every location the operator did not allow.
"""

import dataclasses
from typing import BinaryIO, Iterator, Optional, Protocol


class ReadRefused(Exception):
    """The location may not be read: nothing was opened or connected."""


class ReadFailed(Exception):
    """Opening or reading the location failed."""


class WrongObject(ReadFailed):
    """The location holds an object of another size than the bytes asked
    for: a fact about the image's record and the location together, so that
    one image's wrong size never counts against a location other images
    share."""


@dataclasses.dataclass(frozen=True)
class ReaderConfig:
    """What the operator allows readers to read, and how long to wait."""

    file_dirs: tuple = ()
    http_allowed_hosts: tuple = ()
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 30.0
    http_header_timeout: float = 60.0
    http_min_rate: int = 1024
    http_rate_window: float = 30.0
    http_max_redirects: int = 3
    chunk_size: int = 65536


class Source(Protocol):
    """An open location, positioned at the first byte asked for."""

    #: The total size of the stored object, when the store tells it.
    size: Optional[int]
    #: The open file, positioned at the first byte asked for, when the
    #: bytes may go out through the server's ``wsgi.file_wrapper``
    #: (sendfile); None when they must be read through ``chunks``.
    file_object: Optional[BinaryIO]

    def chunks(self) -> Iterator[bytes]:
        """The bytes from ``start`` up to ``stop`` (or the end), in chunks.

        Raises ``ReadFailed`` when reading fails part way.
        """

    def close(self) -> None:
        """Release the file or connection; safe to call twice."""


class Reader(Protocol):
    """Opens the locations of the URL schemes it names."""

    schemes: tuple

    def allows(self, url: str) -> bool:
        """Whether the allow-lists admit ``url``; decided without any I/O,
        so that it can be asked before the upstream has authorised."""

    def open(self, url: str, start: int = 0,
             stop: Optional[int] = None) -> Source:
        """``url`` opened at byte ``start``, to read up to byte ``stop``
        (exclusive; None for the end).

        Raises ``ReadRefused`` (no I/O done) or ``ReadFailed``.
        """
