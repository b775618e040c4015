"""Store readers: opening an image location's bytes by its URL scheme.

Readers are registered under the ``loc_strategy_filter.readers`` entry-point
group, so a third party's reader is found exactly like a built-in one. Each
is built once, at start-up, from its options' values.

A reader of your own is a class with ``schemes``, ``allows`` and ``open``
(see ``stores.base.Reader``) and ``OPTIONS``, the oslo.config options its
constructor takes as keyword arguments of the same names (``()`` for none: a
class without it is refused at load); register it as
``name = package.module:Class``. Its options are then listed for
``oslo-config-generator``, read from ``[<name>_store_reader]`` (or the
paste section), and a value it refuses with ``InvalidReaderOption`` stops
the filter from loading, naming the option, the value and what is allowed.
"""

from importlib import metadata

from oslo_config import cfg

from loc_strategy_filter.locations import scheme_of
from loc_strategy_filter import redaction
from loc_strategy_filter.stores.base import CHUNK_SIZE
from loc_strategy_filter.stores.base import InvalidReaderOption
from loc_strategy_filter.stores.base import Reader
from loc_strategy_filter.stores.base import ReadFailed
from loc_strategy_filter.stores.base import ReadRefused
from loc_strategy_filter.stores.base import Source
from loc_strategy_filter.stores.base import WrongObject

ENTRY_POINT_GROUP = "loc_strategy_filter.readers"

__all__ = [
    "CHUNK_SIZE", "ENTRY_POINT_GROUP", "InvalidReaderOption", "ReadFailed",
    "ReadRefused", "Reader", "Source", "WrongObject", "build_reader",
    "by_scheme", "load_readers", "reader_classes", "reader_for",
]


def reader_classes():
    """Each registered reader class by entry-point name, sorted by name.

    A class whose ``OPTIONS`` is missing or not a tuple of oslo.config
    options is a packaging mistake, refused here (``ValueError``) so that
    every caller can read ``reader_class.OPTIONS`` as it is.
    """
    entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    return {entry_point.name: _checked(entry_point)
            for entry_point in sorted(entry_points, key=lambda ep: ep.name)}


def _checked(entry_point):
    reader_class = entry_point.load()
    declared = getattr(reader_class, "OPTIONS", None)
    if not (isinstance(declared, tuple)
            and all(isinstance(opt, cfg.Opt) for opt in declared)):
        raise ValueError(
            f"reader {entry_point.name!r} ({entry_point.value}) declares no "
            "OPTIONS tuple; allowed: a tuple of the oslo.config options it "
            "is built from, () for none")
    return reader_class


def build_reader(reader_class, **values):
    """``reader_class`` built from its options' ``values``; an option not in
    them is at its default, which lives in the option alone.
    """
    for opt in reader_class.OPTIONS:
        if opt.dest not in values:
            values[opt.dest] = (None if opt.default is None
                                else opt.type(opt.default))
    return reader_class(**values)


def by_scheme(readers):
    """``readers`` by the lower-case schemes they read.

    Two readers claiming one scheme is a packaging mistake, so it raises
    ``ValueError`` rather than letting install order pick one.
    """
    schemes = {}
    for reader in readers:
        for scheme in reader.schemes:
            scheme = scheme.lower()
            if scheme in schemes:
                raise ValueError(f"scheme {scheme!r} is read by both "
                                 f"{schemes[scheme]!r} and {reader!r}")
            schemes[scheme] = reader
    return schemes


def load_readers(values=None):
    """Each registered reader, by lower-case scheme, built from ``values``:
    the option values of each reader that are not to be at their defaults,
    by the reader's entry-point name (``{"file": {"file_dirs": [...]}}``).

    The entry for a program that builds readers without oslo.config (the
    filter's settings build them from its configuration): like the filter's
    start-up, it puts the log redaction on urllib3's loggers and ours, which
    log whole URLs, credentials and all.
    """
    values = dict(values or {})
    readers = [build_reader(reader_class, **values.pop(name, {}))
               for name, reader_class in reader_classes().items()]
    if values:
        raise ValueError(f"no reader is registered as {sorted(values)[0]!r}")
    redaction.redact_logs_of(*redaction.FILTERED_LOGGERS)
    return by_scheme(readers)


def reader_for(readers, url):
    """The reader in ``readers`` for ``url``'s scheme (as
    ``locations.scheme_of`` reads it), or None.

    Only the reader is chosen here: whether it may read ``url``, spelled as
    it is, is its own ``allows`` (which refuses surrounding white space).
    """
    return readers.get(scheme_of(url))
