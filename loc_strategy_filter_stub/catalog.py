"""The stub's images: a dict behind a lock, handing out copies.

Callers only ever hold copies, and every change is a function applied
under the lock, so a threaded WSGI server sees each request's change whole.
"""

import copy
import threading

from webob import exc


def _newest_first(record):
    return record["created_at"], record["id"]


class Catalog:
    """Image records by id."""

    def __init__(self):
        self._lock = threading.Lock()
        self._images = {}

    def _find(self, image_id):
        try:
            return self._images[image_id]
        except KeyError:
            raise exc.HTTPNotFound(
                explanation=f"No image found with ID {image_id}") from None

    def add(self, record):
        with self._lock:
            if record["id"] in self._images:
                raise exc.HTTPConflict(
                    explanation=f"Image with identifier {record['id']} "
                                "already exists!")
            self._images[record["id"]] = copy.deepcopy(record)

    def get(self, image_id):
        with self._lock:
            return copy.deepcopy(self._find(image_id))

    def update(self, image_id, change):
        """Store ``change(copy of the record)``, which may raise; a copy of
        what was stored is returned.
        """
        with self._lock:
            record = change(copy.deepcopy(self._find(image_id)))
            self._images[image_id] = record
            return copy.deepcopy(record)

    def remove(self, image_id, check=None):
        """Drop an image once ``check(record)``, if given, did not raise."""
        with self._lock:
            record = self._find(image_id)
            if check is not None:
                check(record)
            del self._images[image_id]

    def page(self, limit, marker=None):
        """Copies of up to ``limit`` images after ``marker``, newest first
        (ties by id, so pages never overlap), and whether more follow.
        """
        with self._lock:
            ordered = sorted(self._images.values(), key=_newest_first,
                             reverse=True)
            start = 0
            if marker is not None:
                ids = [record["id"] for record in ordered]
                if marker not in ids:
                    raise exc.HTTPBadRequest(
                        explanation=f"Invalid marker: image {marker} "
                                    "could not be found.")
                start = ids.index(marker) + 1
            stop = start + limit
            return copy.deepcopy(ordered[start:stop]), stop < len(ordered)
