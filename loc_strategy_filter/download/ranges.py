"""Which bytes a download asks for: its ``Range`` header, read against the
image's size (RFC 9110, section 14).

The answer says how to respond: the whole image (200), one range (206),
nothing (416), or several ranges, which are left to the upstream. A header
that cannot be parsed, or counts in a unit other than bytes, is ignored and
the whole image is sent, as the RFC allows.
"""

import dataclasses
import re

_OWS = " \t"
# [0-9], not \d: str.isdigit() and \d also accept non-ASCII digits.
_RANGE_SPEC = re.compile(r"([0-9]*)[ \t]*-[ \t]*([0-9]*)")
# A number this long is beyond any object's size. Capping it keeps int()
# away from huge strings (which Python refuses past 4300 digits).
_MAX_DIGITS = 20
_BEYOND_ANY_SIZE = 10 ** _MAX_DIGITS


@dataclasses.dataclass(frozen=True)
class WholeBody:
    """Send the whole image with 200: no range asked for, or one ignored."""


@dataclasses.dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` up to ``stop`` (exclusive) of an object of ``size``
    bytes: one satisfiable range, for a 206."""

    start: int
    stop: int
    size: int

    @property
    def length(self):
        return self.stop - self.start

    @property
    def whole(self):
        return self.length == self.size

    @property
    def content_range(self):
        return content_range(self.start, self.stop, self.size)


@dataclasses.dataclass(frozen=True)
class Unsatisfiable:
    """No byte of the object is in the range: a 416."""

    size: int


@dataclasses.dataclass(frozen=True)
class MultiRange:
    """More than one range: the upstream answers (multipart, or whole)."""


def content_range(start, stop, size):
    """The ``Content-Range`` of a 206 carrying bytes ``start`` up to
    ``stop`` (exclusive) of an object of ``size`` bytes."""
    return f"bytes {start}-{stop - 1}/{size}"


def parse_range(header, size):
    """What to send for ``header`` (None when absent) of an object of
    ``size`` bytes: one of the four answers above."""
    specs = _byte_range_specs(header)
    if not specs:
        return WholeBody()
    if len(specs) > 1:
        return MultiRange()
    first, last = specs[0]
    # A 206 cannot describe part of nothing: its Content-Range would have to
    # end at byte -1.
    if size == 0:
        return Unsatisfiable(size)
    if first is None:  # suffix range: the last ``last`` bytes
        if last == 0:
            return Unsatisfiable(size)
        return ByteRange(max(size - last, 0), size, size)
    if first >= size:
        return Unsatisfiable(size)
    stop = size if last is None else min(last + 1, size)
    return ByteRange(first, stop, size)


def _byte_range_specs(header):
    """``[(first, last), ...]`` of a valid bytes range header, either number
    None when absent; None for any other header."""
    if header is None:
        return None
    unit, equals, range_set = header.partition("=")
    if not equals or unit.strip(_OWS).lower() != "bytes":
        return None
    specs = []
    for element in range_set.split(","):
        element = element.strip(_OWS)
        if not element:
            continue  # empty list elements are allowed (RFC 9110, 5.6.1)
        match = _RANGE_SPEC.fullmatch(element)
        if match is None:
            return None
        first, last = (_number(digits) for digits in match.groups())
        if first is None and last is None:
            return None
        if first is not None and last is not None and last < first:
            return None  # invalid, so the whole header is (14.1.1)
        specs.append((first, last))
    return specs


def _number(digits):
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return _BEYOND_ANY_SIZE if len(digits) > _MAX_DIGITS else int(digits)
