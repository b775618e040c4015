"""Which image files were opened and read, seen from outside glance-api.

Glance and the filter read image files inside one uWSGI worker, so only the
kernel can say which file was read, whoever read it: Linux inotify reports
every open, read and close of a watched file. Multi-store Glance keeps each
store's copy in its own directory, so the file read names the store read.

A server may close a file just after the client has the last byte, so the
watch waits until no process holds a watched file open, both before it
starts (a close left over from an earlier request is not counted) and
before it counts. The kernel merges an event into the previous one when
both are identical, so two opens in a row count as one; a close always
follows its own reads, which makes closes the count of opens.
"""

import collections
import ctypes
import os
import select
import struct
import time

IN_ACCESS = 0x001
IN_CLOSE_NOWRITE = 0x010
IN_OPEN = 0x020
_KINDS = {IN_OPEN: "open", IN_ACCESS: "read", IN_CLOSE_NOWRITE: "close"}
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, length of the name
# A close's event is queued just after the descriptor is gone.
_AFTER_CLOSE_SECONDS = 0.02


def _libc_call(function, *args):
    result = function(*args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"inotify: {os.strerror(errno)}")
    return result


def _open_anywhere(paths):
    """Those of ``paths`` that some process has open."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or not ours to see
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in paths:
                found.add(target)
    return found


class FileWatch:
    """Counts, per path, the opens, reads and closes made while in use::

        with FileWatch([a, b]) as watch:
            ...
        watch.counts()  # {a: Counter({"open": 1, "read": 1, "close": 1}),
                        #  b: Counter()}
    """

    def __init__(self, paths, max_seconds=5.0):
        self.paths = [str(path) for path in paths]
        self._real_paths = {os.path.realpath(path) for path in self.paths}
        self._max = max_seconds
        self._fd = None
        self._paths_by_wd = {}
        self._counts = {path: collections.Counter() for path in self.paths}

    def __enter__(self):
        self._wait_until_closed()
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = _libc_call(libc.inotify_init1, os.O_NONBLOCK | os.O_CLOEXEC)
        for path in self.paths:
            wd = _libc_call(libc.inotify_add_watch, self._fd,
                            os.fsencode(path), sum(_KINDS))
            self._paths_by_wd[wd] = path
        return self

    def __exit__(self, *exc_info):
        self._settle()
        os.close(self._fd)
        self._fd = None

    def counts(self):
        """The events, once no process holds a watched file open."""
        if self._fd is not None:  # else settled on exit
            self._settle()
        return {path: collections.Counter(counter)
                for path, counter in self._counts.items()}

    def read(self):
        """The paths that were read from."""
        return {path for path, counter in self.counts().items()
                if counter["read"]}

    def _wait_until_closed(self):
        deadline = time.monotonic() + self._max
        while still_open := _open_anywhere(self._real_paths):
            if time.monotonic() > deadline:
                raise AssertionError(f"still open after {self._max} s: "
                                     f"{sorted(still_open)}")
            time.sleep(0.01)

    def _settle(self):
        self._wait_until_closed()
        while select.select([self._fd], [], [], _AFTER_CLOSE_SECONDS)[0]:
            self._parse(os.read(self._fd, 65536))

    def _parse(self, buffer):
        offset = 0
        while offset < len(buffer):
            wd, mask, _, name_length = _EVENT.unpack_from(buffer, offset)
            offset += _EVENT.size + name_length
            path = self._paths_by_wd.get(wd)
            for bit, kind in _KINDS.items():
                if path is not None and mask & bit:
                    self._counts[path][kind] += 1
