"""Which bytes of an image the download filter may serve: the one rule.

Authorisation is the upstream's (``download_image`` policy, membership,
visibility, 416s): only what it agreed to send to the user's own request is
served, a 200 to a whole-image request or a 206 of exactly the range asked.
Seeing the record is not enough: a user may show an image, not download it.
"""

import dataclasses

from loc_strategy_filter.download import ranges

_AGREEING = (200, 206)


@dataclasses.dataclass(frozen=True)
class AuthorisedWindow:
    """What the upstream agreed to send; made by ``authorised_window``
    alone, as serving takes nothing else.
    """

    status: str
    byte_range: ranges.ByteRange


def refused(held):
    """Whether ``held`` lets nothing be served: no record need be read."""
    return held.status_code not in _AGREEING


def authorised_window(user_request, held, size):
    """The ``AuthorisedWindow`` ``held`` agreed to send, or None."""
    if refused(held):
        return None
    wanted = ranges.parse_range(user_request.header("HTTP_RANGE"), size)
    if isinstance(wanted, ranges.WholeBody) and held.status_code == 200:
        return AuthorisedWindow(held.status, ranges.ByteRange(0, size, size))
    if (isinstance(wanted, ranges.ByteRange) and held.status_code == 206
            and held.header("content-range") == wanted.content_range):
        return AuthorisedWindow(held.status, wanted)
    return None
