"""A file location's bytes, sent by ``wsgi.file_wrapper`` for sendfile.

Checked for size at open, its bytes bypass the filter, so a whole image goes
this way only once its file was verified (``verified_files``); none fails
over.
"""

BLOCK_SIZE = 1 << 20


class _FileBody:
    """``read`` stops at ``length``, and raises if the file ends before;
    ``fileno`` exists only for a whole image, as a server could sendfile
    past the end of a range. (Past ``fileno``, a file truncated while it is
    sent is the server's to notice.)
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
        if size and not data:
            # Truncated since it was opened: a clean end would be a lie.
            raise OSError(f"file truncated with {self._remaining} bytes "
                          "left to send")
        self._remaining -= len(data)
        return data

    def close(self):
        self._source.close()


def file_body(environ, source, window):
    """``window`` of ``source``'s file by the file wrapper, or None."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if file_wrapper is None or source.file_object is None:
        return None
    return file_wrapper(_FileBody(source, window.length, window.whole),
                        BLOCK_SIZE)
