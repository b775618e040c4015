"""Where a download writes: never a wrong image under the name asked for.

A path gets a partial file of its own beside it (``path.<random>.part``),
renamed to ``path`` only once the image is verified: two downloads to one
path never write into each other's partial file, and a link planted under
a partial file's name is never followed. A file object (a pipe, standard
output) gets every chunk but the last until then, so a wrong image reaches
it cut short.
"""

import contextlib
import errno
import os
import secrets

from loc_strategy_filter.errors import DownloadFailed

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class PartFile:
    """A new partial file beside ``path``, renamed to ``path`` once the
    image is verified.
    """

    def __init__(self, path):
        self._path = os.fsdecode(path)
        # Refused before a byte is read, not at the rename after all of them.
        if not os.path.basename(self._path) or os.path.isdir(self._path):
            raise IsADirectoryError(errno.EISDIR, "not a file name",
                                    self._path)
        while True:
            self._part = f"{self._path}.{secrets.token_hex(4)}.part"
            try:
                descriptor = os.open(self._part, _NEW_FILE, 0o666)
            except FileExistsError:
                continue
            break
        self._file = os.fdopen(descriptor, "wb")

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
        _sync_directory_of(self._path)

    def discard(self):
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._part)


def _sync_directory_of(path):
    """The rename itself survives a crash once the directory is synced."""
    try:
        descriptor = os.open(os.path.dirname(os.path.abspath(path)),
                             os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(descriptor)


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
