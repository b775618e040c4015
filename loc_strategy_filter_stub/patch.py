"""Glance's JSON-patch (media type v2.1) applied to an image record.

Operations follow RFC 6902 on top-level properties and on ``/locations``,
``/locations/-`` and ``/locations/N``, with the rules Glance adds.
"""

import collections
import re

from webob import exc

from loc_strategy_filter_stub import images
from loc_strategy_filter_stub import locations as locations_mod

MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"

Change = collections.namedtuple("Change", "op path value")
_OPS = ("add", "replace", "remove")
_INDEX = re.compile(r"[0-9]+")


def _bad(message):
    return exc.HTTPBadRequest(explanation=message)


def _change(item):
    if not isinstance(item, dict) or item.get("op") not in _OPS:
        raise _bad("Each change needs an 'op' of add, replace or remove.")
    path = item.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _bad(f"Invalid change path: {path!r}")
    if item["op"] != "remove" and "value" not in item:
        raise _bad(f"'{item['op']}' of {path} needs a 'value'.")
    # JSON pointer escapes (RFC 6901): '~1' is '/', '~0' is '~'.
    parts = [part.replace("~1", "/").replace("~0", "~")
             for part in path[1:].split("/")]
    return Change(item["op"], parts, item.get("value"))


def parse(document):
    """The changes of a decoded patch document; 400 when it is malformed."""
    if not isinstance(document, list):
        raise _bad("A JSON-patch document is a list of changes.")
    return [_change(item) for item in document]


def touches_locations(changes):
    return any(change.path[0] == "locations" for change in changes)


def apply(image, changes):
    """Change ``image`` in place and return it. Give it a copy (as the
    catalog does) so that a document failing half way changes nothing.
    """
    for change in changes:
        if change.path[0] == "locations":
            _change_locations(image, change)
        else:
            _change_property(image, change)
    image["updated_at"] = images.now()
    return image


def _change_property(image, change):
    if len(change.path) != 1 or not change.path[0]:
        raise _bad(f"Invalid path: /{'/'.join(change.path)}")
    key = change.path[0]
    images.refuse_unsettable(key)
    if change.op == "remove" and key in images.SETTABLE:
        raise exc.HTTPForbidden(
            explanation=f"Property {key} may not be removed.")
    if change.op != "add" and key not in image:
        raise exc.HTTPConflict(explanation=f"Property {key} does not exist.")
    if change.op == "remove":
        del image[key]
    else:
        image[key] = images.checked_value(key, change.value)


def _position(text, length, op):
    """Index for an op at ``/locations/<text>``; ``-`` only appends."""
    end = length if op == "add" else length - 1
    if op == "add" and text == "-":
        return length
    if _INDEX.fullmatch(text) and int(text) <= end:
        return int(text)
    raise _bad(f"Invalid position for {op} of a location: {text}")


def _change_locations(image, change):
    if image["status"] not in ("queued", "active"):
        raise exc.HTTPConflict(explanation="Locations cannot change while "
                               f"the image is {image['status']}.")
    stored = image["locations"]
    if len(change.path) == 1 and change.op != "remove":
        if not isinstance(change.value, list):
            raise _bad("/locations is replaced by a list of locations.")
        stored[:] = [locations_mod.checked(value) for value in change.value]
    elif len(change.path) == 2:
        index = _position(change.path[1], len(stored), change.op)
        if change.op == "remove":
            del stored[index]
        elif change.op == "add":
            stored.insert(index, locations_mod.checked(change.value))
        else:
            stored[index] = locations_mod.checked(change.value)
    else:
        raise _bad(f"Invalid location path: /{'/'.join(change.path)}")
    locations_mod.refuse_duplicates(stored)
    if stored and image["status"] == "queued":
        image["status"] = "active"
    elif not stored and image["status"] == "active":
        raise exc.HTTPForbidden(
            explanation="Cannot remove last location in the image.")
