"""Which bytes of an image the download filter may serve: the one rule.

Authorisation is the upstream's (Glance's ``download_image`` policy, its
member and visibility checks, its 416s). The filter asks it the user's own
request first and serves from a location only the bytes that answer agreed
to send: a 200 to a request for the whole image, or a 206 whose
``Content-Range`` is exactly the range asked for. Seeing the image's record
is not enough: a user may be allowed to show an image and not download it.
Anything else (a refusal, a 5xx, a 200 to a range, another range) is the
upstream's answer to send as it is.
"""

import dataclasses

from loc_strategy_filter.download import ranges

# The only answers that can let the filter serve anything.
_AGREEING = (200, 206)


@dataclasses.dataclass(frozen=True)
class AuthorisedWindow:
    """The bytes (``byte_range``, a ``ranges.ByteRange``) the upstream
    agreed to send, with ``status``, the status line it agreed with. Made
    by ``authorised_window`` alone: serving takes nothing else."""

    status: str
    byte_range: ranges.ByteRange


def refused(held):
    """Whether ``held``, the upstream's answer to the user's download,
    lets the filter serve nothing at all: then no record need be read."""
    return held.status_code not in _AGREEING


def authorised_window(user_request, held, size):
    """The ``AuthorisedWindow`` of a ``size``-byte image that ``held``, the
    upstream's answer to ``user_request``, agreed to send, or None."""
    if refused(held):
        return None
    wanted = ranges.parse_range(user_request.header("HTTP_RANGE"), size)
    if isinstance(wanted, ranges.WholeBody) and held.status_code == 200:
        return AuthorisedWindow(held.status, ranges.ByteRange(0, size, size))
    if (isinstance(wanted, ranges.ByteRange) and held.status_code == 206
            and held.header("content-range") == wanted.content_range):
        return AuthorisedWindow(held.status, wanted)
    return None
