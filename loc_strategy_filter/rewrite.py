"""Rewriting the locations in an image API JSON body.

Bytes in, bytes out, away from the WSGI plumbing (``responses``), so that
what the rewriter understands, and how ``hide_locations`` fails closed, is
decided in one place: ``rewrite_body``, with one handling per body shape
(``HANDLINGS``, over ``routes.Shape``).
"""

import json
import logging
import typing

from loc_strategy_filter.locations import ordered_stores
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.routes import Shape

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


def images_of(document, shape):
    """The images of a body of an image ``shape`` (``routes.Shape.IMAGE`` or
    ``IMAGES``); raises ``UnusableBody`` when they are not JSON objects
    where Glance puts them."""
    if shape is Shape.IMAGES:
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, list):
            raise UnusableBody("'images' is not a list")
    else:
        images = [document]
    for image in images:
        if not isinstance(image, dict):
            raise UnusableBody("an image is not a JSON object")
    return images


def _checked(locations):
    """``locations``; raises ``UnusableBody`` unless they are a list of
    objects with a string ``url``."""
    if not isinstance(locations, list):
        raise UnusableBody("'locations' is not a list")
    for index, location in enumerate(locations):
        if not (isinstance(location, dict)
                and isinstance(location.get("url"), str)):
            raise UnusableBody(f"location {index} has no URL")
    return locations


def needs_locations(image):
    """True for an image that shows a ``direct_url`` but no ``locations``:
    its best location must be learned elsewhere (``location_lookup``)."""
    return "locations" not in image and isinstance(image.get("direct_url"),
                                                   str)


def _best_learned(image, learned, settings, requester):
    """Point ``direct_url`` at the best of the locations ``learned`` of
    this image; True when it changed. Nothing else is shown."""
    if not (needs_locations(image) and learned):
        return False
    try:
        ordered = settings.order(_checked(learned), requester)
    except UnusableBody:  # not what the upstream sent: its body is fine
        return False
    if not ordered or image["direct_url"] == ordered[0]["url"]:
        return False
    image["direct_url"] = ordered[0]["url"]
    return True


def rewrite_image(image, settings, learned=None, requester=ANYONE):
    """Rewrite one image dict in place, in the order for ``requester``;
    True when it changed.

    Every image of every image-shaped answer comes here, with or without
    ``locations``. ``learned`` are the locations of an image that shows
    none, from the location API: they choose its ``direct_url`` only.
    """
    if "locations" not in image:
        return _best_learned(image, learned, settings, requester)
    try:
        locations = _checked(image["locations"])
    except UnusableBody as exc:
        if not settings.hide_locations:
            raise
        LOG.warning("Image %s: hiding unusable locations: %s",
                    image.get("id"), exc)
        del image["locations"]
        return True
    ordered = settings.order(locations, requester)
    changed = ordered != locations
    if ordered and image.get("direct_url", ordered[0]["url"]) != ordered[0]["url"]:
        image["direct_url"] = ordered[0]["url"]
        changed = True
    if changed and "stores" in image:
        stores = ordered_stores(image["stores"], ordered)
        changed = stores != image["stores"] or changed
        image["stores"] = stores
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


def _rewrite_images(document, body, shape, settings, learn, requester):
    images = images_of(document, shape)
    wanted = [image.get("id") for image in images if needs_locations(image)]
    learned = learn(wanted) if learn is not None and wanted else {}
    changed = False
    for image in images:
        changed = rewrite_image(image, settings, learned.get(image.get("id")),
                                requester) | changed
    if settings.hide_locations:
        return _hidden(document, body)
    return _serialised(document) if changed else None


def _images_unordered(document, body, shape):
    for image in images_of(document, shape):
        image.pop("locations", None)
    return _hidden(document, body)


def _rewrite_location_list(document, body, shape, settings, learn,
                           requester):
    # With hide_locations too: this API is for services (see the option).
    locations = _checked(document)
    ordered = settings.order(locations, requester)
    return None if ordered == locations else _serialised(ordered)


def _location_list_unordered(document, body, shape):
    _checked(document)
    return None


class _Handling(typing.NamedTuple):
    """How the rewriter treats the bodies of one shape: ``rewrite`` applies
    the strategy, ``unordered`` is what hide_locations sends when the
    strategy failed; both take ``(document, body, shape)``, ``rewrite``
    the settings, ``learn`` and the requester too, and return the new body
    or None."""

    rewrite: typing.Callable
    unordered: typing.Callable


#: The rewriter's handling of each ``routes.Shape``; a shape not here is
#: unusable, so that hide_locations fails closed on it.
HANDLINGS = {
    Shape.IMAGE: _Handling(_rewrite_images, _images_unordered),
    Shape.IMAGES: _Handling(_rewrite_images, _images_unordered),
    Shape.LOCATIONS: _Handling(_rewrite_location_list,
                               _location_list_unordered),
}


def _no_handling(shape):
    raise UnusableBody(f"no handling for a body of shape {shape!r}")


def rewrite_body(body, shape, settings, learn=None, requester=ANYONE):
    """The rewritten body, or None when it needs no change.

    ``locations`` are put in strategy order for ``requester``, ``direct_url`` points at the
    first of them and ``stores`` follows them; nothing the upstream did not
    show is ever added. An image with ``direct_url`` but no ``locations``
    has its ``direct_url`` pointed at the best of the locations
    ``learn(image_ids)`` (a dict by id, see ``location_lookup``) gives it.

    The body is understood when it is strict JSON (no ``NaN`` or
    ``Infinity``, no number beyond a float's range, nested no deeper than
    Python's recursion limit) of the ``shape`` Glance gives it (see
    ``routes.Shape``): one image, a JSON object, for show, create and
    update; a JSON object whose ``images`` is a list of JSON objects for
    list; a list of locations for the location API; and ``locations``, in an
    image or as the body, a list of objects with a string ``url``. Any other
    body, or a shape with no handling here, raises ``UnusableBody``.

    With ``hide_locations`` an image's ``locations`` are removed even when
    they are unusable, and an image body must not hold a ``locations`` key
    anywhere else (an image where none is expected): such a body raises
    ``UnusableBody`` too, so that it is never sent. A bare location list is
    still ordered and sent: Glance's policy gives it to services only.
    """
    handling = HANDLINGS.get(shape) or _no_handling(shape)
    return handling.rewrite(_parsed(body), body, shape, settings, learn,
                            requester)


def hidden_unordered(body, shape):
    """What hide_locations sends when the strategy could not be applied:
    ``body`` with ``locations`` removed from every image in it, or a bare
    location list as it came. None when that is ``body`` itself.

    Raises ``UnusableBody`` when the body cannot be understood.
    """
    handling = HANDLINGS.get(shape) or _no_handling(shape)
    return handling.unordered(_parsed(body), body, shape)
