"""Image records: which fields a client may set, and how Glance v2 shows them.

A record is a plain dict holding every shown field plus ``locations``; what
a response shows is derived from it by ``to_json``, so the two switches
Glance has for locations change the view, never the data.
"""

import copy
import datetime
import re
import uuid

from webob import exc

DISK_FORMATS = frozenset(("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                          "qcow2", "vdi", "iso", "ploop"))
CONTAINER_FORMATS = frozenset(("ami", "ari", "aki", "bare", "ovf", "ova",
                               "docker", "compressed"))
VISIBILITIES = frozenset(("public", "private", "shared", "community"))

# Base properties a client sets, with the value an image starts with.
SETTABLE = {"name": None, "disk_format": None, "container_format": None,
            "visibility": "shared", "protected": False, "os_hidden": False,
            "min_disk": 0, "min_ram": 0, "owner": None, "tags": []}
READ_ONLY = frozenset(("id", "status", "size", "virtual_size", "checksum",
                       "os_hash_algo", "os_hash_value", "created_at",
                       "updated_at", "direct_url", "self", "file", "schema"))
RESERVED = frozenset(("location", "deleted", "deleted_at"))
# On create the id may be chosen, but locations only come by PATCH or upload.
READ_ONLY_ON_CREATE = (READ_ONLY - {"id"}) | {"locations"}

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                   r"[0-9a-f]{12}", re.IGNORECASE)
_MAX_TEXT = 255


def now():
    """The current time as Glance shows it (ISO 8601, seconds, UTC)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _text(value):
    return isinstance(value, str) and len(value) <= _MAX_TEXT


def _count(value):
    return (isinstance(value, int) and not isinstance(value, bool)
            and value >= 0)


_VALID = {
    "name": lambda v: v is None or _text(v),
    "owner": lambda v: v is None or _text(v),
    "disk_format": lambda v: v is None or v in DISK_FORMATS,
    "container_format": lambda v: v is None or v in CONTAINER_FORMATS,
    "visibility": lambda v: v in VISIBILITIES,
    "protected": lambda v: isinstance(v, bool),
    "os_hidden": lambda v: isinstance(v, bool),
    "min_disk": _count,
    "min_ram": _count,
    "tags": lambda v: isinstance(v, list) and all(_text(t) for t in v),
}


def refuse_unsettable(key, read_only=READ_ONLY):
    """403 for a field no client may set, as Glance words it."""
    if key in read_only:
        raise exc.HTTPForbidden(explanation=f"Attribute '{key}' is read-only.")
    if key in RESERVED:
        raise exc.HTTPForbidden(explanation=f"Attribute '{key}' is reserved.")


def refuse_delete(record):
    """403 for a protected image, which Glance will not delete."""
    if record["protected"]:
        raise exc.HTTPForbidden(
            explanation=f"Image {record['id']} is protected and cannot be "
                        "deleted.")


def checked_value(key, value):
    """``value`` ready to store under ``key``; 400 when it is not valid.

    Extra properties are strings, as in Glance's schema; tags are a set
    that keeps the order they were given in.
    """
    if len(key) > _MAX_TEXT or not _VALID.get(key, _text)(value):
        raise exc.HTTPBadRequest(
            explanation=f"Invalid value for '{key[:_MAX_TEXT]}': {value!r}")
    return list(dict.fromkeys(value)) if key == "tags" else value


def _image_id(value):
    if value is None:
        return str(uuid.uuid4())
    if not (isinstance(value, str) and _UUID.fullmatch(value)):
        raise exc.HTTPBadRequest(explanation=f"Invalid image id: {value!r}")
    # Lower case, so that one id never names two data files.
    return value.lower()


def new_image(fields):
    """A ``queued`` image record from the fields a client sent on create."""
    for key in fields:
        refuse_unsettable(key, READ_ONLY_ON_CREATE)
    fields = dict(fields)
    image_id = _image_id(fields.pop("id", None))
    stamp = now()
    record = copy.deepcopy(SETTABLE)
    record.update((key, checked_value(key, value))
                  for key, value in fields.items())
    record.update(id=image_id, status="queued", size=None, virtual_size=None,
                  checksum=None, os_hash_algo=None, os_hash_value=None,
                  locations=[], created_at=stamp, updated_at=stamp)
    return record


def to_json(record, show_locations, show_direct_url, multi_store=False):
    """The image as Glance v2 shows it under the two location switches.

    ``direct_url`` is naively the first location's URL: a filter in front
    that reorders locations then visibly changes it. A multi-store Glance
    adds ``stores``, each location's store joined in their order, whatever
    the switches show.
    """
    shown = {key: value for key, value in record.items() if key != "locations"}
    path = f"/v2/images/{record['id']}"
    shown.update({"self": path, "file": f"{path}/file",
                  "schema": "/v2/schemas/image"})
    locations = record["locations"]
    if show_locations:
        shown["locations"] = locations
    if show_direct_url and locations:
        shown["direct_url"] = locations[0]["url"]
    # Glance joins every truthy store (and fails on one that is no string).
    stores = [store for store in (location["metadata"].get("store")
                                  for location in locations)
              if isinstance(store, str) and store]
    if multi_store and stores:
        shown["stores"] = ",".join(stores)
    return shown
