"""The image API as the client reads it, through an openstacksdk connection
(clouds.yaml, ``OS_CLOUD`` or ``OS_*``, as every OpenStack command): an
image's record, and its bytes from a byte on, the last resort when no
location can be read.

Errors of the three libraries underneath (openstacksdk, keystoneauth1,
requests) come out as the package's own: ``DownloadFailed`` for a record,
``ReadFailed`` for bytes, so that failing over treats the image API as it
treats a location.
"""

import logging
import urllib.parse

from loc_strategy_filter.download import ranges
from loc_strategy_filter.errors import DownloadFailed
from loc_strategy_filter.stores.http import identity_coded
from loc_strategy_filter.stores import ReadFailed

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 1 << 20


def _library_errors():
    """The exceptions openstacksdk's calls raise (imported late: the
    ``client`` extra is optional).
    """
    from keystoneauth1 import exceptions as auth_errors
    import openstack.exceptions
    import requests
    return (openstack.exceptions.SDKException, auth_errors.ClientException,
            requests.RequestException)


class ImageAPI:
    """The image API of ``connection`` (an ``openstack.connection
    .Connection``), asked with ``timeout`` (seconds to connect and between
    bytes, as ``requests`` takes it): a stalled image API fails, it never
    holds a download for ever.
    """

    def __init__(self, connection, timeout, chunk_size=CHUNK_SIZE):
        self._connection = connection
        self._timeout = timeout
        self._errors = _library_errors()
        self._chunk_size = chunk_size

    def _get(self, path, **kwargs):
        """``GET path`` of the image API, not raising on an HTTP error."""
        # Finding the image service may authenticate: it happens here, on
        # first use, with the request's own errors.
        return self._connection.image.get(path, raise_exc=False,
                                          timeout=self._timeout, **kwargs)

    def record(self, image_id):
        """The image ``image_id`` as Glance shows it (a dict)."""
        try:
            response = self._get(f"/images/{_quoted(image_id)}")
            if response.status_code != 200:
                raise DownloadFailed(f"image {image_id}: the image API "
                                     f"answered HTTP {response.status_code}")
            record = response.json()
        except self._errors as exc:
            raise DownloadFailed(f"image {image_id}: {exc}") from None
        except (ValueError, RecursionError):
            raise DownloadFailed(f"image {image_id}: the image API's answer "
                                 "is not JSON it can read") from None
        if not isinstance(record, dict):
            raise DownloadFailed(f"image {image_id}: the image API's answer "
                                 "is not an image")
        return record

    def endpoint(self):
        """The image API's endpoint URL, or None (said in a log line)."""
        try:
            endpoint = self._connection.image.get_endpoint()
        except self._errors as exc:
            endpoint, reason = None, exc
        else:
            reason = "the connection has none"
        if endpoint is None:
            LOG.info("No image API endpoint (%s): ordering for a client of "
                     "no known address", reason)
        return endpoint

    def source(self, image_id, size, start=0, stop=None):
        """Bytes ``start`` up to ``stop`` (None: the end) of the
        ``size``-byte image, as a ``stores.Source``.
        """
        return _ImageAPIBytes(self, image_id, size, start,
                              size if stop is None else stop)


class _ImageAPIBytes:
    """A download from the image API, asked for from byte ``start``.

    A server may ignore ``Range`` and send the whole image (200): the bytes
    before ``start`` are dropped. A 206 must carry exactly the bytes asked
    for, and no content coding, as the filter's own continuation requires;
    else ``ReadFailed``.
    """

    file_object = None

    def __init__(self, api, image_id, size, start, stop):
        self.size = size
        self._errors = api._errors
        self._chunk_size = api._chunk_size
        headers = {"Accept-Encoding": "identity"}
        if start or stop != size:
            last = "" if stop == size else str(stop - 1)
            headers["Range"] = f"bytes={start}-{last}"
        try:
            self._response = api._get(f"/images/{_quoted(image_id)}/file",
                                      headers=headers, stream=True)
        except self._errors as exc:
            raise ReadFailed(f"image API download: {exc}") from None
        try:
            self._skip = self._skipped(start, stop, size)
        except ReadFailed:
            self.close()
            raise

    def _skipped(self, start, stop, size):
        status = self._response.status_code
        if status == 206:
            wanted = ranges.content_range(start, stop, size)
            got = self._response.headers.get("Content-Range")
            if got != wanted:
                raise ReadFailed(f"image API download: asked for {wanted}, "
                                 f"got {got or 'no range'}")
            return self._identity(0)
        if status != 200:
            raise ReadFailed(f"image API download: HTTP {status}")
        return self._identity(start)

    def _identity(self, skip):
        """``skip``, if the body is the bytes themselves, not encoded."""
        coding = self._response.headers.get("Content-Encoding", "")
        if not identity_coded(coding):
            raise ReadFailed(f"image API download: Content-Encoding "
                             f"{coding!r}")
        return skip

    def chunks(self):
        skip = self._skip
        try:
            for chunk in self._response.iter_content(self._chunk_size):
                dropped = min(skip, len(chunk))
                skip -= dropped
                if dropped < len(chunk):
                    yield chunk[dropped:]
        except self._errors as exc:
            raise ReadFailed(f"image API download: {exc}") from None

    def close(self):
        self._response.close()


def _quoted(image_id):
    """``image_id`` as one path segment: an ID is never a path."""
    return urllib.parse.quote(image_id, safe="")
