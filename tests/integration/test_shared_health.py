"""The memory of failed locations, shared by uWSGI workers through memcached.

Two glance-api servers of the single-store deployment, each with TWO uWSGI
workers (``--lazy-apps``: each worker loads Glance and the filter on its
own), serve downloads themselves (``download_mode = serve``) and give up on
an http location after a second:

- ``two_workers_shared`` shares its failures through a real memcached
  (``[location_strategy_filter_cache]`` in glance-api.conf, oslo.cache's
  own options, as an operator writes them);
- ``two_workers_alone``, the control, has the same lines but for the
  cache, so each worker remembers its own failures only.

The image's best location is a mirror path that takes the GET and never
answers (``hangs``: Glance's HEAD, which checks a new location, gets the
truth); the next is a mirror path that serves. Who read what is told by the
mirror's access log (every GET is a connection of the filter's own) and by
glance-api's log, whose records carry the pid of the worker that wrote
them: the filter says which location served each download, after how many
failovers. uWSGI's http-socket closes every connection (``Connection:
close``), so each download is a new connection, accepted by whichever
worker is first; a test downloads until the other worker has served one,
for at most ``MAX_DOWNLOADS``, and fails saying so if it never does.
"""

import hashlib
import re
import time
import uuid

import pytest

from tests.integration.conftest import _unexpected_errors
from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.conftest import READ_THE_MIRRORS
from tests.integration.conftest import SERVE
from tests.integration.conftest import STORE_TYPE
from tests.integration import glance_api
from tests.integration.image_api import ImageApi
from tests.integration.test_download import filter_gets
from tests.integration.test_download import make_image
from tests.memcached import Memcached

# Seconds: how long the filter waits on a mirror, and leaves a failed cache
# alone before trying it again.
MIRROR_TIMEOUT = 1
DEAD_RETRY = 1
# Downloads a test makes, at most, waiting for the other worker to serve.
MAX_DOWNLOADS = 40
# The threads of a two-worker server (two each), each with its own client of
# memcached (dogpile's memcached backends keep one per thread).
THREADS = 4
QUICK_GIVE_UP = {"location_strategy_filter": {
    "http_connect_timeout": str(MIRROR_TIMEOUT),
    "http_header_timeout": str(MIRROR_TIMEOUT),
    "http_read_timeout": str(MIRROR_TIMEOUT)}}
TWO_WORKERS_ALONE = glance_api.merge_sections(
    STORE_TYPE, READ_THE_MIRRORS, SERVE, QUICK_GIVE_UP)
UNUSABLE = "The shared memory of failed locations is unusable"
USABLE_AGAIN = "The shared memory of failed locations is usable again"
KEY_PREFIX = "loc-strategy-filter:failed:"
_RECORD = re.compile(r"^\S+ \S+ (\d+) (\w+) (\S+) ", re.MULTILINE)


def cache_lines(memcached):
    """What an operator writes in glance-api.conf to share the memory."""
    return {"location_strategy_filter_cache": {
        "enabled": "true",
        "backend": "dogpile.cache.pymemcache",
        "memcache_servers": memcached.address,
        "memcache_dead_retry": str(DEAD_RETRY),
        "socket_timeout": "0.1"}}


@pytest.fixture(scope="module")
def shared_memcached():
    server = Memcached().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_workers(glance_deployment, shared_memcached):
    """The two servers of two workers each, by name, in the single-store
    deployment (so the session's no-ERROR check and failure reports see
    them); stopped at the end of the module.
    """
    configs = {
        "shared": glance_api.merge_sections(
            TWO_WORKERS_ALONE, cache_lines(shared_memcached)),
        "alone": TWO_WORKERS_ALONE,
    }
    servers = {name: glance_deployment.add(f"two_workers_{name}", config,
                                           processes=2)
               for name, config in configs.items()}
    try:
        for server in servers.values():
            server.start()
        deadline = time.monotonic() + 90
        for server in servers.values():
            try:
                server.wait_ready(deadline)
            except glance_api.StartError as exc:
                pytest.fail(str(exc), pytrace=False)
        yield servers
    finally:
        for server in servers.values():
            server.terminate()  # all at once: each takes about a second
        for name, server in servers.items():
            server.stop()
            del glance_deployment.servers[f"two_workers_{name}"]


