"""Checking a whole image body against what Glance recorded for it: a store
serves a stale, truncated or damaged copy without complaint. (A range has
no checksum: the failover stream checks its length.)
"""

import hashlib
import logging

from loc_strategy_filter.download.record import computable
from loc_strategy_filter.upstream import close_body

LOG = logging.getLogger(__name__)


class IntegrityError(Exception):
    """The bytes read are not the image's: the body must not end cleanly."""


class Verifier:
    """Counts and hashes a body; ``check`` it against ``RecordedBytes``."""

    def __init__(self, recorded):
        self._expected_size = recorded.size
        self.received = 0
        self._digests = []  # (what, hash object, expected hex digest)
        if recorded.checksum:
            self._digests.append(("md5 checksum",
                                  hashlib.md5(usedforsecurity=False),
                                  recorded.checksum.lower()))
        algo, value = recorded.hash_algo, recorded.hash_value
        if algo and value and computable(algo):
            self._digests.append((f"{algo} os_hash_value", hashlib.new(algo),
                                  value.lower()))

    def update(self, chunk):
        self.received += len(chunk)
        for _, digest, _ in self._digests:
            digest.update(chunk)

    def check(self):
        """Raises ``IntegrityError`` unless the body so far is the image."""
        if self.received != self._expected_size:
            raise IntegrityError(
                f"size mismatch: expected {self._expected_size} bytes, "
                f"read {self.received}")
        for what, digest, expected in self._digests:
            actual = digest.hexdigest()
            if actual != expected:
                raise IntegrityError(f"{what} mismatch: expected {expected}, "
                                     f"computed {actual}")


class Verified:
    """A WSGI body whose last chunk waits for the size and digests to match,
    so a wrong image arrives short; ``on_mismatch`` hears a mismatch first."""

    def __init__(self, chunks, recorded, on_mismatch=None):
        self._chunks = chunks
        self._size = recorded.size
        self._on_mismatch = on_mismatch
        # Not lazily: a record it cannot check fails before any header.
        self._verifier = Verifier(recorded)

    def __iter__(self):
        verifier, held = self._verifier, []
        try:
            for chunk in self._chunks:
                verifier.update(chunk)
                if verifier.received < self._size:
                    yield chunk
                    continue
                if not held:
                    # Before the next pull: a stream read to its end logs
                    # that it served, so it must hear of wrong bytes first.
                    self._check(verifier)
                held.append(chunk)
            self._check(verifier)
            yield from held
        finally:
            self.close()

    def close(self):
        close_body(self._chunks)

    def _check(self, verifier):
        try:
            verifier.check()
        except IntegrityError as error:
            if self._on_mismatch is not None:
                self._on_mismatch(error)
            raise
