"""The body of a download the filter serves.

A local file goes out through the server's ``wsgi.file_wrapper`` so that the
server can use sendfile; its size was checked against the image's when it
was opened, but its bytes do not pass through the filter, so neither
checksums nor mid-stream failover apply to it. Anything else streams through
the failover stream, which verifies and fails over as it goes.
"""

import logging

LOG = logging.getLogger(__name__)
BLOCK_SIZE = 1 << 20


class _FileBody:
    """The file-like object given to ``wsgi.file_wrapper``.

    ``read`` never goes past ``length`` bytes; ``fileno`` (which lets a
    server sendfile) exists only for a whole image, whose file size was
    checked: a server must not sendfile a range, or it could read past the
    range's end.
    """

    def __init__(self, source, length, whole):
        self._source = source
        self._remaining = length
        if whole:
            self.fileno = source.file_object.fileno

    def read(self, size=-1):
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        data = self._source.file_object.read(size)
        self._remaining -= len(data)
        return data

    def close(self):
        self._source.close()


def response_body(environ, stream, source, whole, image_id):
    """The WSGI body for an opened download."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if file_wrapper is None or source.file_object is None:
        return stream  # itself a WSGI body: iterable, with close()
    LOG.info("Image %s: served by location %s (file store) through the "
             "server's file wrapper", image_id, stream.served_by)
    return file_wrapper(_FileBody(source, source.length, whole), BLOCK_SIZE)
