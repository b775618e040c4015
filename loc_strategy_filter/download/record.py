"""An image's own record, fetched from the upstream as the user, and what it
says the image's bytes are (``RecordedBytes``: the vocabulary of the
candidates, the failure memory, verification and the client)."""

import dataclasses
import json
import logging
from typing import Optional

from loc_strategy_filter.upstream import HeldResponse

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RecordedBytes:
    """What an image's record says its bytes are: the part of a failure
    that belongs to one image rather than to the location."""

    size: int
    checksum: Optional[str] = None
    hash_algo: Optional[str] = None
    hash_value: Optional[str] = None

    @classmethod
    def of(cls, image, checksums=True):
        """What ``image``'s record says (its size alone without
        ``checksums``), or None when it gives no size. A field of another
        type than Glance's (a size that is no integer, a digest that is no
        string) says nothing: the record is the upstream's, any JSON."""
        size = image.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return None
        fields = ("checksum", "os_hash_algo", "os_hash_value")
        return cls(size, *(_text(image.get(field)) for field in fields
                           if checksums))


def _text(value):
    return value if isinstance(value, str) else None


def fetch_image(application, user_request):
    """The image record the upstream shows this user, or None; a warning
    when it fails (5xx) or is no image, so that an operator sees why the
    download does not follow the strategy."""
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
