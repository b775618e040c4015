"""Time a download's planning with the failure memory in-process or shared.

A download's planning is ``DownloadFilter._planned(user_request,
_serve_plan)``: the image record fetched from the stub image API (one image,
4 http locations on mirrors the filter may read), the strategy's order, one
``recall`` of what the memory of failed locations knows of all 4 (read
failures and wrong bytes, 8 keys), the failed ones put last or left out, and
the readable candidates. It is timed, side by side in one run, for

- (a) ``FailureMemory``, in this process (no cache configured);
- (b) ``SharedFailureMemory`` on a live memcached, whose failures (mirror 1
  unreadable, mirror 2's bytes wrong) another worker recorded: every
  planning is one multi-get over loopback;
- (c) the same, memcached killed (connection refused): the first request
  that finds it out (a fresh filter whose client never connected), then the
  steady state, while the memory leaves the cache alone;
- (d) the same, memcached hung (SIGSTOP: the kernel accepts, nothing
  answers): the steady state, and the first request, which waits for
  ``socket_timeout``.

Every case plans the same candidates (checked before timing): mirror 3,
mirror 4, then mirror 1; the failures of (a), (c) and (d) are in the
filter's own memory, recorded before the fault. The steady cases run with
``memcache_dead_retry = 600`` so that no round straddles the end of a retry
interval; a first request is what each interval's end costs one request
once. Each memcached runs on its own loopback port and is stopped on exit,
Ctrl-C included. Targets (the shared failure memory issue): a live memcached
adds < 1 ms per download, a dead one < 5 ms.

    python bench/bench_failure_memory.py [--rounds N] [--number N]
"""

import argparse
import contextlib
import logging
import os
import signal
import statistics
import sys
import tempfile
import time

from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.filter import DownloadFilter
from loc_strategy_filter.download.shared_failures import SharedFailureMemory
from loc_strategy_filter import settings as settings_mod
from loc_strategy_filter.user_request import UserRequest
from loc_strategy_filter_stub import StubImageAPI

from bench_filter import environ_for

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from tests.memcached import Memcached  # noqa: E402  (the repository's root)

IMAGE_ID = "fa11ed00-0000-4000-8000-000000000001"
SIZE = 1 << 30
MIRRORS = [f"http://mirror{n}.example.com/images/{IMAGE_ID}"
           for n in range(1, 5)]
UNREADABLE, WRONG_BYTES = MIRRORS[0], MIRRORS[1]
EXPECTED = [MIRRORS[2], MIRRORS[3], MIRRORS[0]]
FILTER = {"download_mode": "serve",
          "http_allowed_hosts": ", ".join(
              f"mirror{n}.example.com" for n in range(1, 5)),
          "location_strategy": "location_order"}
CACHE_GROUP = "location_strategy_filter_cache"
LIVE_TARGET, DEAD_TARGET = 1e-3, 5e-3
STEADY_DEAD_RETRY = 600


def seeded_stub():
    stub = StubImageAPI(data_dir=tempfile.mkdtemp(prefix="bench-failures-"),
                        show_multiple_locations=True,
                        show_image_direct_url=True)
    stub.create_image(id=IMAGE_ID, name="image", disk_format="raw",
                      container_format="bare")
    for url in MIRRORS:
        stub.add_location(IMAGE_ID, url)
    recorded = {"size": SIZE, "checksum": "0" * 32, "os_hash_algo": "sha512",
                "os_hash_value": "1" * 128}
    stub.catalog.update(IMAGE_ID, lambda record: {**record, **recorded})
    return stub


def settings_for(memcached=None, dead_retry=None):
    """The filter's settings; with ``memcached``, the shared cache on it."""
    conf = settings_mod.load_config(overrides=FILTER)
    if memcached is not None:
        for name, value in (("enabled", True),
                            ("backend", "dogpile.cache.pymemcache"),
                            ("memcache_servers", [memcached.address])):
            conf.set_override(name, value, group=CACHE_GROUP)
        if dead_retry is not None:
            conf.set_override("memcache_dead_retry", dead_retry,
                              group=CACHE_GROUP)
    return settings_mod.from_config(conf)


def planning(download_filter):
    """One download's planning, as ``DownloadFilter._serve_mode`` does it
    once the upstream agreed: the ``Serve`` plan.
    """
    def run():
        environ = environ_for(f"/v2/images/{IMAGE_ID}/file")
        user_request = UserRequest(
            environ, download_filter.settings.requester(environ))
        return download_filter._planned(user_request,
                                        download_filter._serve_plan)
    return run


def record_failures(memory, recorded, in_process_only=False):
    """Mirror 1 unreadable, mirror 2's bytes wrong; ``in_process_only``
    leaves a shared memory's cache untouched (``FailureMemory.failed``).
    """
    failed = FailureMemory.failed.__get__(memory) if in_process_only \
        else memory.failed
    failed(UNREADABLE)
    failed(WRONG_BYTES, recorded)


def check_plan(name, run):
    plan = run()
    found = [candidate.url for candidate in plan.candidates] if plan else None
    if found != EXPECTED:
        raise RuntimeError(f"case {name}: planned {found}, expected "
                           f"{EXPECTED}")
    return plan.recorded


def timed(function, number):
    start = time.perf_counter()
    for _ in range(number):
        function()
    return (time.perf_counter() - start) / number


