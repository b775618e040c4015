"""The body of a download the filter serves.

A local file goes out through the server's ``wsgi.file_wrapper`` so that
the server can use sendfile; anything else streams through the failover
stream, which verifies and fails over as it goes.
"""


class _BoundedFile:
    """A file-like object that ends at the end of a byte range.

    It has no ``fileno``: a server must not sendfile a range, or it could
    read past the range's end.
    """

    def __init__(self, source, length, block_size):
        self._source = source
        self._remaining = length
        self._block_size = block_size

    def read(self, size=-1):
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        data = self._source.file_object.read(size)
        self._remaining -= len(data)
        return data

    def close(self):
        self._source.close()


class _WholeFile:
    """The whole file, with ``fileno`` for sendfile; the size was checked
    against the image's when the file was opened."""

    def __init__(self, source):
        self._source = source
        self.read = source.file_object.read
        self.fileno = source.file_object.fileno
        self.tell = source.file_object.tell
        self.seek = source.file_object.seek

    def close(self):
        self._source.close()


class _StreamBody:
    def __init__(self, stream):
        self._stream = stream

    def __iter__(self):
        return iter(self._stream.chunks())

    def close(self):
        self._stream.close()


def response_body(environ, stream, source, full, block_size=1 << 20):
    """The WSGI body for an opened download."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if file_wrapper is not None and hasattr(source, "file_object"):
        filelike = (_WholeFile(source) if full else
                    _BoundedFile(source, source.length, block_size))
        return file_wrapper(filelike, block_size)
    return _StreamBody(stream)
