"""The fast way to read and write image JSON bodies: orjson, when installed.

orjson (the ``fast-json`` extra) reads a 200-image list in a third of the
time the standard library's ``json`` takes, and writes it in a tenth. It
is only a shortcut: ``rewrite`` reads a body with the standard library
whenever this module gives no document, and writes one with it whenever
this module gives no bytes, so that every body has the outcome the
standard library gives it. Only the format of a body the filter wrote
changes: orjson writes compact UTF-8, the standard library ASCII with
spaces after ``:`` and ``,``.
"""

import sys

try:
    import orjson
except ImportError:  # the standard library does it all
    orjson = None

#: How orjson writes a ``locations`` key. As with the standard library's
#: ``'"locations": '``, a string it writes never holds this unescaped: an
#: unescaped quote followed by a colon ends a key.
LOCATIONS_KEY = b'"locations":'
# orjson.dumps refuses a document nested deeper than this; a document it
# wrote is nested no deeper.
_WRITTEN_DEPTH = 254
# Frames the standard library's decoder may need beyond one per level.
_FRAME_MARGIN = 50
# Each byte a number may follow (a separator or whitespace) as ``_AFTER``,
# each byte of a number's integer part (a digit or the minus sign) as
# ``_DIGIT``, every other byte as ``_OTHER``.
_AFTER, _DIGIT, _OTHER = b":", b"0", b"."
_NUMBER_BYTES = bytes(
    _AFTER[0] if byte in b":,[ \t\n\r" else
    _DIGIT[0] if byte in b"-0123456789" else _OTHER[0]
    for byte in range(256))
# orjson reads an integer beyond 64 bits as a float, the standard library
# as an int; such an integer has 19 digits or more.
_LONG_NUMBER = _DIGIT * 19


def available():
    """True when orjson is installed and used."""
    return orjson is not None


def document_of(body):
    """The document the standard library would read from ``body``, read by
    orjson; None when orjson is not installed, or cannot promise that.

    orjson refuses what the standard library refuses (NaN, Infinity,
    invalid UTF-8, trailing data), and more: a number beyond a float's
    range, a lone surrogate, UTF-16 and UTF-32, a byte-order mark, nesting
    deeper than 1024. Those go to the standard library, and so do two
    bodies orjson reads otherwise: one with a long integer, read as a
    float, and one nested deeper than the standard library can read from
    here (its limit is the recursion limit).
    """
    if orjson is None or _may_hold_a_long_integer(body):
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not _readable_by_the_standard_library(document):
        return None
    return document


def bytes_of(document):
    """``document`` written by orjson; None when orjson is not installed or
    cannot write it (an integer beyond 64 bits, nesting deeper than 254,
    a key that is not a string, a type JSON has not, a cycle).
    """
    if orjson is None:
        return None
    try:
        return orjson.dumps(document, default=_refuse, option=_PASSTHROUGH)
    except orjson.JSONEncodeError:
        return None


# What orjson would write otherwise, and the standard library writes in a
# way of its own or refuses: it goes to ``_refuse``, and so to the standard
# library.
_PASSTHROUGH = 0 if orjson is None else (orjson.OPT_PASSTHROUGH_DATACLASS
                                         | orjson.OPT_PASSTHROUGH_DATETIME
                                         | orjson.OPT_PASSTHROUGH_SUBCLASS)


def _refuse(value):
    raise TypeError(f"{type(value).__name__} is left to the standard library")


def _may_hold_a_long_integer(body):
    """True when ``body`` may hold an integer of 19 digits or more: digits
    after a separator (or at the start), not those of a hex string.
    """
    numbers = body.translate(_NUMBER_BYTES)
    # The first search is the fast one: "0" is rarer than ":".
    return _LONG_NUMBER in numbers and (_AFTER + _LONG_NUMBER in numbers
                                        or numbers.startswith(_LONG_NUMBER))


def _readable_by_the_standard_library(document):
    """True when the standard library reads ``document`` here as well:
    orjson writes it (so it is nested no deeper than 254), and the
    recursion limit leaves that many levels to the decoder.
    """
    if sys.getrecursionlimit() - _stack_depth() <= (_WRITTEN_DEPTH
                                                    + _FRAME_MARGIN):
        return False
    try:
        orjson.dumps(document)
    except orjson.JSONEncodeError:
        return False
    return True


def _stack_depth():
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth
