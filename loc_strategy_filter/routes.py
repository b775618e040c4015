"""Recognising the image API requests the filter acts on, and where their
answers hold locations.

``ImageCall`` is the one table: each call the filter recognises names the
``Shape`` of its JSON answer, so a call cannot be added without saying
where its locations sit, and the rewriter (``rewrite``) has one handling per
shape. Every image of an image-shaped answer goes through one function,
``rewrite.rewrite_image``, whether the image shows ``locations`` or not.

The filter may sit in front of the whole API (it sees ``/v2/images/...``) or
inside the v2 app (``SCRIPT_NAME`` ends in ``/v2``, ``PATH_INFO`` is
``/images/...``); both are recognised.
"""

import enum


class Shape(enum.Enum):
    """Where the JSON answer of a call holds locations."""

    IMAGE = "one image"
    IMAGES = "a list of images"
    LOCATIONS = "a bare list of locations"


class ImageCall(enum.Enum):
    """A request the filter acts on, with the ``shape`` of its answer: None
    for a download, whose body is image data, not JSON.
    """

    SHOW = ("show", Shape.IMAGE)
    LIST = ("list", Shape.IMAGES)
    CREATE = ("create", Shape.IMAGE)
    UPDATE = ("update", Shape.IMAGE)
    # Glance API 2.17+; service-only by Glance's fetch_image_location policy.
    LOCATIONS = ("locations", Shape.LOCATIONS)
    DOWNLOAD = ("download", None)

    def __new__(cls, name, shape):
        call = object.__new__(cls)
        call._value_ = name
        call.shape = shape
        return call


_COLLECTION_CALLS = {"GET": ImageCall.LIST, "POST": ImageCall.CREATE}
_MEMBER_CALLS = {"GET": ImageCall.SHOW, "PATCH": ImageCall.UPDATE}
_SUBRESOURCE_CALLS = {("file", "GET"): ImageCall.DOWNLOAD,
                      ("locations", "GET"): ImageCall.LOCATIONS}


def _images_path(environ):
    """The path below ``/v2``, or None when the request is not for v2."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/v2/"):
        return path[3:]
    if environ.get("SCRIPT_NAME", "").endswith("/v2"):
        return path
    return None


#: The requests that may change an image's locations, by (subresource or
#: None for the image itself, method): a filter that keeps what it learned
#: of an image's locations forgets it when one passes (``location_lookup``).
#: Every PATCH counts, whatever its operations: it is answered with the
#: image, whose locations are then learned afresh anyway, and its body need
#: not be read twice to tell.
_LOCATION_CHANGES = frozenset(((None, "PATCH"), (None, "DELETE"),
                               ("locations", "POST"),
                               ("locations", "DELETE")))


def images_root(path_info):
    """The part of a v2 image ``path_info`` before ``/images`` (``/v2``, or
    "" below a ``/v2`` mount): an internal request for another image path
    is built on it.
    """
    return path_info[:path_info.find("/images")]


def _member(environ):
    """``(image_id, subresource or None)`` of a request for one image."""
    path = _images_path(environ)
    if path is None or not path.startswith("/images/"):
        return None, None
    image_id, sep, tail = path[len("/images/"):].partition("/")
    return (image_id or None), (tail if sep else None)


def location_change(environ):
    """The id of the image whose locations the request may change, or
    None.
    """
    image_id, tail = _member(environ)
    if image_id and (tail, environ.get("REQUEST_METHOD")) in _LOCATION_CHANGES:
        return image_id
    return None


def image_call(environ):
    """The ``ImageCall`` a request is, or None."""
    path = _images_path(environ)
    if path is None or not path.startswith("/images"):
        return None
    method = environ.get("REQUEST_METHOD")
    rest = path[len("/images"):]
    if not rest:
        return _COLLECTION_CALLS.get(method)
    if rest[0] != "/" or len(rest) == 1:
        return None
    image_id, sep, tail = rest[1:].partition("/")
    if not sep:
        return _MEMBER_CALLS.get(method)
    if not image_id:
        return None
    return _SUBRESOURCE_CALLS.get((tail, method))