@contextlib.contextmanager
def memcacheds(count):
    servers = []
    try:
        for _ in range(count):
            servers.append(Memcached().start())
        yield servers
    finally:
        for server in servers:
            server.stop()


def run(args, live, killed, hung):
    stub = seeded_stub()
    # The record's bytes as the filter makes them: from a first planning.
    recorded = check_plan_recorded(stub)

    steady = {}
    local = DownloadFilter(stub, settings_for())
    record_failures(local.failures, recorded)
    steady["a"] = local
    # (b): another worker wrote the failures; this one learns them.
    shared = DownloadFilter(stub, settings_for(live, STEADY_DEAD_RETRY))
    other = settings_for(live)
    record_failures(SharedFailureMemory(other.location_failure_ttl,
                                        other.failure_cache), recorded)
    steady["b"] = shared
    for case, server in (("c", killed), ("d", hung)):
        download_filter = DownloadFilter(
            stub, settings_for(server, STEADY_DEAD_RETRY))
        record_failures(download_filter.failures, recorded)
        planning(download_filter)()  # connects while memcached is alive
        steady[case] = download_filter
    WARNINGS.check("before the faults")
    for name, download_filter in steady.items():
        check_plan(name, planning(download_filter))
    if len(live.keys()) != 2:
        raise RuntimeError(f"memcached holds {live.keys()}, not 2 failures")

    killed.kill()
    hung.pause()
    for case in ("c", "d"):  # each finds the fault once, then leaves it
        check_plan(case, planning(steady[case]))
        if steady[case].failures._usable():
            raise RuntimeError(f"case {case}: the cache still looks usable")

    def fresh(server):
        """A filter of a new worker, the cache never reached yet: the
        failures are put in its own memory only, or writing them would be
        what finds the fault.
        """
        download_filter = DownloadFilter(stub, settings_for(server))
        record_failures(download_filter.failures, recorded,
                        in_process_only=True)
        if not download_filter.failures._usable():
            raise RuntimeError("a fresh filter's cache looks out already")
        return download_filter

    runs = {case: planning(download_filter)
            for case, download_filter in steady.items()}
    samples = {case: [] for case in ("a", "b", "c", "d", "c1", "d1")}
    print(f"{args.rounds} rounds ...", file=sys.stderr)
    for _ in range(args.rounds):
        for case, function in runs.items():
            samples[case].append(timed(function, args.number))
        for case, server, count in (("c1", killed, args.first_number),
                                    ("d1", hung, 1)):
            filters = [fresh(server) for _ in range(count)]
            for download_filter in filters:
                function = planning(download_filter)
                start = time.perf_counter()
                plan = function()
                samples[case].append(time.perf_counter() - start)
                if [c.url for c in plan.candidates] != EXPECTED:
                    raise RuntimeError(f"case {case}: wrong plan")
    report({case: statistics.median(values)
            for case, values in samples.items()}, args)


def check_plan_recorded(stub):
    probe = DownloadFilter(stub, settings_for())
    plan = planning(probe)()
    if plan is None:
        raise RuntimeError("the filter made no Serve plan for the image")
    return plan.recorded


ROWS = (  # label, case, target
    ("(a) in-process FailureMemory", "a", None),
    ("(b) shared, memcached live", "b", LIVE_TARGET),
    ("(c) shared, memcached killed: 1st request", "c1", DEAD_TARGET),
    ("(c) shared, memcached killed: steady", "c", DEAD_TARGET),
    ("(d) shared, memcached hung: steady", "d", DEAD_TARGET),
    ("(d) shared, memcached hung: 1st request", "d1", None),
)


def report(medians, args):
    print(f"one download's planning (record from the stub, 4 http locations, "
          f"2 failed), {args.rounds} rounds x {args.number} plannings "
          f"(1st requests: {args.first_number} / 1 a round, each a fresh "
          f"filter), medians")
    print(f"{'case':<44}{'per planning':>14}{'added vs (a)':>14}  "
          f"{'target':<10}result")
    base = medians["a"]
    for label, case, target in ROWS:
        added = medians[case] - base
        if target is None and case != "a":
            verdict, target_text = "(socket_timeout, when it hangs)", ""
        elif target is None:
            verdict, target_text = "", ""
        else:
            verdict = "PASS" if added < target else "FAIL"
            target_text = f"< {target * 1e3:g} ms"
        print(f"{label:<44}{medians[case] * 1e6:>11.1f} us"
              f"{'' if case == 'a' else f'{added * 1e3:+.3f} ms':>14}  "
              f"{target_text:<10}{verdict}")


class _Kept(logging.Handler):
    """Keeps the warnings, shown only if the set-up fails."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def check(self, stage):
        if self.records:
            raise RuntimeError(f"{stage}: " + "; ".join(
                record.getMessage() for record in self.records))


WARNINGS = _Kept()


def _stop(signum, frame):
    sys.exit(128 + signum)  # unwinds, so every memcached is stopped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--number", type=int, default=200,
                        help="plannings per steady case and round")
    parser.add_argument("--first-number", type=int, default=5,
                        help="first requests on a killed memcached a round")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    # A worker logs the cache going out once: the record is made, and kept
    # to tell a fault in the set-up from one the bench made.
    logger = logging.getLogger("loc_strategy_filter")
    logger.addHandler(WARNINGS)
    logger.propagate = False
    with memcacheds(3) as (live, killed, hung):
        run(args, live, killed, hung)


if __name__ == "__main__":
    main()
