"""A file location's bytes, sent by the server's ``wsgi.file_wrapper``.

The server may use sendfile. The file's size was checked when it was opened,
but its bytes never pass through the filter: no checksum or failover then.
"""

BLOCK_SIZE = 1 << 20


class _FileBody:
    """The file-like object for ``wsgi.file_wrapper``: ``read`` never goes
    past ``length`` bytes, and ``fileno`` (for sendfile) exists only for a
    whole image: a server could sendfile past the end of a range.
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


def file_body(environ, source, window):
    """``window`` (a ``ranges.ByteRange``) of the open file of ``source``
    by ``wsgi.file_wrapper``; None without a file or a file wrapper."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if file_wrapper is None or source.file_object is None:
        return None
    return file_wrapper(_FileBody(source, window.length, window.whole),
                        BLOCK_SIZE)
