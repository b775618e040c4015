"""The shared cache's configuration, and its client against real memcached."""

import pickle
import socket
import threading
import time

import pymemcache.client.base
import pytest

from loc_strategy_filter import errors
from loc_strategy_filter import failure_cache
from loc_strategy_filter import options
from loc_strategy_filter import settings

GROUP = options.CACHE_GROUP


def conf_with(**values):
    conf = settings.load_config()
    for name, value in values.items():
        conf.set_override(name, value, group=GROUP)
    return conf


def enabled(server, **values):
    return conf_with(enabled=True, backend="dogpile.cache.pymemcache",
                     memcache_servers=[server], **values)


def test_without_enabled_there_is_no_shared_cache():
    assert failure_cache.load(conf_with(), 60) is None
    assert settings.from_config(conf_with()).failure_cache is None


def test_a_zero_ttl_shares_nothing():
    assert failure_cache.load(enabled("127.0.0.1:1"), 0) is None


@pytest.mark.parametrize("backend", [
    "dogpile.cache.null", "oslo_cache.memcache_pool", "dogpile.cache.memory",
    "dogpile.cache.memcached", "dogpile.cache.redis"])
def test_other_backends_fail_at_start_up_naming_the_option(backend):
    conf = conf_with(enabled=True, backend=backend)
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_config(conf)
    message = str(raised.value)
    assert f"[{GROUP}] backend" in message and repr(backend) in message
    assert "allowed: dogpile.cache.pymemcache" in message


@pytest.mark.parametrize("server", [
    "memcache", "127.0.0.1:", "127.0.0.1:port", "127.0.0.1:0",
    "127.0.0.1:70000", "[::1", "::1]:11211", ":11211"])
def test_a_malformed_server_fails_at_start_up(server):
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_config(enabled(server))
    message = str(raised.value)
    assert f"[{GROUP}] memcache_servers" in message and repr(server) in message
    assert "HOST:PORT" in message


def test_an_empty_server_list_fails_at_start_up():
    with pytest.raises(errors.ConfigurationError, match="memcache_servers"):
        settings.from_config(conf_with(enabled=True,
                                       backend="dogpile.cache.pymemcache",
                                       memcache_servers=[]))


def test_an_unreadable_tls_file_fails_at_start_up(tmp_path):
    conf = enabled("127.0.0.1:11211", tls_enabled=True,
                   tls_cafile=str(tmp_path / "missing.pem"))
    with pytest.raises(errors.ConfigurationError,
                       match=f"TLS options in \\[{GROUP}"):
        settings.from_config(conf)


def test_a_config_file_enables_it_as_an_operator_writes_it(tmp_path):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(f"""
[{GROUP}]
enabled = true
backend = dogpile.cache.pymemcache
memcache_servers = 127.0.0.1:11211, [::1]:11212
memcache_socket_timeout = 0.25
memcache_dead_retry = 7
""")
    configured = settings.from_paste({}, {"oslo_config_file": str(conf_file)})
    cache = configured.failure_cache
    assert cache.retry_seconds == 7
    backend = cache._backend
    assert backend.url == ["127.0.0.1:11211", "[::1]:11212"]
    assert backend.socket_timeout == 0.25  # the deprecated name still works


def test_the_cache_group_is_not_a_paste_key():
    with pytest.raises(errors.ConfigurationError,
                       match="Unknown option 'enabled'"):
        settings.from_paste({}, {"enabled": "true"})


def test_failures_round_trip_through_memcached(memcached):
    cache = failure_cache.load(enabled(memcached.address), 60)
    cache.remember("k")
    assert cache.failed_among(["k", "other"]) == {"k"}


def test_memcached_expires_what_the_filter_wrote(memcached):
    cache = failure_cache.load(enabled(memcached.address), 1)
    cache.remember("k")
    time.sleep(2.2)  # memcached's expiry has a one-second resolution
    assert cache.failed_among(["k"]) == set()


def test_a_ttl_past_30_days_is_memcacheds_longest(memcached):
    """memcached reads an expiry of more than 30 days as a Unix time."""
    cache = failure_cache.load(enabled(memcached.address), 10**9)
    cache.remember("k")
    assert cache.failed_among(["k"]) == {"k"}
    (line,) = memcached.command("lru_crawler metadump all").splitlines()[:1]
    expiry = int(next(field for field in line.split()
                      if field.startswith("exp="))[len("exp="):])
    assert 29 * 24 * 3600 < expiry - time.time() <= 30 * 24 * 3600 + 5


