"""An image's record, fetched as the user, and what it says its bytes are
(``RecordedBytes``, for candidates, failures, verification and client).
"""

import dataclasses
import functools
import hashlib
import json
import logging
from typing import Optional

from loc_strategy_filter import options
from loc_strategy_filter.upstream import HeldResponse

LOG = logging.getLogger(__name__)
_VERIFICATION = options.Verification()


@dataclasses.dataclass(frozen=True)
class RecordedBytes:
    """The part of a failure that is one image's, not the location's."""

    size: int
    checksum: Optional[str] = None
    hash_algo: Optional[str] = None
    hash_value: Optional[str] = None

    def parts(self):
        """The fields, in order (``dataclasses.astuple`` deep-copies)."""
        return self.size, self.checksum, self.hash_algo, self.hash_value

    @classmethod
    def of(cls, image, verification="strongest"):
        """What ``verification`` (a ``verify_checksums`` value) checks of
        ``image``, or None. A wrongly typed field says nothing: the record
        may be any JSON.
        """
        verification = _VERIFICATION(verification)  # a boolean, as before
        size = image.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return None
        checksum = _text(image.get("checksum"))
        algo = _text(image.get("os_hash_algo"))
        value = _text(image.get("os_hash_value"))
        if verification == "off":
            return cls(size)
        if verification == "strongest" and algo and value and computable(
                algo):
            return cls(size, None, algo, value)
        return cls(size, checksum, algo, value)


@functools.lru_cache(maxsize=64)
def computable(algorithm):
    """Whether hashlib computes ``algorithm``; if not, warns once per name."""
    try:
        # shake_* digests have no fixed length, so no value to compare with.
        computable = hashlib.new(algorithm).digest_size > 0
    except (ValueError, TypeError):
        computable = False
    if not computable:
        LOG.warning("Hash algorithm %r is not available: image data is "
                    "not checked against os_hash_value", algorithm)
    return computable


def _text(value):
    return value if isinstance(value, str) else None


def fetch_image(application, user_request):
    """The record the upstream shows this user, or None; a 5xx or a
    non-image warns, so an operator sees why the strategy is not followed.
    """
    environ = user_request.record_environ()
    path = environ["PATH_INFO"]
    held = HeldResponse(application, environ)
    if held.status_code != 200:
        held.close()
        log = LOG.warning if held.status_code >= 500 else LOG.debug
        log("Image record %s: the upstream answered %s; the download does "
            "not follow the strategy", path, held.status)
        return None
    try:
        image = json.loads(held.read())
    except (ValueError, RecursionError):
        image = None
    if not (isinstance(image, dict) and isinstance(image.get("id"), str)):
        LOG.warning("Image record %s is not a JSON image; the download does "
                    "not follow the strategy", path)
        return None
    return image
