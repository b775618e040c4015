"""The shared cache's configuration, and its client against a real memcached."""

import pickle
import socket
import threading
import time

import pymemcache.client.base
import pytest

from loc_strategy_filter import failure_cache, options, settings
from tests.memcached import memcached  # noqa: F401 (a fixture)

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
    with pytest.raises(settings.ConfigError) as raised:
        settings.from_config(conf)
    message = str(raised.value)
    assert f"[{GROUP}] backend" in message and repr(backend) in message
    assert "allowed: dogpile.cache.pymemcache" in message


@pytest.mark.parametrize("server", [
    "memcache", "127.0.0.1:", "127.0.0.1:port", "127.0.0.1:0",
    "127.0.0.1:70000", "[::1", "::1]:11211", ":11211"])
def test_a_malformed_server_fails_at_start_up(server):
    with pytest.raises(settings.ConfigError) as raised:
        settings.from_config(enabled(server))
    message = str(raised.value)
    assert f"[{GROUP}] memcache_servers" in message and repr(server) in message
    assert "HOST:PORT" in message


def test_an_empty_server_list_fails_at_start_up():
    with pytest.raises(settings.ConfigError, match="memcache_servers"):
        settings.from_config(conf_with(enabled=True,
                                       backend="dogpile.cache.pymemcache",
                                       memcache_servers=[]))


def test_an_unreadable_tls_file_fails_at_start_up(tmp_path):
    conf = enabled("127.0.0.1:11211", tls_enabled=True,
                   tls_cafile=str(tmp_path / "missing.pem"))
    with pytest.raises(settings.ConfigError, match=f"TLS options in \\[{GROUP}"):
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
    backend = cache.region.backend
    assert backend.url == ["127.0.0.1:11211", "[::1]:11212"]
    assert backend.socket_timeout == 0.25  # the deprecated name still works


def test_the_cache_group_is_not_a_paste_key():
    with pytest.raises(settings.ConfigError, match="Unknown option 'enabled'"):
        settings.from_paste({}, {"enabled": "true"})


def test_values_round_trip_through_memcached(memcached):
    region = failure_cache.load(enabled(memcached.address), 60).region
    region.set("k", True)
    assert region.get_multi(["k", "other"]) == [
        b"1", failure_cache.NO_VALUE]


def test_memcached_expires_what_the_filter_wrote(memcached):
    region = failure_cache.load(enabled(memcached.address), 1).region
    region.set("k", True)
    time.sleep(2.2)  # memcached's expiry has a one-second resolution
    assert region.get_multi(["k"], ignore_expiration=True) == [
        failure_cache.NO_VALUE]


def test_a_ttl_past_30_days_is_kept_not_expired_at_once(memcached):
    """memcached reads an expiry of more than 30 days as a Unix time."""
    region = failure_cache.load(enabled(memcached.address), 10**9).region
    region.set("k", True)
    assert region.get_multi(["k"]) == [b"1"]


def test_a_value_flagged_as_a_pickle_is_never_unpickled(memcached):
    """memcached has no authentication: whoever reaches it can write."""
    unpickled = []

    class Payload:
        def __reduce__(self):
            return unpickled.append, ("ran",)

    region = failure_cache.load(enabled(memcached.address), 60).region
    host, port = memcached.address.split(":")
    writer = pymemcache.client.base.Client((host, int(port)))
    writer.set("k", pickle.dumps(Payload()), flags=1)  # pymemcache's pickle
    with pytest.raises(ValueError):
        region.get_multi(["k"])
    assert unpickled == []


def test_a_hung_memcached_costs_one_socket_timeout_not_a_worker(memcached):
    region = failure_cache.load(enabled(memcached.address,
                                        socket_timeout=0.2), 60).region
    region.set("k", True)
    memcached.pause()
    started = time.monotonic()
    with pytest.raises(Exception):
        region.get_multi(["k"])
    assert time.monotonic() - started < 2  # bounded, not forever
    memcached.resume()


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
        region = failure_cache.load(enabled(f"127.0.0.1:{port}"), 60).region
        with pytest.raises(Exception):
            region.get_multi(["k"])
        thread.join(5)
