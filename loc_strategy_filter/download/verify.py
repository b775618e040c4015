"""Checking a whole image body against what Glance recorded for the image.

A location can hold a stale, truncated or damaged copy, which the store
serves without complaint; the size, ``checksum`` (MD5) and
``os_hash_algo``/``os_hash_value`` of the image catch it before the body
ends cleanly. A range is too short for a checksum: only its length is checked,
by the failover stream.
"""

import functools
import hashlib
import logging

LOG = logging.getLogger(__name__)


class IntegrityError(Exception):
    """The bytes read are not the image's: the body must not end cleanly."""


@functools.lru_cache(maxsize=64)
def _computable(algorithm):
    """Whether hashlib can compute ``algorithm``; warns once per name if
    not, rather than once per download."""
    try:
        # shake_* digests have no fixed length, so no value to compare with.
        computable = hashlib.new(algorithm).digest_size > 0
    except (ValueError, TypeError):
        computable = False
    if not computable:
        LOG.warning("Hash algorithm %r is not available: image data is "
                    "not checked against os_hash_value", algorithm)
    return computable


class Verifier:
    """Counts and hashes a body as it streams; ``check`` at its end."""

    def __init__(self, expected_size, md5_hex=None, hash_algo=None,
                 hash_value=None):
        self._expected_size = expected_size
        self._received = 0
        self._digests = []  # (what, hash object, expected hex digest)
        if md5_hex:
            self._digests.append(("md5 checksum",
                                  hashlib.md5(usedforsecurity=False),
                                  md5_hex.lower()))
        if hash_algo and hash_value and _computable(hash_algo):
            self._digests.append((f"{hash_algo} os_hash_value",
                                  hashlib.new(hash_algo), hash_value.lower()))

    def update(self, chunk):
        self._received += len(chunk)
        for _, digest, _ in self._digests:
            digest.update(chunk)

    def check(self):
        """Raises ``IntegrityError`` unless the body read so far is the
        image."""
        if self._received != self._expected_size:
            raise IntegrityError(
                f"size mismatch: expected {self._expected_size} bytes, "
                f"read {self._received}")
        for what, digest, expected in self._digests:
            actual = digest.hexdigest()
            if actual != expected:
                raise IntegrityError(f"{what} mismatch: expected {expected}, "
                                     f"computed {actual}")
