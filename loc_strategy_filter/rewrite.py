"""Rewriting the locations in an image API JSON body.

Bytes in, bytes out, away from the WSGI plumbing (``responses``), so that
what the rewriter understands, and how ``hide_locations`` fails closed, is
decided in one place: ``rewrite_body``, with one handling per body shape
(``HANDLINGS``, over ``routes.Shape``).
"""

import json
import logging
import typing

from loc_strategy_filter import json_codec
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
# object in the body has the key (``json_codec.LOCATIONS_KEY`` for orjson).
_LOCATIONS_KEY = b'"locations": '


class _Read:
    """An upstream ``body`` and its ``document``; ``fast`` while orjson
    may write what the document becomes: it read the body, and every
    value in the document is still one of the body's.
    """

    __slots__ = ("body", "document", "fast")

    def __init__(self, body):
        self.body = body
        self.document = json_codec.document_of(body)
        self.fast = self.document is not None
        if not self.fast:
            self.document = _parsed(body)


def _written(read, document):
    """``document`` (``read``'s, or a part of it) as bytes, and how they
    write a ``locations`` key.
    """
    if read.fast:
        new_body = json_codec.bytes_of(document)
        if new_body is not None:
            return new_body, json_codec.LOCATIONS_KEY
    return _serialised(document), _LOCATIONS_KEY


def _ordered(read, settings, locations, requester):
    """``locations`` in strategy order; a strategy that answers with
    objects of its own leaves their writing to the standard library,
    which refuses what it cannot write (orjson writes NaN as null).
    """
    ordered = settings.order(locations, requester)
    if read.fast and not _the_same_objects(ordered, locations):
        read.fast = False
    return ordered


def _the_same_objects(ordered, locations):
    return (type(ordered) is list
            and set(map(id, ordered)) <= set(map(id, locations)))


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
    where Glance puts them.
    """
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
    objects with a string ``url``.
    """
    if not isinstance(locations, list):
        raise UnusableBody("'locations' is not a list")
    for location in locations:
        if not (isinstance(location, dict)
                and isinstance(location.get("url"), str)):
            raise UnusableBody(
                f"location {_index_of(location, locations)} has no URL")
    return locations


def _index_of(location, locations):
    return next(index for index, each in enumerate(locations)
                if each is location)


def needs_locations(image):
    """True for an image that shows a ``direct_url`` but no ``locations``:
    its best location must be learned elsewhere (``location_lookup``).
    """
    return "locations" not in image and isinstance(image.get("direct_url"),
                                                   str)


def _best_learned(image, learned, settings, requester):
    """Point ``direct_url`` at the best of the locations ``learned`` of
    this image; True when it changed. Nothing else is shown.
    """
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


def rewrite_image(image, read, settings, learned, requester):
    """Rewrite one image dict of ``read`` in place, in the order for
    ``requester``; True when it changed.

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
    ordered = _ordered(read, settings, locations, requester)
    changed = ordered != locations
    if ordered:
        best = ordered[0]["url"]
        if image.get("direct_url", best) != best:
            image["direct_url"] = best
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


def _hidden(read, changed):
    """The body of ``read``'s document, checked to show no locations; None
    when that is the upstream's body itself.

    A ``changed`` document is never written as the upstream's body was
    (that reads as the document before the change), so orjson may write
    it. An unchanged one is written by the standard library, as before:
    the upstream's bytes go on when they are what it writes, never when
    they only read alike (a repeated key may hide locations).
    """
    if changed:
        new_body, locations_key = _written(read, read.document)
    else:
        new_body, locations_key = _serialised(read.document), _LOCATIONS_KEY
    if locations_key in new_body:
        raise UnusableBody("'locations' where no image is expected")
    return None if new_body == read.body else new_body


def _rewrite_images(read, shape, settings, learn, requester):
    images = images_of(read.document, shape)
    wanted = [image.get("id") for image in images if needs_locations(image)]
    learned = learn(wanted) if learn is not None and wanted else {}
    changed = False
    for image in images:
        changed = rewrite_image(image, read, settings,
                                learned.get(image.get("id")),
                                requester) | changed
    if settings.hide_locations:
        return _hidden(read, changed)
    return _written(read, read.document)[0] if changed else None


def _images_unordered(read, shape):
    changed = False
    for image in images_of(read.document, shape):
        changed = image.pop("locations", _ABSENT) is not _ABSENT or changed
    return _hidden(read, changed)


_ABSENT = object()


def _rewrite_location_list(read, shape, settings, learn, requester):
    # With hide_locations too: this API is for services (see the option).
    locations = _checked(read.document)
    ordered = _ordered(read, settings, locations, requester)
    return None if ordered == locations else _written(read, ordered)[0]


def _location_list_unordered(read, shape):
    _checked(read.document)
    return None


class _Handling(typing.NamedTuple):
    """How the rewriter treats the bodies of one shape: ``rewrite`` applies
    the strategy, ``unordered`` is what hide_locations sends when the
    strategy failed; both take the body ``read`` (``_Read``) and the
    shape, ``rewrite`` the settings, ``learn`` and the requester too, and
    return the new body or None.
    """

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

    ``locations`` are put in strategy order for ``requester``,
    ``direct_url`` points at the first of them and ``stores`` follows them;
    nothing the upstream did not show is ever added. An image with
    ``direct_url`` but no ``locations`` has its ``direct_url`` pointed at
    the best of the locations ``learn(image_ids)`` (a dict by id, see
    ``location_lookup``) gives it.

    The body is understood when it is strict JSON (no ``NaN`` or
    ``Infinity``, no number beyond a float's range, nested no deeper than
    Python's recursion limit) of the ``shape`` Glance gives it (see
    ``routes.Shape``): one image, a JSON object, for show, create and
    update; a JSON object whose ``images`` is a list of JSON objects for
    list; a list of locations for the location API; and ``locations``, in an
    image or as the body, a list of objects with a string ``url``. Any other
    body, or a shape with no handling here, raises ``UnusableBody``. With
    orjson installed the outcome is the same (``json_codec``); only a body
    the filter writes is compact UTF-8.

    With ``hide_locations`` an image's ``locations`` are removed even when
    they are unusable, and an image body must not hold a ``locations`` key
    anywhere else (an image where none is expected): such a body raises
    ``UnusableBody`` too, so that it is never sent. A bare location list is
    still ordered and sent: Glance's policy gives it to services only.
    """
    handling = HANDLINGS.get(shape) or _no_handling(shape)
    return handling.rewrite(_Read(body), shape, settings, learn, requester)


def hidden_unordered(body, shape):
    """What hide_locations sends when the strategy could not be applied:
    ``body`` with ``locations`` removed from every image in it, or a bare
    location list as it came. None when that is ``body`` itself.

    Raises ``UnusableBody`` when the body cannot be understood.
    """
    handling = HANDLINGS.get(shape) or _no_handling(shape)
    return handling.unordered(_Read(body), shape)
