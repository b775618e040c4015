"""The cache that shares location failures between workers and hosts.

Configured by oslo.cache's own options, in ``[location_strategy_filter_cache]``
rather than ``[cache]`` (which Glance's config files may already hold for
Glance), so the lines an operator writes for other services work here. The
client is dogpile.cache's pymemcache backend, built here from those options
rather than by ``oslo_cache.configure_cache_region``, because on that path
pymemcache gets no socket timeouts (a hung memcached would hold a worker for
good), values are pickled (memcached has no authentication: whoever reaches
it could make a worker unpickle what they wrote), and the config, password
included, is logged.

memcached is a peer like any other: each call is bounded in time and in
bytes as a whole, not per ``recv``; a value this filter did not write means
nothing is known of that key; expiry is memcached's own, on one clock.
"""

import contextlib
import logging
import os
import socket
import ssl
import threading
import time
import weakref

from dogpile.cache.backends import memcached
from oslo_config import cfg
import pymemcache.client.hash
from pymemcache.exceptions import MemcacheUnexpectedCloseError

from loc_strategy_filter.errors import ConfigurationError
from loc_strategy_filter import options

LOG = logging.getLogger(__name__)

BACKEND = "dogpile.cache.pymemcache"

#: memcached reads a longer expiry as a Unix time.
_MEMCACHED_MAX_RELATIVE = 30 * 24 * 3600
#: The most a multi-get may read per key (a key and its value are ~100).
_BYTES_PER_KEY = 1024
_MAX_SOCKET_TIMEOUT = 1.0

#: The one value this cache stores: a key's presence is the news.
_FAILED = b"1"
_PREFIX = "loc-strategy-filter:failed:"


class CacheConfigError(ConfigurationError):
    """The cache options are not usable (the message says which and why)."""


class SharedCache:
    """What failed, as memcached holds it: ``failed_among`` and ``remember``
    raise whatever the client meets, for the caller to judge.
    """

    def __init__(self, backend, ttl_seconds, socket_timeout, retry_seconds):
        self._backend = backend
        self._expiry = min(int(ttl_seconds), _MEMCACHED_MAX_RELATIVE)
        self._socket_timeout = socket_timeout
        #: Seconds to leave the cache alone once it failed.
        self.retry_seconds = retry_seconds
        self._warned_foreign = False

    def failed_among(self, keys):
        """Those of ``keys`` memcached holds as failed: one multi-get."""
        with _budget(self._socket_timeout, _BYTES_PER_KEY * (len(keys) + 1)):
            found = self._backend.client.get_many(
                [_PREFIX + key for key in keys])
        values = {key[len(_PREFIX):]: value for key, value in found.items()}
        foreign = [key for key, value in values.items() if value != _FAILED]
        if foreign and not self._warned_foreign:
            self._warned_foreign = True
            LOG.warning("memcached holds values this filter did not write "
                        "under %d of its keys: they are taken as unknown",
                        len(foreign))
        return {key for key, value in values.items() if value == _FAILED}

    def remember(self, key):
        """``key`` failed, for the TTL."""
        with _budget(self._socket_timeout, _BYTES_PER_KEY):
            self._backend.client.set(_PREFIX + key, _FAILED,
                                     expire=self._expiry, noreply=False)


def register(conf):
    """Register the cache options on ``conf``; repeated calls are harmless."""
    conf.register_opts(options.cache_opts(), group=options.CACHE_GROUP)


def load(conf, ttl_seconds):
    """The ``SharedCache`` failures go to, or None when caching is off."""
    register(conf)
    group = conf[options.CACHE_GROUP]
    if not _value(group, "enabled") or not ttl_seconds:
        return None
    backend = _value(group, "backend")
    if backend != BACKEND:
        raise CacheConfigError(_invalid(
            "backend", backend, f"{BACKEND} (the only backend whose client "
            "this filter can bound in time and keep from unpickling)"))
    for name in ("memcache_sasl_enabled", "username", "password"):
        if _value(group, name):
            raise CacheConfigError(
                f"Invalid value for option [{options.CACHE_GROUP}] {name}: "
                f"{BACKEND} cannot authenticate to memcached; allowed: "
                "unset (keep memcached on a trusted network instead)")
    servers = [_server(server) for server in _value(group, "memcache_servers")]
    if not servers:
        raise CacheConfigError(_invalid("memcache_servers", "",
                                        "one or more HOST:PORT"))
    timeout = _value(group, "socket_timeout")
    if not 0 < timeout <= _MAX_SOCKET_TIMEOUT:
        raise CacheConfigError(_invalid(
            "socket_timeout", timeout, f"seconds above 0 and at most "
            f"{_MAX_SOCKET_TIMEOUT:g}: every request may wait that long"))
    retry_seconds = _value(group, "memcache_dead_retry")
    if retry_seconds < 1:
        raise CacheConfigError(_invalid("memcache_dead_retry", retry_seconds,
                                        "1 or more seconds"))
    client = PyMemcacheBackend({
        "url": servers,
        "socket_timeout": timeout,
        # A server that fails is out of the ring at once, its keys going to
        # the others (pymemcache's retries would answer "nothing known"
        # without a word), and back in for the filter's own retry.
        "hashclient_retry_attempts": 0,
        "hashclient_dead_timeout": retry_seconds / 2,
        "tls_context": _tls_context(group),
    })
    return SharedCache(client, ttl_seconds, timeout, retry_seconds)


