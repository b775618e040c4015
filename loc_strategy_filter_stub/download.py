"""Image data out: served from the first of the image's locations that can
be read.

Deliberately naive, like Glance without a location strategy: locations are
tried in their stored order, so a filter that reorders them visibly changes
which one serves the bytes. ``file://`` locations are read only inside the
data directory, ``http(s)://`` ones are fetched, any other scheme is skipped.
"""

import http.client
import logging
import math
import os
import re
import urllib.parse
import urllib.request

import webob

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 64 * 1024
HTTP_TIMEOUT = 30
UNSATISFIABLE = "unsatisfiable"
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)


class Unreadable(Exception):
    """A location this stub cannot read."""


def _open(url, data_dir):
    """``(stream, size or None, is_local_file)`` for one location."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "file":
        path = data_dir.readable_path(url)
        if path is None:
            raise Unreadable("the file is outside the data directory")
        stream = open(path, "rb")
        return stream, os.fstat(stream.fileno()).st_size, True
    if scheme in ("http", "https"):
        stream = urllib.request.urlopen(url, timeout=HTTP_TIMEOUT)
        length = stream.headers.get("Content-Length", "")
        return stream, int(length) if length.isdigit() else None, False
    raise Unreadable(f"the stub does not read {scheme} locations")


def preferred_first(locations, store):
    """Glance's ``?prefer=``: that store's locations first, the others
    kept after them as fallback.
    """
    return sorted(
        locations,
        key=lambda location: location["metadata"].get("store") != store)


def open_first(image, data_dir, prefer=None):
    """The first location of ``image`` that opens, or None."""
    locations = image["locations"]
    if prefer is not None:
        locations = preferred_first(locations, prefer)
    for index, location in enumerate(locations):
        try:
            return _open(location["url"], data_dir)
        except Unreadable as error:
            LOG.warning("Image %s: location %d is unreadable: %s",
                        image["id"], index, error)
        except (OSError, ValueError, http.client.HTTPException) as error:
            # Neither the URL nor the error's text, which may quote part of
            # the URL's credentials (urllib's "nonnumeric port: 'pa'").
            LOG.warning("Image %s: location %d is unreadable: %s",
                        image["id"], index, type(error).__name__)
    return None


def byte_range(header, size):
    """``(start, stop)`` for a single-range ``Range`` header (RFC 7233),
    None to send everything, or UNSATISFIABLE.
    """
    match = _RANGE.fullmatch(header or "")
    if match is None or size is None:
        return None  # absent, malformed, multi-range, or size unknown
    first, last = match.groups()
    if first:
        start = int(first)
        if last and int(last) < start:
            return None  # invalid: RFC 7233 says ignore it
        stop = min(int(last) + 1, size) if last else size
    elif last:
        start, stop = max(size - int(last), 0), size
    else:
        return None
    return (start, stop) if start < stop else UNSATISFIABLE


class _Body:
    """``length`` bytes of a stream (all when None), in chunks; closing
    the body closes the stream, whether or not it was iterated.
    """

    def __init__(self, stream, length=None):
        self.stream = stream
        self.length = length

    def __iter__(self):
        remaining = math.inf if self.length is None else self.length
        while remaining > 0:
            chunk = self.stream.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def close(self):
        self.stream.close()


def _skip(stream, count):
    if stream.seekable():
        stream.seek(count)
        return
    while count > 0:
        chunk = stream.read(min(CHUNK_SIZE, count))
        if not chunk:
            return
        count -= len(chunk)


def response(image, data_dir, request, multi_store=False):
    """The download response for ``image``: 200, 206, 416, 204, or 400 for
    ``?prefer=`` without multi-store, as Glance answers.
    """
    prefer = request.GET.get("prefer")
    if prefer is not None and not multi_store:
        return webob.Response(status=400, content_type="text/plain",
                              body=b"prefer is a multi-store option")
    opened = (open_first(image, data_dir, prefer) if image["locations"]
              else None)
    if opened is None:
        return webob.Response(status=204)
    stream, size, is_local = opened
    chosen = byte_range(request.headers.get("Range"), size)
    if chosen == UNSATISFIABLE:
        stream.close()
        return webob.Response(status=416,
                              headers={"Content-Range": f"bytes */{size}"})
    if chosen is None:
        wrapper = request.environ.get("wsgi.file_wrapper")
        # Only a real file: a server may sendfile() from its descriptor.
        body = (wrapper(stream, CHUNK_SIZE) if wrapper and is_local
                else _Body(stream, size))
        served = webob.Response(app_iter=body, content_length=size,
                                content_type="application/octet-stream")
        if image["checksum"]:
            served.headers["Content-MD5"] = image["checksum"]
        return served
    start, stop = chosen
    try:
        _skip(stream, start)
    except BaseException:
        stream.close()
        raise
    # A range body is never a file wrapper: the server must not read past
    # its end.
    served = webob.Response(status=206, app_iter=_Body(stream, stop - start),
                            content_length=stop - start,
                            content_type="application/octet-stream")
    served.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return served
