"""A download's ``Range`` header read against the image's size (RFC 9110,
section 14): a header that cannot be parsed, or counts in another unit than
bytes, is ignored and the whole image sent, as the RFC allows.
"""

import dataclasses
import re

_OWS = " \t"
# [0-9], not \d: str.isdigit() and \d also accept non-ASCII digits.
_RANGE_SPEC = re.compile(r"([0-9]*)[ \t]*-[ \t]*([0-9]*)")
# Beyond any size; keeps int() off huge strings (refused past 4300 digits).
_MAX_DIGITS = 20
_BEYOND_ANY_SIZE = 10 ** _MAX_DIGITS


@dataclasses.dataclass(frozen=True)
class WholeBody:
    """Send the whole image with 200: no range asked for, or one ignored."""


@dataclasses.dataclass(frozen=True)
class ByteRange:
    """One satisfiable range: bytes ``start`` up to ``stop`` (exclusive)."""

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
    """A 206's ``Content-Range`` of bytes ``start`` to ``stop`` (exclusive)."""
    return f"bytes {start}-{stop - 1}/{size}"


def parse_range(header, size):
    """What to send for ``header`` (None: absent): one of the four above."""
    specs = _byte_range_specs(header)
    if not specs:
        return WholeBody()
    if len(specs) > 1:
        return MultiRange()
    first, last = specs[0]
    # A 206 cannot describe part of nothing: it would end at byte -1.
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
    """``[(first, last), ...]`` (None where absent), or None if invalid."""
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
