"""The cache that shares location failures between workers and hosts.

Configured by oslo.cache's own options, in ``[location_strategy_filter_cache]``
rather than ``[cache]`` (which Glance's config files may already hold for
Glance), so the lines an operator writes for other services work here. The
region is a dogpile.cache region on pymemcache, built here from those
options rather than by ``oslo_cache.configure_cache_region``, because on the
way there: pymemcache would get no socket timeouts (a hung memcached would
hold a worker for good), values would be pickled (memcached has no
authentication: whoever reaches it could make a worker unpickle what they
wrote), and the config, password included, would be logged.
"""

import dataclasses
import ssl

import dogpile.cache
from dogpile.cache import api
from dogpile.cache.backends import memcached
from oslo_config import cfg
import pymemcache.client.hash

from loc_strategy_filter import options

BACKEND = "dogpile.cache.pymemcache"
_REGISTERED = "loc_strategy_filter.pymemcache"

_MEMCACHED_MAX_RELATIVE = 30 * 24 * 3600

#: The one value this cache stores: a key's presence is the news.
_FAILED = b"1"


class CacheConfigError(ValueError):
    """The cache options are not usable (the message says which and why)."""


@dataclasses.dataclass(frozen=True)
class SharedCache:
    """A configured region, and how long to leave it alone once it failed."""

    region: dogpile.cache.region.CacheRegion
    retry_seconds: float


def register(conf):
    """Register the cache options on ``conf``; repeated calls are harmless."""
    conf.register_opts(options.cache_opts(), group=options.CACHE_GROUP)


def load(conf, ttl_seconds):
    """The ``SharedCache`` failures go to, or None when caching is off.

    Values older than ``ttl_seconds`` are gone for the region and, a second
    later, for memcached itself.
    """
    register(conf)
    group = conf[options.CACHE_GROUP]
    if not _value(group, "enabled") or not ttl_seconds:
        return None
    backend = _value(group, "backend")
    if backend != BACKEND:
        raise CacheConfigError(_invalid(
            "backend", backend, f"{BACKEND} (the only backend whose client "
            "this filter can give socket timeouts and unpickled values)"))
    servers = [_server(server) for server in _value(group, "memcache_servers")]
    if not servers:
        raise CacheConfigError(_invalid("memcache_servers", "",
                                        "one or more HOST:PORT"))
    timeout = _value(group, "socket_timeout")
    retry_seconds = _value(group, "memcache_dead_retry")
    region = dogpile.cache.make_region(
        serializer=_serialized, deserializer=_deserialized)
    region.configure(_REGISTERED, expiration_time=ttl_seconds, arguments={
        "url": servers,
        "socket_timeout": timeout,
        # A server that fails is out at once (pymemcache's retries would
        # answer "nothing known" without a word) and back in time for the
        # filter's own retry, ``SharedCache.retry_seconds`` later.
        "hashclient_retry_attempts": 0,
        "hashclient_dead_timeout": retry_seconds / 2,
        "memcached_expire_time": _expiry(ttl_seconds),
        "tls_context": _tls_context(group),
    })
    return SharedCache(region, retry_seconds)


def _value(group, name):
    try:
        return group[name]
    except (cfg.ConfigFileValueError, ValueError) as exc:
        raise CacheConfigError(
            f"Invalid value for option [{options.CACHE_GROUP}] {name}: "
            f"{exc}") from None


def _expiry(ttl_seconds):
    """memcached's expiry for ``ttl_seconds``: past 30 days it would read
    the number as a Unix time, long gone, so it is left to the region."""
    seconds = int(ttl_seconds) + 1
    return seconds if seconds <= _MEMCACHED_MAX_RELATIVE else 0


def _invalid(name, value, allowed):
    return (f"Invalid value {value!r} for option [{options.CACHE_GROUP}] "
            f"{name}; allowed: {allowed}")


def _server(spec):
    """``HOST:PORT`` (``[V6]:PORT``), checked now, not at the first use."""
    host, _, port = spec.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or "[" in host or "]" in host or not port.isdigit() \
            or not 0 < int(port) < 65536:
        raise CacheConfigError(_invalid(
            "memcache_servers", spec, "HOST:PORT or [IPV6]:PORT entries"))
    return spec.strip()


def _tls_context(group):
    if not _value(group, "tls_enabled"):
        return None
    try:
        context = ssl.create_default_context(cafile=_value(group, "tls_cafile"))
        certfile = _value(group, "tls_certfile")
        if certfile:
            context.load_cert_chain(certfile, _value(group, "tls_keyfile"))
        ciphers = _value(group, "tls_allowed_ciphers")
        if ciphers:
            context.set_ciphers(ciphers)
    except (OSError, ssl.SSLError) as exc:
        raise CacheConfigError(
            f"Invalid TLS options in [{options.CACHE_GROUP}]: {exc}") from None
    return context


def _serialized(payload):
    return _FAILED


def _deserialized(payload):
    if payload != _FAILED:
        raise ValueError("the cache holds a value this filter did not write")
    return payload


class _RawBytes:
    """pymemcache's serde that keeps bytes as bytes, whatever the flags say:
    its default unpickles any value flagged as a pickle by its writer."""

    @staticmethod
    def serialize(key, value):
        return value, 0

    @staticmethod
    def deserialize(key, value, flags):
        return value


class PyMemcacheBackend(memcached.PyMemcacheBackend):
    """dogpile's pymemcache backend, with socket timeouts and ``_RawBytes``."""

    def __init__(self, arguments):
        super().__init__(arguments)
        self.serde = _RawBytes()
        self.socket_timeout = arguments["socket_timeout"]

    def _create_client(self):
        return pymemcache.client.hash.HashClient(
            self.url, serde=self.serde, tls_context=self.tls_context,
            connect_timeout=self.socket_timeout, timeout=self.socket_timeout,
            retry_attempts=self.hashclient_retry_attempts,
            dead_timeout=self.dead_timeout, default_noreply=False)


dogpile.cache.register_backend(_REGISTERED, __name__, "PyMemcacheBackend")

#: A region's answer for a key it does not hold.
NO_VALUE = api.NO_VALUE