def _value(group, name):
    try:
        return group[name]
    except (cfg.ConfigFileValueError, ValueError) as exc:
        raise CacheConfigError(
            f"Invalid value for option [{options.CACHE_GROUP}] {name}: "
            f"{exc}") from None


def _invalid(name, value, allowed):
    return (f"Invalid value {value!r} for option [{options.CACHE_GROUP}] "
            f"{name}; allowed: {allowed}")


def _server(spec):
    """``HOST:PORT`` (``[V6]:PORT``), checked now, not at the first use."""
    spec = spec.strip()
    if "@" in spec:  # not echoed: what precedes it may be a password
        raise CacheConfigError(_invalid(
            "memcache_servers", "***@" + spec.rpartition("@")[2],
            "HOST:PORT or [IPV6]:PORT entries, without credentials"))
    host, _, port = spec.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or "[" in host or "]" in host or not port.isdigit() \
            or not 0 < int(port) < 65536:
        raise CacheConfigError(_invalid(
            "memcache_servers", spec, "HOST:PORT or [IPV6]:PORT entries"))
    return spec


def _tls_context(group):
    if not _value(group, "tls_enabled"):
        return None
    try:
        context = ssl.create_default_context(
            cafile=_value(group, "tls_cafile"))
        certfile = _value(group, "tls_certfile")
        if certfile:
            context.load_cert_chain(certfile, _value(group, "tls_keyfile"))
        ciphers = _value(group, "tls_allowed_ciphers")
        if ciphers:
            context.set_ciphers(ciphers)
        context.sslsocket_class = _BoundedTLSSocket
    except (OSError, ssl.SSLError) as exc:
        raise CacheConfigError(
            f"Invalid TLS options in [{options.CACHE_GROUP}]: {exc}") from None
    return context


class _RawBytes:
    """pymemcache's serde that keeps bytes as bytes, whatever the flags say:
    its default unpickles any value flagged as a pickle by its writer.
    """

    @staticmethod
    def serialize(key, value):
        return value, 0

    @staticmethod
    def deserialize(key, value, flags):
        return value


class _Budget(threading.local):
    """What the calling thread's current cache call may still take."""

    deadline = None
    bytes_left = 0


_BUDGET = _Budget()


@contextlib.contextmanager
def _budget(seconds, size):
    """Bound the calls to memcached inside: ``seconds`` and ``size`` bytes
    in all, however the server dribbles or floods its answer.
    """
    _BUDGET.deadline = time.monotonic() + seconds
    _BUDGET.bytes_left = size
    try:
        yield
    finally:
        _BUDGET.deadline = None


class _Bounded:
    """``recv`` within the thread's ``_Budget``."""

    def recv(self, size, *flags):
        deadline = _BUDGET.deadline
        if deadline is None:
            return super().recv(size, *flags)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("memcached did not answer in time")
        self.settimeout(left)
        data = super().recv(min(size, max(_BUDGET.bytes_left, 1)), *flags)
        _BUDGET.bytes_left -= len(data)
        if _BUDGET.bytes_left < 0:
            raise OSError("memcached answered more than was asked for")
        return data


class _BoundedSocket(_Bounded, socket.socket):
    pass


class _BoundedTLSSocket(_Bounded, ssl.SSLSocket):
    pass


class _SocketModule:
    """The ``socket`` module, but for sockets bounded by ``_Budget``."""

    def __getattr__(self, name):
        return getattr(socket, name)

    socket = _BoundedSocket


class _Ring(pymemcache.client.hash.HashClient):
    """pymemcache's ring, where a call that failed is made once more, on a
    fresh connection, on the servers left: a connection memcached closed
    while idle (it restarted) costs nothing, and one dead server of several
    nothing but its share of the keys.
    """

    def get_many(self, keys, *args, **kwargs):
        return self._on_the_rest(super().get_many, keys, *args, **kwargs)

    def set(self, key, *args, **kwargs):
        return self._on_the_rest(super().set, key, *args, **kwargs)

    def _on_the_rest(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except (OSError, MemcacheUnexpectedCloseError):
            if not self.hasher.nodes:
                raise
            return call(*args, **kwargs)


class PyMemcacheBackend(memcached.PyMemcacheBackend):
    """dogpile's pymemcache backend (a client per thread), as ``_Ring`` with
    socket timeouts, ``_Bounded`` sockets and ``_RawBytes``; a forked worker
    starts with clients of its own, not its parent's connections.
    """

    def __init__(self, arguments):
        super().__init__(arguments)
        self.serde = _RawBytes()
        self.socket_timeout = arguments["socket_timeout"]
        _forget_clients_at_fork(self)

    def _create_client(self):
        return _Ring(
            self.url, serde=self.serde, tls_context=self.tls_context,
            socket_module=_SocketModule(),
            connect_timeout=self.socket_timeout, timeout=self.socket_timeout,
            retry_attempts=self.hashclient_retry_attempts,
            dead_timeout=self.dead_timeout, default_noreply=False)


def _forget_clients_at_fork(backend):
    alive = weakref.ref(backend)

    def after_fork():
        found = alive()
        if found is not None:  # dogpile's memoized per-thread clients
            found.__dict__.pop("_clients", None)

    os.register_at_fork(after_in_child=after_fork)