def test_a_value_flagged_as_a_pickle_is_never_unpickled(memcached):
    """memcached has no authentication: whoever reaches it can write."""
    unpickled = []

    class Payload:
        def __reduce__(self):
            return unpickled.append, ("ran",)

    cache = failure_cache.load(enabled(memcached.address), 60)
    cache.remember("k")
    (key,) = memcached.keys()
    host, port = memcached.address.split(":")
    writer = pymemcache.client.base.Client((host, int(port)))
    # pymemcache's pickle flag; stored before the read, not fire and forget.
    assert writer.set(key, pickle.dumps(Payload()), flags=1, noreply=False)
    writer.close()
    assert cache.failed_among(["k"]) == set()
    assert unpickled == []


def test_a_hung_memcached_costs_one_socket_timeout_not_a_worker(memcached):
    cache = failure_cache.load(enabled(memcached.address,
                                       socket_timeout=0.2), 60)
    cache.remember("k")
    memcached.pause()
    try:
        started = time.monotonic()
        with pytest.raises(OSError):
            cache.failed_among(["k"])
        assert time.monotonic() - started < 2  # bounded, not forever
    finally:
        memcached.resume()


class Peer:
    """A memcached impostor on loopback answering with ``answer(conn)``."""

    def __init__(self, answer):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, args=(answer,),
                                       daemon=True)
        self.thread.start()

    def _serve(self, answer):
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(4096)
            try:
                answer(connection)
            except OSError:
                pass

    def close(self):
        self.listener.close()


def dribble(connection):
    """A valid-looking answer, one byte every 20 ms, for ever."""
    while True:
        connection.sendall(b"V")
        time.sleep(0.02)


def flood(connection):
    connection.sendall(b"VALUE loc-strategy-filter:failed:k 0 300000000\r\n")
    while True:
        connection.sendall(b"x" * 65536)


@pytest.mark.parametrize("answer", [dribble, flood], ids=["dribble", "flood"])
def test_a_peer_that_dribbles_or_floods_is_cut_off(answer):
    peer = Peer(answer)
    try:
        cache = failure_cache.load(enabled(peer.address, socket_timeout=0.3),
                                   60)
        started = time.monotonic()
        with pytest.raises(OSError):
            cache.failed_among(["k", "j"])
        assert time.monotonic() - started < 1.5  # the call's whole budget
    finally:
        peer.close()


def test_one_dead_server_of_two_costs_only_its_share(memcached):
    dead = f"127.0.0.1:{mirrors_closed_port()}"
    cache = failure_cache.load(conf_with(
        enabled=True, backend="dogpile.cache.pymemcache",
        memcache_servers=[memcached.address, dead]), 60)
    keys = [f"k{n}" for n in range(20)]
    for key in keys:
        cache.remember(key)  # the dead server's keys go to the live one
    assert cache.failed_among(keys) == set(keys)


def test_a_connection_closed_by_a_restart_costs_no_call(memcached):
    cache = failure_cache.load(enabled(memcached.address), 60)
    cache.remember("k")  # this thread's connection, idle from now on
    memcached.kill()
    memcached.start()
    cache.remember("j")
    assert cache.failed_among(["j"]) == {"j"}


def mirrors_closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("name, value, allowed", [
    ("socket_timeout", 0, "above 0 and at most 1"),
    ("socket_timeout", 3600, "above 0 and at most 1"),
    ("memcache_dead_retry", 0, "1 or more seconds"),
    ("memcache_dead_retry", -5, "1 or more seconds"),
    ("memcache_sasl_enabled", True, "cannot authenticate"),
    ("username", "admin", "cannot authenticate"),
    ("password", "hunter2", "cannot authenticate"),
])
def test_options_that_bound_the_cost_are_checked_at_start_up(
        name, value, allowed):
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_config(enabled("127.0.0.1:11211", **{name: value}))
    message = str(raised.value)
    assert f"[{GROUP}] {name}" in message and allowed in message
    assert "hunter2" not in message


def test_a_credential_in_a_server_entry_is_refused_and_not_echoed():
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_config(enabled("admin:hunter2@cache.example:11211"))
    message = str(raised.value)
    assert "memcache_servers" in message and "without credentials" in message
    assert "hunter2" not in message and "admin" not in message


def test_a_server_answering_garbage_raises_rather_than_returning_it():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer_garbage():
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"VALUE nonsense\r\n\x00\xff garbage\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        cache = failure_cache.load(enabled(f"127.0.0.1:{port}"), 60)
        with pytest.raises(Exception):
            cache.failed_among(["k"])
        thread.join(5)
