"""What a store reader is: it opens one location URL for reading.

Readers are registered under the entry-point group
``loc_strategy_filter.readers``; each names the URL schemes it reads and the
oslo.config options it is built from. A reader is built once at start-up,
checks its options' values there, and must refuse, without any I/O, every
location the operator did not allow.
"""

from typing import BinaryIO
from typing import ClassVar
from typing import Iterator
from typing import Optional
from typing import Protocol

from loc_strategy_filter.errors import ConfigurationError
from loc_strategy_filter.errors import LocationStrategyError

#: Bytes a reader reads at a time, unless built with another ``chunk_size``
#: (the http reader reads larger blocks: see ``stores.http.BLOCK_SIZE``).
CHUNK_SIZE = 65536


class ReadRefused(LocationStrategyError):
    """The location may not be read: nothing was opened or connected."""


class ReadFailed(LocationStrategyError):
    """Opening or reading the location failed."""


class WrongObject(ReadFailed):
    """The location holds an object of another size than the bytes asked
    for: a fact about the image's record and the location together, so that
    one image's wrong size never counts against a location other images
    share.
    """


class InvalidReaderOption(ConfigurationError):
    """An option value a reader cannot start with.

    ``reason`` says what is wrong with ``value``, ``allowed`` what the
    option takes; the settings add the option's group and type.
    """

    def __init__(self, option, value, reason, allowed):
        self.option = option
        self.value = value
        self.reason = reason
        self.allowed = allowed
        super().__init__(f"Invalid value {value!r} for option {option}: "
                         f"{reason}; allowed: {allowed}")


class Source(Protocol):
    """An open location, positioned at the first byte asked for."""

    #: The total size of the stored object, when the store tells it.
    size: Optional[int]
    #: The open file, positioned at the first byte asked for, when the
    #: bytes may go out through the server's ``wsgi.file_wrapper``
    #: (sendfile); None when they must be read through ``chunks``.
    file_object: Optional[BinaryIO]
    #: Optional, with ``file_object``: what names the file's bytes, such as
    #: ``fstat``'s device, inode, size, modification and change times. A
    #: whole image goes out by sendfile only once a download verified the
    #: file of that identity (``download.verified_files``); without one,
    #: whole images always stream through the filter and are checked.
    identity: Optional[tuple]

    def chunks(self) -> Iterator[bytes]:
        """The bytes from ``start`` up to ``stop`` (or the end), in chunks.

        Raises ``ReadFailed`` when reading fails part way.
        """

    def close(self) -> None:
        """Release the file or connection; safe to call twice."""


class Reader(Protocol):
    """Opens the locations of the URL schemes it names.

    The class is what the entry point names. It is built with the value of
    each of its ``OPTIONS`` as the keyword argument of the option's name
    (``stores.build_reader`` fills in the defaults), and raises
    ``InvalidReaderOption`` there for a value it cannot use: a reader is
    checked once, at start-up, and never again per request.
    """

    schemes: tuple
    #: The oslo.config options the reader is built from, ``()`` for none;
    #: required (``stores.reader_classes`` refuses a class without it). See
    #: ``options.reader_group`` for the group they are read from.
    OPTIONS: ClassVar[tuple]

    def allows(self, url: str) -> bool:
        """Whether the allow-lists admit ``url``; decided without any I/O,
        so that it can be asked before the upstream has authorised.
        """

    def open(self, url: str, start: int = 0,
             stop: Optional[int] = None) -> Source:
        """``url`` opened at byte ``start``, to read up to byte ``stop``
        (exclusive; None for the end).

        Raises ``ReadRefused`` (no I/O done) or ``ReadFailed``.
        """
