"""Image locations: Glance's rules for accepting them, and which local
files the stub will read.

Any URL with a scheme is accepted, ``file://`` ones included, so that
examples such as ``file:///srv/images/x`` can be ordered by a filter. Reading
is another matter: Glance refuses client-supplied ``file://`` locations
because they would let anyone download any file the server can open. The
stub instead reads a ``file://`` location only when it resolves to a file
inside its data directory (symbolic links resolved first), so serving it
never exposes the rest of the disk.
"""

import copy
import os
import pathlib
import urllib.parse
import urllib.request

from webob import exc


def checked(value):
    """A copy of a location ``{"url": str, "metadata": dict}``; 400 if not."""
    if not isinstance(value, dict):
        raise exc.HTTPBadRequest(
            explanation="A location is an object with 'url' and 'metadata'.")
    url, metadata = value.get("url"), value.get("metadata")
    if not isinstance(url, str) or not _scheme(url):
        raise exc.HTTPBadRequest(
            explanation="A location needs a 'url' with a scheme.")
    if not isinstance(metadata, dict):
        raise exc.HTTPBadRequest(
            explanation="The 'metadata' of a location is not an object.")
    return {"url": url, "metadata": copy.deepcopy(metadata)}


def _scheme(url):
    """The URL's scheme; "" for a URL urllib cannot split (its error would
    quote the netloc, credentials and all).
    """
    try:
        return urllib.parse.urlsplit(url).scheme
    except ValueError:
        return ""


def refuse_duplicates(locations):
    """400 when two locations share a URL, as Glance answers."""
    seen = set()
    for location in locations:
        if location["url"] in seen:
            raise exc.HTTPBadRequest(
                explanation=f"The location {location['url']} already exists.")
        seen.add(location["url"])


class DataDirectory:
    """The directory the stub keeps image data in, and reads files from."""

    def __init__(self, path):
        os.makedirs(path, exist_ok=True)
        self.root = os.path.realpath(path)

    def path_for(self, image_id):
        """Where an uploaded image's data lives (ids are UUIDs)."""
        return os.path.join(self.root, image_id)

    @staticmethod
    def url_for(path):
        return pathlib.Path(path).as_uri()

    def readable_path(self, url):
        """The file a ``file://`` URL names if it is inside the directory."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = os.path.realpath(urllib.request.url2pathname(parts.path))
        inside = os.path.commonpath((self.root, path)) == self.root
        return path if inside and path != self.root else None
