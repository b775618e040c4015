"""Recognising the image API requests whose responses the filter rewrites.

The filter may sit in front of the whole API (it sees ``/v2/images/...``) or
inside the v2 app (``SCRIPT_NAME`` ends in ``/v2``, ``PATH_INFO`` is
``/images/...``); both are recognised.
"""

import enum


class ImageCall(enum.Enum):
    """A request the filter acts on: one whose JSON answer holds one image
    or a list of them, or an image download."""

    SHOW = "show"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DOWNLOAD = "download"

    @property
    def is_list(self):
        return self is ImageCall.LIST


_COLLECTION_CALLS = {"GET": ImageCall.LIST, "POST": ImageCall.CREATE}
_MEMBER_CALLS = {"GET": ImageCall.SHOW, "PATCH": ImageCall.UPDATE}


def _images_path(environ):
    """The path below ``/v2``, or None when the request is not for v2."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/v2/"):
        return path[3:]
    if environ.get("SCRIPT_NAME", "").endswith("/v2"):
        return path
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
    if image_id and tail == "file" and method == "GET":
        return ImageCall.DOWNLOAD
    return None