class Downloads:
    """Downloads of one image through one server, each with the pid of the
    worker that served it and what the filter logged about it.
    """

    def __init__(self, server, image, mirror, hung_path):
        self.server = server
        self.api = ImageApi(server.url, server.headers)
        self.image = image
        self.mirror = mirror
        self.hung_path = hung_path
        self.mirror_since = len(mirror.requests)
        self.served = []  # (pid, failovers, seconds), in order

    def hung_gets(self):
        """How many times a worker tried the hanging mirror."""
        return len(filter_gets(self.mirror, self.hung_path,
                               self.mirror_since))

    def pids(self):
        return {pid for pid, _, _ in self.served}

    def one(self):
        """One download: right bytes, and who served it, after how many
        failovers; returns ``(pid, failovers)``.
        """
        image_id = self.image["id"]
        log_start = self.server.log_end()
        started = time.monotonic()
        answer = self.api.download(image_id)
        seconds = time.monotonic() - started
        assert_right_bytes(answer, self.image)
        # The filter logs once the body is out: the client may be first.
        served = re.compile(
            rf"^\S+ \S+ (\d+) (?:INFO|DEBUG) "
            rf"loc_strategy_filter\.download\.failover "
            rf".*Image {image_id}: bytes 0 to {len(DATA)} served by location "
            rf"2 \(http store\) after (\d+) failover\(s\)", re.MULTILINE)
        deadline = time.monotonic() + 5
        while not (found := served.findall(self.server.log(log_start))):
            assert time.monotonic() < deadline, (
                "no 'served by location 2' line: "
                + self.server.log(log_start))
            time.sleep(0.01)
        assert len(found) == 1, found
        pid, failovers = found[0][0], int(found[0][1])
        self.served.append((pid, failovers, seconds))
        return pid, failovers

    def until_served_by_another(self, than):
        """Download until a worker other than ``than`` has served; its
        ``(pid, failovers)``.
        """
        for _ in range(MAX_DOWNLOADS):
            pid, failovers = self.one()
            if pid not in than:
                return pid, failovers
        pytest.fail(f"{MAX_DOWNLOADS} downloads through {self.server.name}, "
                    f"all served by worker(s) {sorted(than)}: the other "
                    f"worker ({self.server.worker_pids()}) never served one")


def assert_right_bytes(answer, image):
    assert answer.status_code == 200, answer.text[:500]
    assert hashlib.md5(answer.content).hexdigest() == image["checksum"]
    assert (hashlib.new(image["os_hash_algo"], answer.content).hexdigest()
            == image["os_hash_value"])
    assert answer.content == DATA


def hung_first_image(glance, mirror):
    """An image whose locations are its file (0), a mirror path that hangs
    (1) and one that serves (2): ``http, file`` tries them 1, 2, 0. Returns
    the record (as Glance alone shows it) and the hanging path.
    """
    name = uuid.uuid4()
    hung_path = f"/hangs/{name}"
    hung_url = mirror.publish(hung_path, DATA, "hangs")
    image_id = make_image(glance["bare"], hung_url)
    served_url = mirror.publish(f"/serves/{name}", DATA)
    located = glance["bare"].add_location(image_id, served_url)
    assert located.status_code == 200, located.text
    image = glance["bare"].show(image_id).json()
    assert [location["url"] for location in image["locations"]][1:] == [
        hung_url, served_url]
    return image, hung_path


def records(server, since, level=None, text=""):
    """``(pid, level, record)`` of the records logged since ``since`` that
    contain ``text``, of ``level`` if given.
    """
    return [(match[1], match[2], record)
            for record in server.log(since).splitlines()
            if (match := _RECORD.match(record)) and text in record
            and (level is None or match[2] == level)]


def last_health(server, since):
    """Each worker's last word on the cache since ``since``: ``"usable"``
    or ``"unusable"``.
    """
    health = {}
    for pid, _, record in records(server, since, text="shared memory"):
        health[pid] = "usable" if USABLE_AGAIN in record else "unusable"
    return health


def connections(memcached):
    """The connections memcached has open, this question's included."""
    return int(memcached.stats()["curr_connections"])


def pids_logging(server, since, text):
    return sorted(pid for pid, _, _ in records(server, since, text=text))


def assert_no_error(server, since):
    """The session's check, said here too: no ERROR, no traceback."""
    errors = _unexpected_errors(server.log(since), ())
    assert not errors, f"{server.name} logged errors: {errors}"


def test_a_failure_one_worker_met_is_not_met_again_by_the_other(
        glance, two_workers, mirror, shared_memcached):
    server = two_workers["shared"]
    log_start = server.log_end()
    image, hung_path = hung_first_image(glance, mirror)
    downloads = Downloads(server, image, mirror, hung_path)

    first_pid, failovers = downloads.one()

    assert failovers == 1, "the hanging mirror was tried first, then left"
    assert downloads.hung_gets() == 1
    assert downloads.served[0][2] >= MIRROR_TIMEOUT
    assert (f"{first_pid} WARNING loc_strategy_filter.download.failover "
            in server.log(log_start))
    # What memcached holds: a digest, never the URL.
    keys = shared_memcached.keys()
    assert any(key.startswith(KEY_PREFIX) for key in keys), keys
    assert not any(hung_path in key or "127.0.0.1" in key for key in keys)

    other_pid, failovers = downloads.until_served_by_another({first_pid})

    assert failovers == 0, "the other worker knew the mirror had failed"
    assert downloads.hung_gets() == 1, "only the first download tried it"
    assert all(failovers == 0 for _, failovers, _ in downloads.served[1:])
    assert {first_pid, other_pid} == server.worker_pids()
    assert_same_download(downloads.api.download(image["id"]),
                         glance["bare"].download(image["id"]))
    assert not records(server, log_start, text=UNUSABLE)
    assert_no_error(server, log_start)


