"""Fixtures every tier uses: a real memcached, and both JSON backends."""

from tests.json_backends import json_backend  # noqa: F401
from tests.memcached import memcached  # noqa: F401
