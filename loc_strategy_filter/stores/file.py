"""Reading ``file://`` image locations from the directories operators allow.

A location URL comes from image metadata, which users may be able to set, so
the path is treated as hostile. It is read exactly as Glance's filesystem
store reads it (no percent-decoding: ``%2e%2e`` names a file called
``%2e%2e``), and is refused unless the real path, with every symlink and
``..`` resolved, is a regular file inside one of the ``file_dirs``.

``file://host/path`` is refused for every host, ``localhost`` included:
Glance would read it as the relative path ``host/path``, so no reading of it
is both safe and faithful. A query, fragment or ``;`` parameter is refused
for the same reason (Glance drops them; reading a different file than Glance
would is worse than reading none).

The file is opened one directory at a time from the allowed root, never
following a symlink, so a directory swapped for a symlink between the check
and the open fails the open instead of escaping the root.
"""

import os
import stat

from oslo_config import cfg

from loc_strategy_filter.redaction import redact_url
from loc_strategy_filter.stores.base import CHUNK_SIZE
from loc_strategy_filter.stores.base import InvalidReaderOption
from loc_strategy_filter.stores.base import ReadFailed
from loc_strategy_filter.stores.base import ReadRefused
from loc_strategy_filter.stores.base import WrongObject

_UNFAITHFUL = set("?#;")
_NO_FOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class FileReader:
    """Opens ``file`` and ``filesystem`` locations inside the allowed dirs."""

    schemes = ("file", "filesystem")
    OPTIONS = (
        cfg.ListOpt(
            "file_dirs",
            default=[],
            help="""
Directories whose files the filter may read for ``file://`` locations.

Possible values:
    * A comma-separated list of absolute directories. A location is read
      only when its real path (symbolic links resolved) is a regular file
      inside one of them.
    * Empty (the default): the directories of Glance's file stores when the
      filter reads Glance's configuration (``filesystem_store_datadir(s)``,
      or each file backend's in multi-store), otherwise none.

Related options:
    * ``download_mode``

Security note:
    Every file in these directories can be served to any user the image API
    lets download an image that has a location pointing at it. List only
    the image stores' directories.
"""),
    )

    def __init__(self, *, file_dirs, chunk_size=CHUNK_SIZE):
        for directory in file_dirs:
            if not os.path.isabs(directory):
                raise InvalidReaderOption(
                    "file_dirs", directory, "not an absolute path",
                    "absolute directories")
        #: The allowed directories, as configured.
        self.dirs = tuple(file_dirs)
        self._roots = tuple(os.path.realpath(d) for d in file_dirs)
        self._lexical_roots = tuple(os.path.normpath(d) for d in file_dirs)
        self._chunk_size = chunk_size

    def allows(self, url):
        """Whether ``url``'s path, as written, lies inside an allowed dir.

        Purely lexical, touching no file system (a path such as
        ``/net/host/...`` must not make an automounter connect before the
        upstream has authorised the download); ``open`` checks the real
        path.
        """
        try:
            path = os.path.normpath(_path_of(url))
        except ReadRefused:
            return False
        return any(os.path.commonpath([root, path]) == root
                   for root in self._lexical_roots)

    def open(self, url, start=0, stop=None):
        """``url`` opened at ``start``; see ``stores.base.Reader.open``."""
        _check_range(start, stop)
        root, relative = self._allowed(url)
        file_object = os.fdopen(_open_beneath(root, relative, url), "rb",
                                buffering=0)
        return FileSource(file_object, start, stop, self._chunk_size, url)

    def _allowed(self, url):
        """The allowed root holding ``url``'s file, and its path from there.

        Raises ``ReadRefused`` (or ``ReadFailed`` for a missing file);
        looks at file metadata but opens nothing.
        """
        root, real = self._root_of(url)
        if root is None:
            raise ReadRefused(f"{redact_url(url)}: outside the allowed dirs")
        try:
            mode = os.lstat(real).st_mode
        except OSError as exc:
            raise ReadFailed(f"{redact_url(url)}: {exc.strerror}") from None
        if not stat.S_ISREG(mode):
            raise ReadRefused(f"{redact_url(url)}: not a regular file")
        return root, os.path.relpath(real, root)

    def _root_of(self, url):
        """The allowed root holding ``url``'s real path (or None), and the
        real path.
        """
        real = os.path.realpath(_path_of(url))
        root = next((r for r in self._roots
                     if os.path.commonpath([r, real]) == r), None)
        return root, real


