"""Time real Glance 33 under load, alone and with the filter (issue 13).

One run, cases interleaved over ``--rounds`` (their order rotating), medians:

1. Downloads under load: glance-api under uWSGI, ``--processes`` workers
   of two threads each, ``--clients`` concurrent clients each downloading a
   ``--size-mib`` image ``--repeat`` times. The image's only location is
   its file in Glance's file store. Cases: Glance alone; Glance with the
   filter (``download_mode = auto``, ``file_dirs`` = the store, so the
   filter serves the file through uWSGI's ``wsgi.file_wrapper``, sendfile);
   and the filter with ``[location_strategy_filter] download_record_ttl``
   at ``--record-ttl`` seconds (the option's default unless given) beside
   the filter with it at 0, so that every download reads its record.
   Table: aggregate MB/s (10^6 bytes) and downloads/s, median and p90
   latency of one download, ratio to Glance alone (target >= 1.0x).
2. An image show and a 200-image list (two locations each: the upload's
   file, then an http mirror's) over HTTP, one request at a time, Glance
   alone and filtered taking turns request by request. Table: per-request
   medians and the time the filter adds (targets < 1 % for the show, < 2 %
   for the list). Two servers differ by a percent or two whatever they run,
   so the filter's own time is also measured in process, on the bodies
   Glance sent, over Glance's median time over HTTP: what the filter adds
   to each request. ``--profile`` prints its top costs.

All servers are one Glance deployment (``tests/integration/glance_api``):
one database and file store, the ``keystone`` pipeline without
``authtoken`` (the caller's identity headers, as authtoken would set them),
``location_strategy = store_type`` preferring http, then file.

Every answer is checked: each timed download's status and byte count, and
after each case's load one untimed download whose MD5 and SHA-512 must be
the record's; in the filtered cases, the workers that served must have
logged that they verified the file (once each, at INFO: from then on they
send it by the file wrapper; the line for each download is at DEBUG, which
a benchmark leaves off, as an operator does). Show and list answers are parsed:
the expected images, the locations in Glance's order (file first) alone,
the strategy's (http first, ``direct_url`` following) filtered. No glance-api
may log an ERROR, CRITICAL or traceback (checked after every round).

The clients are threads of this process, one ``http.client`` connection
per download (uWSGI's http-socket closes every connection, so keep-alive is
not on offer), with a timeout, reading into a reused buffer with
``readinto`` and hashing nothing on the timed path. That they are not the
bottleneck is measured, not assumed: each load case reports the CPU this
process used (% of one core), and a ceiling case runs the same clients
against uWSGI with the same processes and threads serving the same file
from ``--static-map`` (sendfile, no Python): its throughput is what the
clients can take on this machine with a server sharing the cores.

Servers and temporary files are removed on exit, Ctrl-C and SIGTERM
included.

    .cache/glance-venv/bin/python bench/bench_glance_load.py \\
        [--rounds 3] [--clients 32] [--size-mib 4] [--repeat 3] \\
        [--processes 4] [--record-ttl SECONDS] [--show-pairs 200] \\
        [--list-pairs 20] [--profile]
"""

import argparse
import contextlib
import cProfile
import hashlib
import http.client
import json
import os
import pathlib
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from loc_strategy_filter.middleware import LocationStrategyFilter  # noqa: E402
from loc_strategy_filter import options  # noqa: E402
from tests.integration.conftest import _unexpected_errors  # noqa: E402
from tests.integration.conftest import IDENTITY  # noqa: E402
from tests.integration.conftest import STORE_TYPE  # noqa: E402
from tests.integration import glance_api  # noqa: E402
from tests.integration.image_api import ImageApi  # noqa: E402
from tests.integration.mirror import Mirror  # noqa: E402

from bench_filter import request  # noqa: E402
from bench_locations import IMAGES  # noqa: E402
from bench_locations import seed_glance  # noqa: E402

RECORD_TTL = "download_record_ttl"
RECORD_TTL_DEFAULT = next(opt.default for opt in options.FILTER_OPTS
                          if opt.dest == RECORD_TTL)
BUFFER = 1 << 20
TIMEOUT = 120
DOWNLOAD_TARGET = 1.0
SHOW_TARGET, LIST_TARGET = 1.0, 2.0  # % the filter may add
# The strategy in process, as STORE_TYPE says it in glance-api.conf.
STRATEGY = {"location_strategy": "store_type",
            "store_type_preference": "http, file"}
