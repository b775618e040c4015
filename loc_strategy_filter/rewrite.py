"""Rewriting the images in an image API JSON body.

``locations`` are put in strategy order and ``direct_url`` points at the
first of them; nothing the upstream did not show is ever added. A body or an
image the rewriter cannot make sense of is left as it is.
"""

import json
import logging

LOG = logging.getLogger(__name__)


class UnusableBody(ValueError):
    """A body to pass through unchanged, with the reason why."""


def _usable_locations(image):
    locations = image["locations"]
    if not isinstance(locations, list):
        raise UnusableBody("'locations' is not a list")
    for index, location in enumerate(locations):
        if not (isinstance(location, dict)
                and isinstance(location.get("url"), str)):
            raise UnusableBody(f"location {index} has no URL")
    return locations


def rewrite_image(image, settings):
    """Rewrite one image dict in place; True when it changed."""
    if not isinstance(image, dict):
        raise UnusableBody("an image is not a JSON object")
    if "locations" not in image:
        return False
    try:
        locations = _usable_locations(image)
    except UnusableBody as exc:
        if not settings.hide_locations:
            raise
        LOG.warning("Image %s: hiding unusable locations: %s",
                    image.get("id"), exc)
        del image["locations"]
        return True
    ordered = settings.order(locations)
    changed = ordered != locations
    if ordered and image.get("direct_url", ordered[0]["url"]) != ordered[0]["url"]:
        image["direct_url"] = ordered[0]["url"]
        changed = True
    if settings.hide_locations:
        del image["locations"]
        return True
    image["locations"] = ordered
    return changed


def rewrite_body(body, call, settings):
    """The rewritten body, or None when it needs no change.

    Raises ``UnusableBody`` when the body cannot be understood.
    """
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise UnusableBody(f"invalid JSON: {exc}") from None
    if call.is_list:
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, list):
            raise UnusableBody("'images' is not a list")
    else:
        images = [document]
    changed = False
    for image in images:
        changed = rewrite_image(image, settings) | changed
    # The document came from JSON, so plain json (not jsonutils' to_primitive
    # fallback) serialises it, and faster: this is the per-request hot path.
    return json.dumps(document).encode() if changed else None


def without_locations(body):
    """``body`` with ``locations`` removed from every image in it.

    The fail-closed path of ``hide_locations``: used when the strategy could
    not be applied, so that no location list reaches a user anyway. Raises
    ``UnusableBody`` when the body is not JSON.
    """
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise UnusableBody(f"invalid JSON: {exc}") from None
    images = document.get("images") if isinstance(document, dict) else None
    for image in [document, *(images if isinstance(images, list) else [])]:
        if isinstance(image, dict):
            image.pop("locations", None)
    return json.dumps(document).encode()