def test_without_the_cache_the_other_worker_tries_the_mirror_again(
        glance, two_workers, mirror):
    """The control: the same, each worker with its own memory."""
    server = two_workers["alone"]
    log_start = server.log_end()
    image, hung_path = hung_first_image(glance, mirror)
    downloads = Downloads(server, image, mirror, hung_path)

    first_pid, failovers = downloads.one()

    assert failovers == 1
    assert downloads.hung_gets() == 1

    other_pid, failovers = downloads.until_served_by_another({first_pid})

    assert failovers == 1, "the other worker did not know"
    assert downloads.hung_gets() == 2
    assert {first_pid, other_pid} == server.worker_pids()
    assert_no_error(server, log_start)


def test_downloads_go_on_while_memcached_is_gone_and_share_once_it_is_back(
        glance, two_workers, mirror, shared_memcached):
    server = two_workers["shared"]
    workers = server.worker_pids()
    log_start = server.log_end()
    image, hung_path = hung_first_image(glance, mirror)
    during = Downloads(server, image, mirror, hung_path)

    shared_memcached.kill()
    # Both workers download, for longer than DEAD_RETRY, so each tries the
    # dead cache again at least once.
    killed_at = time.monotonic()
    for _ in range(MAX_DOWNLOADS):
        during.one()
        if (during.pids() == workers
                and time.monotonic() - killed_at > 2.5 * DEAD_RETRY):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"{MAX_DOWNLOADS} downloads while memcached was gone, "
                    f"served by worker(s) {sorted(during.pids())} of "
                    f"{sorted(workers)}")

    # Each worker remembered its own failure: one timeout each, no more.
    assert during.hung_gets() == len(workers)
    first_by = {}
    for pid, failovers, _ in during.served:
        first_by.setdefault(pid, failovers)
    assert first_by == dict.fromkeys(workers, 1), during.served
    assert sum(failovers for _, failovers, _ in during.served) == len(workers)
    # One warning per worker, not one per download nor per retry.
    assert pids_logging(server, log_start, UNUSABLE) == sorted(workers)
    assert len(during.served) > len(workers)
    assert all(level == "WARNING" for _, level, _ in
               records(server, log_start, text=UNUSABLE))

    restart_log = server.log_end()
    shared_memcached.start()  # the same port
    baseline = connections(shared_memcached)
    # Until every worker says the cache is usable again and every thread of
    # theirs has connected to the new memcached.
    deadline = time.monotonic() + 15 * DEAD_RETRY
    while (last_health(server, restart_log) != dict.fromkeys(workers, "usable")
           or connections(shared_memcached) - baseline < THREADS):
        assert time.monotonic() < deadline, (
            "the workers did not all find memcached again: "
            f"{records(server, restart_log, text='shared memory')}, "
            f"{connections(shared_memcached) - baseline} connections")
        during.one()
        time.sleep(0.1)
    assert during.hung_gets() == len(workers), "each remembered its own"

    # A new failure, met by one worker, is known to the other again.
    image, hung_path = hung_first_image(glance, mirror)
    after = Downloads(server, image, mirror, hung_path)

    first_pid, failovers = after.one()
    assert failovers == 1
    assert any(key.startswith(KEY_PREFIX) for key in shared_memcached.keys())

    other_pid, failovers = after.until_served_by_another({first_pid})

    assert failovers == 0, "sharing resumed"
    assert after.hung_gets() == 1
    assert pids_logging(server, restart_log, USABLE_AGAIN)
    assert last_health(server, log_start) == dict.fromkeys(workers, "usable")
    assert_no_error(server, log_start)


def test_a_memcached_restart_between_downloads_costs_no_sharing(
        glance, two_workers, mirror, shared_memcached):
    server = two_workers["shared"]
    # Every thread of both workers holds a connection to memcached.
    image, _ = hung_first_image(glance, mirror)
    warm = Downloads(server, image, mirror, "/not/counted")
    baseline = 1  # this test's own "stats" connection
    for _ in range(MAX_DOWNLOADS):
        if connections(shared_memcached) - baseline >= THREADS:
            break
        warm.one()
    else:
        pytest.fail(f"{MAX_DOWNLOADS} downloads, and only "
                    f"{connections(shared_memcached) - baseline} of the "
                    f"{THREADS} threads connected to memcached")

    shared_memcached.kill()
    shared_memcached.start()  # at once: no download meets it gone
    log_start = server.log_end()
    image, hung_path = hung_first_image(glance, mirror)
    downloads = Downloads(server, image, mirror, hung_path)

    first_pid, failovers = downloads.one()
    other_pid, other_failovers = downloads.until_served_by_another(
        {first_pid})

    assert_no_error(server, log_start)
    assert (failovers, other_failovers) == (1, 0)
    assert downloads.hung_gets() == 1
    assert not records(server, log_start, text="shared memory"), (
        records(server, log_start, text="shared memory"))
