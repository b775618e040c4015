"""Where a download writes: never a wrong image under the name asked for.

A path gets ``path.part``, renamed to ``path`` only once the image is
verified; a file object (a pipe, standard output) gets every chunk but the
last until then, so a wrong image reaches it cut short.
"""

import contextlib
import os

from loc_strategy_filter.errors import DownloadFailed


class PartFile:
    """``path.part``, renamed to ``path`` once the image is verified."""

    def __init__(self, path):
        self._path = os.fspath(path)
        self._part = f"{self._path}.part"
        self._file = open(self._part, "wb")

    def write(self, chunk):
        self._file.write(chunk)

    def restart(self):
        self._file.seek(0)
        self._file.truncate()

    def commit(self):
        self._file.flush()
        os.fsync(self._file.fileno())  # the name must never hold less
        self._file.close()
        os.replace(self._part, self._path)

    def discard(self):
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._part)


class OpenFile:
    """A binary file object the caller opened, and closes."""

    def __init__(self, stream):
        self._stream = stream
        self._written = False

    def write(self, chunk):
        self._written = True
        self._stream.write(chunk)

    def restart(self):
        if self._written:
            raise DownloadFailed("the file object written to cannot start "
                                 "over; the bytes written to it are not the "
                                 "image")

    def commit(self):
        self._stream.flush()

    def discard(self):
        pass


def destination(target):
    """A ``PartFile`` for a path, an ``OpenFile`` for a file object."""
    if isinstance(target, (str, bytes, os.PathLike)):
        return PartFile(target)
    if callable(getattr(target, "write", None)):
        return OpenFile(target)
    raise TypeError(f"a download goes to a path or a binary file object, "
                    f"not {type(target).__name__}")