PROFILE_NUMBER = 50


# --- Configuration -----------------------------------------------------------

def filter_config(deployment, record_ttl=None):
    values = {"download_mode": "auto",
              "file_dirs": str(deployment.images_dir)}
    if record_ttl is not None:
        values[RECORD_TTL] = str(record_ttl)
    return glance_api.merge_sections(
        STORE_TYPE, {"location_strategy_filter": values})


def load_cases(deployment, args):
    """``{case: server}`` of the download cases, and a note on the cache."""
    ttl = args.record_ttl
    servers = {
        "glance alone": deployment.add(
            "glance", filtered=False, processes=args.processes),
        "filter, no record cache": deployment.add(
            "filter", filter_config(deployment, 0),
            processes=args.processes),
        f"filter, record cache {ttl}s": deployment.add(
            "filter_cached", filter_config(deployment, ttl),
            processes=args.processes),
    }
    return servers, f"{RECORD_TTL}: 0 and {ttl} s"


# --- The static ceiling ------------------------------------------------------

@contextlib.contextmanager
def static_server(directory, processes, log_path):
    """uWSGI with the harness's processes and threads, serving
    ``directory`` at ``/static/`` itself (sendfile, no Python); its URL.
    """
    port = glance_api.free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [glance_api.venv_bin("uwsgi"),
             "--http-socket", f"127.0.0.1:{port}",
             "--master", "--processes", str(processes), "--threads", "2",
             "--static-map", f"/static={directory}", "--die-on-term",
             "--add-header", "Connection: close"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.head(f"{url}/static/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise glance_api.StartError(
                        f"static uWSGI did not start; see {log_path}")
                time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


# --- Downloads under load ----------------------------------------------------

class Target:
    """Where a load case downloads from: ``url`` + ``path``, with
    ``headers``; ``server`` is its glance-api, None for the ceiling.
    """

    def __init__(self, url, path, headers, server=None):
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.path = path
        self.headers = headers
        self.server = server

    def get(self):
        """An open connection and its response to a GET of the path."""
        connection = http.client.HTTPConnection(self.host, self.port,
                                                timeout=TIMEOUT)
        connection.request("GET", self.path, headers=self.headers)
        return connection, connection.getresponse()


def download_into(target, view, size):
    """One download, read into ``view`` and dropped; checks the count."""
    connection, response = target.get()
    try:
        if response.status != 200:
            raise AssertionError(f"{target.path}: {response.status} "
                                 f"{response.read(300)!r}")
        total = 0
        while count := response.readinto(view):
            total += count
    finally:
        connection.close()
    if total != size:
        raise AssertionError(f"{target.path}: {total} of {size} bytes")


def verified_download(target, image):
    """An untimed download, whose digests must be the record's."""
    connection, response = target.get()
    try:
        data = response.read()
    finally:
        connection.close()
    assert response.status == 200, (response.status, data[:300])
    assert len(data) == image["size"], len(data)
    assert hashlib.md5(data).hexdigest() == image["checksum"]
    assert (hashlib.new(image["os_hash_algo"], data).hexdigest()
            == image["os_hash_value"])


def load(target, clients, repeat, size):
    """``clients`` threads downloading ``repeat`` times each, all at once:
    (wall seconds, latencies, this process's CPU seconds).
    """
    barrier = threading.Barrier(clients + 1)
    latencies, failures = [], []

    def client():
        view = memoryview(bytearray(BUFFER))
        try:
            barrier.wait(timeout=TIMEOUT)
            for _ in range(repeat):
                start = time.perf_counter()
                download_into(target, view, size)
                latencies.append(time.perf_counter() - start)
        except BaseException as exc:  # noqa: B036 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=TIMEOUT)
    start, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join(TIMEOUT * repeat)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if failures or len(latencies) != clients * repeat:
        raise AssertionError(f"{target.path}: {len(latencies)} of "
                             f"{clients * repeat} downloads; {failures[:3]}")
    return wall, latencies, cpu


def verified_by_filter(server, image_id):
    """How many times ``server``'s workers found the image's file verified
    (at INFO, once each, or once a thread when they stream it side by
    side): from then on they send it by the file wrapper.
    """
    return server.log().count(
        f"Image {image_id}: the file of location 0 matched the image's "
        "record")


def run_load(name, target, image, args, samples):
    size = image["size"]
    wall, latencies, cpu = load(target, args.clients, args.repeat, size)
    if target.server is not None and name != "glance alone":
        verified = verified_by_filter(target.server, image["id"])
        # Each thread of a worker may stream the file once, side by side,
        # before the worker knows it verified.
        assert 1 <= verified <= 2 * args.processes, (
            f"{name}: {verified} threads verified the file")
    verified_download(target, image)
    sample = samples.setdefault(name, {"mbps": [], "per_s": [], "cpu": [],
                                       "latencies": []})
    count = args.clients * args.repeat
    sample["mbps"].append(count * size / wall / 1e6)
    sample["per_s"].append(count / wall)
    sample["cpu"].append(cpu / wall * 100)
    sample["latencies"].extend(latencies)


# --- Show and list -----------------------------------------------------------

def timed_get(target):
    """(seconds, body) of one GET, connection included."""
    start = time.perf_counter()
    connection, response = target.get()
    try:
        body = response.read()
    finally:
        connection.close()
    elapsed = time.perf_counter() - start
    assert response.status == 200, (response.status, body[:300])
    return elapsed, body


def check_image(image, first):
    """Two locations, ``first`` ('file' or 'http') first, and direct_url
    the first's.
    """
    urls = [location["url"] for location in image["locations"]]
    assert len(urls) == 2 and urls[0].startswith(f"{first}:"), urls
    assert image["direct_url"] == urls[0], (image["direct_url"], urls)


def check_show(body, image_id, first):
    image = json.loads(body)
    assert image["id"] == image_id, image
    check_image(image, first)


def check_list(body, image_ids, first):
    images = json.loads(body)["images"]
    assert {image["id"] for image in images} == image_ids, len(images)
    for image in images:
        check_image(image, first)


def paired(targets, number, check, samples):
    """``number`` turns of one request to each of ``targets`` (``{case:
    (target, first)}``), request by request; checked, timed.
    """
    for _ in range(number):
        for name, (target, first) in targets.items():
            elapsed, body = timed_get(target)
            check(body, first)
            samples.setdefault(name, []).append(elapsed)


# --- Profile of the filter's list path ---------------------------------------

def recorded_upstream(status, headers, body):
    """A WSGI app that answers every request with the recorded answer."""
    headers = [(name, value) for name, value in headers
               if name.lower() not in ("connection", "transfer-encoding")]

    def app(environ, start_response):
        start_response(status, headers)
        return [body]
    return app


def recorded_runs(target, path, query):
    """One request's body from Glance, and a run of it in process alone
    and through the filter.
    """
    connection, response = target.get()
    try:
        body = response.read()
        headers = response.getheaders()
        status = f"{response.status} {response.reason}"
    finally:
        connection.close()
    upstream = recorded_upstream(status, headers, body)
    filtered = LocationStrategyFilter(upstream, STRATEGY)
    return body, request(upstream, path, query), request(filtered, path,
                                                         query)


def filter_seconds(alone_run, filtered_run):
    """The filter's own time per request, in process: the median of 5
    interleaved batches of ``PROFILE_NUMBER`` each way, one from the
    other.
    """
    times = {alone_run: [], filtered_run: []}
    for _ in range(5):
        for run in times:
            start = time.perf_counter()
            for _ in range(PROFILE_NUMBER):
                run()
            times[run].append((time.perf_counter() - start) / PROFILE_NUMBER)
    return (statistics.median(times[filtered_run])
            - statistics.median(times[alone_run]))


def profile(filtered_run):
    """The top costs of ``filtered_run``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILE_NUMBER):
        filtered_run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.strip_dirs().sort_stats("tottime").print_stats(12)
    stats.sort_stats("cumulative").print_stats(15)


# --- The run ---------------------------------------------------------------

def seed(server, mirror, size):
    """The download image (created first: the newest ``IMAGES``, listed,
    are the list's), then the list's images with a mirror location each.
    """
    api = ImageApi(server.url, server.headers)
    created = api.create(name="bench-load")
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = api.upload(image_id, os.urandom(size))
    assert uploaded.status_code == 204, uploaded.text
    image = api.show(image_id).json()
    assert len(image["locations"]) == 1, image["locations"]
    assert image["locations"][0]["url"].startswith("file://"), image

    listed = seed_glance(server, requests)

    # One at a time: concurrent writes to Glance's sqlite fail.
    for listed_id in listed:
        url = mirror.publish(f"/images/{listed_id}", b"x" * 1024)
        added = api.add_location(listed_id, url)
        assert added.status_code == 200, added.text
    return image, listed


def check_logs(servers, starts):
    for name, server in servers.items():
        errors = _unexpected_errors(server.log(since=starts[name]), ())
        assert not errors, f"glance-api {name} logged errors: {errors[:3]}"


def rotated(items, by):
    items = list(items)
    by %= len(items)
    return items[by:] + items[:by]


def main():
    args = arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = pathlib.Path(tempfile.mkdtemp(prefix="bench-glance-load-"))
    try:
        with Mirror() as mirror:
            bench(args, root, mirror)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench(args, root, mirror):
    size = args.size_mib << 20
    deployment = glance_api.Deployment(
        "bench", root / "glance", [mirror.port], identity=IDENTITY,
        filter_log_level="INFO")
    servers, cache_note = load_cases(deployment, args)
    glance, filtered = servers["glance alone"], list(servers.values())[1]
    try:
        print(f"Starting {len(servers)} glance-api servers ...", flush=True)
        deployment.start(timeout=180)
        starts = {name: server.log_end() for name, server in servers.items()}
        image, listed = seed(glance, mirror, size)
        static_dir = root / "static"
        static_dir.mkdir()
        (static_dir / "image").write_bytes(
            (deployment.images_dir / image["id"]).read_bytes())
        with static_server(static_dir, args.processes,
                           root / "static.log") as static_url:
            targets = {name: Target(server.url,
                                    f"/v2/images/{image['id']}/file",
                                    server.headers, server)
                       for name, server in servers.items()}
            targets["ceiling: uWSGI static"] = Target(
                static_url, "/static/image", {})
            results = rounds(args, targets, image, glance, filtered,
                             set(listed), listed[0], servers, starts)
        report(args, results, cache_note)
        report_filter_time(args, results, glance, listed[0])
    finally:
        deployment.stop()


def rounds(args, targets, image, glance, filtered, listed, shown_id,
           servers, starts):
    def turns(path):
        return {"glance alone": (Target(glance.url, path, glance.headers),
                                 "file"),
                "filter": (Target(filtered.url, path, filtered.headers),
                           "http")}

    show = turns(f"/v2/images/{shown_id}")
    lists = turns(f"/v2/images?limit={IMAGES}")
    results = {"load": {}, "show": {}, "list": {}}
    # Every worker of every server warmed (its first requests load code),
    # untimed.
    for target in targets.values():
        load(target, args.clients, 1, image["size"])
    paired(show, 10, lambda body, first: check_show(body, shown_id, first),
           {})
    paired(lists, 2, lambda body, first: check_list(body, listed, first), {})
    for turn in range(args.rounds):
        print(f"round {turn + 1} of {args.rounds}", flush=True)
        for name, target in rotated(targets.items(), turn):
            run_load(name, target, image, args, results["load"])
        shows, listings = {}, {}
        paired(dict(rotated(show.items(), turn)), args.show_pairs,
               lambda body, first: check_show(body, shown_id, first), shows)
        paired(dict(rotated(lists.items(), turn)), args.list_pairs,
               lambda body, first: check_list(body, listed, first), listings)
        for name in shows:
            results["show"].setdefault(name, []).append(shows[name])
            results["list"].setdefault(name, []).append(listings[name])
        check_logs(servers, starts)
    return results


# --- The report --------------------------------------------------------------

def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def added_percent(per_round):
    """(% over all requests' medians, [% of each round])."""
    alone, filtered = per_round["glance alone"], per_round["filter"]

    def added(a, f):
        return (statistics.median(f) / statistics.median(a) - 1) * 100
    pooled = added([t for r in alone for t in r],
                   [t for r in filtered for t in r])
    return pooled, [added(a, f) for a, f in zip(alone, filtered)]


def report(args, results, cache_note):
    print(f"\nDownloads under load: {args.clients} clients x {args.repeat} "
          f"downloads of a {args.size_mib} MiB image, uWSGI "
          f"{args.processes} processes x 2 threads, {args.rounds} rounds "
          f"(medians; latency over all downloads); {cache_note}")
    print(f"{'case':<30}{'MB/s':>8}{'dl/s':>8}{'median':>10}{'p90':>10}"
          f"{'/ glance':>10}{'rounds':>17}{'client CPU':>12}")
    load = results["load"]
    base = load["glance alone"]["mbps"]
    for name, sample in load.items():
        ratios = [m / b for m, b in zip(sample["mbps"], base)]
        ratio = statistics.median(sample["mbps"]) / statistics.median(base)
        is_filter = name.startswith("filter")
        verdict = ("" if not is_filter else
                   f"  {'met' if ratio >= DOWNLOAD_TARGET else 'MISSED'} "
                   f">= {DOWNLOAD_TARGET}x")
        print(f"{name:<30}{statistics.median(sample['mbps']):>8.0f}"
              f"{statistics.median(sample['per_s']):>8.1f}"
              f"{statistics.median(sample['latencies']) * 1e3:>8.0f}ms"
              f"{percentile(sample['latencies'], 0.9) * 1e3:>8.0f}ms"
              f"{ratio:>9.2f}x"
              f"{min(ratios):>8.2f}-{max(ratios):.2f}x"
              f"{statistics.median(sample['cpu']):>11.0f}%{verdict}")
    print(f"\nImage show and {IMAGES}-image list (2 locations each), one "
          f"request at a time, alone and filtered in turn: "
          f"{args.rounds} rounds x {args.show_pairs} shows, "
          f"x {args.list_pairs} lists (medians)")
    print(f"{'request':<12}{'glance':>11}{'filter':>11}{'added':>11}"
          f"{'added %':>9}{'rounds':>17}{'target':>9}")
    for kind, target in (("show", SHOW_TARGET), ("list", LIST_TARGET)):
        per_round = results[kind]
        alone = statistics.median(t for r in per_round["glance alone"]
                                  for t in r)
        through = statistics.median(t for r in per_round["filter"] for t in r)
        pooled, each = added_percent(per_round)
        print(f"{kind:<12}{alone * 1e3:>9.2f}ms{through * 1e3:>9.2f}ms"
              f"{(through - alone) * 1e3:>9.2f}ms{pooled:>8.1f}%"
              f"{min(each):>8.1f}..{max(each):.1f}%"
              f"{'< ' + str(target) + '%':>9}"
              f"{'  met' if pooled < target else '  MISSED'}")


def report_filter_time(args, results, glance, shown_id):
    """The filter's own time, in process on the bodies Glance sent, over
    Glance's median time for the request over HTTP: what the filter adds,
    free of the difference between two servers.
    """
    print(f"\nThe filter's own time in process, on the body Glance sent "
          f"(median of 5 x {PROFILE_NUMBER}), over Glance's median above:")
    for kind, path, query, target in (
            ("show", f"/v2/images/{shown_id}", "", SHOW_TARGET),
            ("list", "/v2/images", f"limit={IMAGES}", LIST_TARGET)):
        body, alone_run, filtered_run = recorded_runs(Target(
            glance.url, f"{path}?{query}" if query else path,
            glance.headers), path, query)
        seconds = filter_seconds(alone_run, filtered_run)
        alone = statistics.median(t for r in results[kind]["glance alone"]
                                  for t in r)
        added = seconds / alone * 100
        print(f"{kind:<12}{len(body):>9} bytes{seconds * 1e3:>9.3f}ms"
              f"{added:>8.2f}%{'< ' + str(target) + '%':>9}"
              f"{'  met' if added < target else '  MISSED'}")
        if args.profile:
            profile(filtered_run)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--size-mib", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3,
                        help="downloads per client and round")
    parser.add_argument("--processes", type=int, default=4,
                        help="uWSGI workers per glance-api (2 threads each)")
    parser.add_argument("--record-ttl", type=int, default=RECORD_TTL_DEFAULT,
                        help=f"seconds of [location_strategy_filter] "
                             f"{RECORD_TTL} for the cached case (default: "
                             "the option's)")
    parser.add_argument("--show-pairs", type=int, default=200,
                        help="shows per case and round")
    parser.add_argument("--list-pairs", type=int, default=20,
                        help="lists per case and round")
    parser.add_argument("--profile", action="store_true",
                        help="print the top costs of the filter's show and "
                             "list paths")
    return parser.parse_args()


if __name__ == "__main__":
    main()
