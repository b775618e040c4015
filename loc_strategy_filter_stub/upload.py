"""Image data in: streamed into the data directory, hashed on the way.

The body is read in chunks, never whole, into a ``.part`` file that becomes
the image's file only once complete. While it is written the image is
``saving``, which keeps a second upload (and location changes) out, as in
Glance.
"""

import contextlib
import functools
import hashlib
import os

from webob import exc
from webob import request as webob_request

from loc_strategy_filter_stub import images

CHUNK_SIZE = 64 * 1024
# The store id an upload's location names when the stub plays multi-store.
DEFAULT_STORE = "local"


def _claim(record):
    if record["status"] != "queued":
        raise exc.HTTPConflict(
            explanation=f"Image {record['id']} is {record['status']}: "
                        "only a queued image takes data.")
    record["status"] = "saving"
    return record


def _release(record):
    record["status"] = "queued"
    return record


def _receive(stream, path):
    """Copy ``stream`` to ``path``; its size, MD5 and SHA-512."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha512 = hashlib.sha512()
    size = 0
    partial = path + ".part"
    try:
        with open(partial, "wb") as out:
            for chunk in iter(functools.partial(stream.read, CHUNK_SIZE), b""):
                out.write(chunk)
                md5.update(chunk)
                sha512.update(chunk)
                size += len(chunk)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
    return size, md5.hexdigest(), sha512.hexdigest()


def upload(catalog, data_dir, image_id, stream, multi_store=False):
    """Store ``stream`` as a queued image's data; the record, now active."""
    catalog.update(image_id, _claim)
    path = data_dir.path_for(image_id)
    try:
        size, checksum, hash_value = _receive(stream, path)
    except BaseException as error:
        catalog.update(image_id, _release)
        if isinstance(error, webob_request.DisconnectionError):
            raise exc.HTTPBadRequest(explanation=str(error)) from error
        raise
    location = {"url": data_dir.url_for(path),
                "metadata": {"store": DEFAULT_STORE} if multi_store else {}}

    def finish(record):
        record.update(size=size, checksum=checksum, os_hash_algo="sha512",
                      os_hash_value=hash_value, locations=[location],
                      status="active", updated_at=images.now())
        return record

    try:
        return catalog.update(image_id, finish)
    except exc.HTTPNotFound:
        os.remove(path)  # the image was deleted while its data came in
        raise


def discard(data_dir, image_id):
    """Remove the data a deleted image uploaded, if it has any."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(data_dir.path_for(image_id))
