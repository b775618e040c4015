"""Rewriting the images in an image API JSON body.

Bytes in, bytes out, away from the WSGI plumbing (``responses``), so that
what the rewriter understands, and how ``hide_locations`` fails closed, is
decided in one place: ``rewrite_body``.
"""

import json
import logging

LOG = logging.getLogger(__name__)


class UnusableBody(ValueError):
    """A body the rewriter does not understand, with the reason why."""


def _refuse_constant(name):
    raise UnusableBody(f"{name} is not strict JSON")


# Built once: json.loads and json.dumps with options build a new decoder or
# encoder per call, on the per-request hot path.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_ENCODER = json.JSONEncoder(allow_nan=False)
# How _ENCODER (ASCII, default separators) writes a ``locations`` key. No
# string it writes holds this unescaped, so its absence proves that no
# object in the body has the key.
_LOCATIONS_KEY = b'"locations": '


def _parsed(body):
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        return _DECODER.decode(text)
    except UnusableBody:
        raise
    except ValueError as exc:
        raise UnusableBody(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise UnusableBody("JSON nested too deeply to parse") from None


def _serialised(document):
    try:
        return _ENCODER.encode(document).encode()
    except ValueError:
        # A number such as 1e400 parsed as a float infinity.
        raise UnusableBody("a number beyond a float's range") from None
    except RecursionError:
        raise UnusableBody("JSON nested too deeply to write") from None


def _images_of(document, call):
    """The images of a body, as the table of image calls places them."""
    if call.is_list:
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, list):
            raise UnusableBody("'images' is not a list")
    else:
        images = [document]
    for image in images:
        if not isinstance(image, dict):
            raise UnusableBody("an image is not a JSON object")
    return images


def _checked_locations(image):
    """The image's ``locations``; raises ``UnusableBody`` unless they are a
    list of objects with a string ``url``."""
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
    if "locations" not in image:
        return False
    try:
        locations = _checked_locations(image)
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


def _hidden(document, body):
    """The body of ``document``, checked to show no locations; None when
    that is the upstream's ``body`` itself."""
    new_body = _serialised(document)
    if _LOCATIONS_KEY in new_body:
        raise UnusableBody("'locations' where no image is expected")
    return None if new_body == body else new_body


def rewrite_body(body, call, settings):
    """The rewritten body, or None when it needs no change.

    ``locations`` are put in strategy order and ``direct_url`` points at the
    first of them; nothing the upstream did not show is ever added.

    The body is understood when it is strict JSON (no ``NaN`` or
    ``Infinity``, no number beyond a float's range, nested no deeper than
    Python's recursion limit) of the shape Glance gives it: one image, a
    JSON object, for show, create and update; a JSON object whose
    ``images`` is a list of JSON objects for list; and in an image,
    ``locations`` a list of objects with a string ``url``. Any other body
    raises ``UnusableBody``.

    With ``hide_locations`` an image's ``locations`` are removed even when
    they are unusable, and the body must not hold a ``locations`` key
    anywhere else (an image where none is expected): such a body raises
    ``UnusableBody`` too, so that it is never sent.
    """
    document = _parsed(body)
    changed = False
    for image in _images_of(document, call):
        changed = rewrite_image(image, settings) | changed
    if settings.hide_locations:
        return _hidden(document, body)
    return _serialised(document) if changed else None


def without_locations(body, call):
    """``body`` with ``locations`` removed from every image in it.

    The fail-closed path of ``hide_locations``, for when the strategy could
    not be applied. Raises ``UnusableBody`` when the body cannot be
    understood.
    """
    document = _parsed(body)
    for image in _images_of(document, call):
        image.pop("locations", None)
    return _hidden(document, body)
