"""Fetching an image's own record from the upstream, as the user."""

import json
import logging

from loc_strategy_filter.upstream import HeldResponse

LOG = logging.getLogger(__name__)


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
