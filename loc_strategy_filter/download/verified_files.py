"""Which image files were read whole and found to hold their image, so that
later downloads of them go out by sendfile, unread by the filter.

A file is named by its identity as ``fstat`` gives it: device, inode, size,
and the modification and change times in nanoseconds. A write to the file,
a rename over it or a restored copy changes one of them (the change time
cannot be set back by any program), so a file whose identity is remembered
holds the bytes that were verified when it was remembered. What this cannot
see: the storage itself losing bits under an unchanged file, and a write
made while a download is being sent. Only identities and the records they
were verified against are kept, at most ``size`` of them, never contents.
"""

import collections
import threading

#: How many verified files a worker remembers (the oldest go first).
SIZE = 10000


def _checks_digests(recorded):
    return bool(recorded.checksum or recorded.hash_value)


class VerifiedFiles:
    """The file identities that matched a ``RecordedBytes``, per process."""

    def __init__(self, size=SIZE):
        self.size = size
        self._verified = collections.OrderedDict()
        self._lock = threading.Lock()

    def sendable(self, source, recorded, whole):
        """Whether ``source``'s file may go out unread: a range (no digest
        can check it, streamed or not), a record with nothing to check but
        the size (checked at open), or a file verified against it.
        """
        if not whole or not _checks_digests(recorded):
            return True
        identity = getattr(source, "identity", None)
        with self._lock:
            return identity is not None and self._verified.get(
                identity) == recorded

    def remember(self, source, recorded):
        """``source``'s file was read whole and matched ``recorded``."""
        identity = getattr(source, "identity", None)
        if identity is None:
            return
        with self._lock:
            self._verified.pop(identity, None)
            self._verified[identity] = recorded
            while len(self._verified) > self.size:
                self._verified.popitem(last=False)
