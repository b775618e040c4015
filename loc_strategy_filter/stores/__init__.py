"""Store readers: opening an image location's bytes by its URL scheme.

Readers are registered under the ``loc_strategy_filter.readers`` entry-point
group, so a third party's reader is found exactly like a built-in one. Each
is built once, at start-up, from the operator's ``ReaderConfig``.
"""

from importlib import metadata

from loc_strategy_filter.stores.base import (
    ReadFailed, Reader, ReaderConfig, ReadRefused, Source, WrongObject)

ENTRY_POINT_GROUP = "loc_strategy_filter.readers"

__all__ = [
    "ENTRY_POINT_GROUP", "ReadFailed", "ReadRefused", "Reader",
    "ReaderConfig", "Source", "WrongObject", "load_readers", "reader_for",
]


def load_readers(config):
    """Each registered reader built with ``config``, by lower-case scheme.

    Two readers claiming one scheme is a packaging mistake, so it raises
    ``ValueError`` rather than letting install order pick one.
    """
    readers = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        reader = entry_point.load()(config)
        for scheme in reader.schemes:
            scheme = scheme.lower()
            if scheme in readers:
                raise ValueError(f"scheme {scheme!r} is read by both "
                                 f"{readers[scheme]!r} and {reader!r}")
            readers[scheme] = reader
    return readers


def reader_for(readers, url):
    """The reader in ``readers`` for ``url``'s scheme, or None."""
    if not isinstance(url, str):
        return None
    scheme, sep, _ = url.partition(":")
    return readers.get(scheme.lower()) if sep else None