def _check_range(start, stop):
    if start < 0 or (stop is not None and stop < start):
        raise ValueError(f"bad byte range {start}:{stop}")


def _path_of(url):
    """The absolute path in a ``file:///path`` URL, taken literally."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in FileReader.schemes:
        raise ReadRefused(f"{redact_url(url)}: not a file URL")
    if not rest.startswith("/"):
        raise ReadRefused(f"{redact_url(url)}: a file URL must have no host "
                          "and an absolute path")
    if _UNFAITHFUL.intersection(rest) or rest != rest.strip():
        raise ReadRefused(f"{redact_url(url)}: query, fragment, parameter "
                          "or surrounding space in a file URL")
    if any(ord(c) < 0x20 or c == "\x7f" for c in rest):
        raise ReadRefused(f"{redact_url(url)}: control character in path")
    if ".." in rest.split("/"):
        raise ReadRefused(f"{redact_url(url)}: '..' in path")
    try:  # JSON may carry a lone surrogate, which no file name holds
        os.fsencode(rest)
    except UnicodeEncodeError:
        raise ReadRefused(f"{redact_url(url)}: not a path this system can "
                          "name") from None
    return rest


def _open_beneath(root, relative, url):
    """A read-only descriptor of ``root/relative``, following no symlink."""
    *directories, name = relative.split(os.sep)
    try:
        dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for directory in directories:
                parent = dir_fd
                dir_fd = os.open(directory, _NO_FOLLOW | os.O_DIRECTORY,
                                 dir_fd=parent)
                os.close(parent)
            # O_NONBLOCK: a FIFO swapped in after the check must not hang us.
            fd = os.open(name, _NO_FOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ReadFailed(f"{redact_url(url)}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ReadFailed(f"{redact_url(url)}: changed to a non-regular file "
                         "while opening")
    return fd


class FileSource:
    """An open image file, positioned at ``start``: a ``stores.base.Source``.

    ``chunks()`` reads the bytes from ``start`` up to ``stop``. A caller may
    instead hand ``file_object`` to ``environ['wsgi.file_wrapper']`` for
    sendfile: it then bounds what is sent by the byte range it asked for
    (``size`` is the whole file's), and still closes it through ``close()``
    (which closes ``file_object``).
    """

    def __init__(self, file_object, start, stop, chunk_size, url):
        self.file_object = file_object
        self._chunk_size = chunk_size
        self._url = url
        status = os.fstat(file_object.fileno())
        self.size = status.st_size
        #: What names these bytes: a write, a rename over the file or a
        #: restored copy changes it (``download.verified_files``).
        self.identity = (status.st_dev, status.st_ino, status.st_size,
                         status.st_mtime_ns, status.st_ctime_ns)
        end = self.size if stop is None else stop
        if start > self.size or end > self.size:
            file_object.close()
            raise WrongObject(f"{redact_url(url)}: bytes {start}:{stop} "
                              f"asked of a {self.size}-byte file")
        self._length = end - start
        file_object.seek(start)

    def chunks(self):
        """Bytes ``start`` to ``stop``; ``ReadFailed`` if cut short."""
        remaining = self._length
        while remaining:
            try:
                chunk = self.file_object.read(min(remaining, self._chunk_size))
            except OSError as exc:
                raise ReadFailed(f"{redact_url(self._url)}: {exc}") from None
            if not chunk:
                raise ReadFailed(f"{redact_url(self._url)}: file truncated "
                                 f"with {remaining} bytes left to read")
            remaining -= len(chunk)
            yield chunk

    def close(self):
        """Close the file; safe to call twice."""
        self.file_object.close()
