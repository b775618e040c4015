"""Time whole-image downloads through the filter inside real Glance.

Issue 13, section 5, in one run. One image (``--size-mib``, 1 GiB by
default) is uploaded to a real Glance 33 (the integration tier's harness:
glance-api under uWSGI, one worker of two threads per server, one sqlite
database and file store), its file read once into the page cache, and the
store's directory served by nginx, which is also the image's second
location, an http mirror. Then every case is fetched with curl over
loopback, the cases taking turns (in a rotated order) for ``--rounds``
rounds; each figure is a median:

(A) nginx's sendfile of the image file (which is the mirror's direct
    download too: the same server, file and URL); Glance alone (its own
    paste file, no filter); Glance with the filter serving the file
    location (``download_mode = serve``, ``location_order``). Targets:
    filter >= 0.95x nginx and >= 1.0x Glance alone.
(B) the filter serving the mirror (``store_type = http, file``, Glance's
    files out of its reach) with ``verify_checksums`` = ``strongest``
    (SHA-512), ``all`` (MD5 + SHA-512) and ``off`` (size only); and, as
    cases of their own in the same rounds, this machine's hashing of the
    image's size in 1 MiB buffers, one thread per digest, the threads side
    by side. Targets: strongest and all >= 0.9x their hashing, off >= 0.8x
    nginx direct.
(C) the peak RSS (VmHWM) of a freshly started uWSGI worker after one
    download of a 10 MiB image and, restarted, of the big one, through the
    filter from the file and from the mirror (``all``): within 10 MiB.

Before the timed rounds each download case is fetched once, untimed, with
curl's output hashed: it must be the image's SHA-512 as Glance recorded it.
Every download, timed or not, must be a 200 of the image's size, and must
have been served by the intended party: uWSGI logged the whole body sent;
the filter logged that the intended location served it (file, or mirror
location 1); nginx's access log shows one more GET of the image for the
mirror cases and direct downloads, none for the others. At the end no
glance-api may have logged an ERROR or a traceback. MB is 10^6 bytes.

Needs nginx (from PATH, or ``apt-get install nginx-light`` when root) and
curl. Everything runs on 127.0.0.1; every download has a timeout; the
temporary directory and every server are removed on exit, Ctrl-C and
SIGTERM included.

    tools/glance-venv.sh
    .cache/glance-venv/bin/python bench/bench_glance_download.py \\
        [--size-mib 1024] [--rounds 5] [--timeout 120]

A quick look: ``--size-mib 64 --rounds 2``.
"""

import argparse
import dataclasses
import functools
import hashlib
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench_download import add_download_options  # noqa: E402
from bench_download import BLOCK  # noqa: E402
from bench_download import counted  # noqa: E402
from bench_download import curl  # noqa: E402
from bench_download import find_nginx  # noqa: E402
from bench_download import mirror_reads  # noqa: E402
from bench_download import peak_rss_mib  # noqa: E402
from bench_download import print_peak_rss  # noqa: E402
from bench_download import SMALL_MIB  # noqa: E402
from bench_download import static_server  # noqa: E402
from bench_download import unwind_on_sigterm  # noqa: E402
from bench_download import warm  # noqa: E402
from bench_download import write_image  # noqa: E402
from tests.integration.conftest import _unexpected_errors  # noqa: E402
from tests.integration.conftest import LOCATION_ORDER  # noqa: E402
from tests.integration.conftest import READ_THE_MIRRORS  # noqa: E402
from tests.integration.conftest import SERVE  # noqa: E402
from tests.integration.conftest import STORE_TYPE  # noqa: E402
from tests.integration import glance_api  # noqa: E402
from tests.integration.image_api import ImageApi  # noqa: E402

START_TIMEOUT = 240  # five Glance servers loading at once on two cores
#: The digests each verification mode computes (the record has SHA-512).
DIGESTS = {"strongest": ("sha512",), "all": ("md5", "sha512"), "off": ()}


# The filter's configuration.

def filter_section(**values):
    return {"location_strategy_filter": values}


def add_servers(deployment, elsewhere):
    """The servers, by case name: Glance alone, the filter on the file,
    the filter on the mirror in each verification mode.
    """
    servers = {
        "glance": deployment.add("bare", filtered=False),
        "file": deployment.add("file", glance_api.merge_sections(
            LOCATION_ORDER, SERVE)),
    }
    for mode in DIGESTS:
        servers[f"mirror {mode}"] = deployment.add(
            f"mirror_{mode}", glance_api.merge_sections(
                STORE_TYPE, READ_THE_MIRRORS, SERVE, filter_section(
                    file_dirs=elsewhere,
                    verify_checksums=mode)))
    return servers


# The images.

@dataclasses.dataclass
class Image:
    id: str
    size: int
    sha512: str
    mirror_url: str


def make_image(api, deployment, mirror_base, work, mib):
    """An image of ``mib`` MiB uploaded to Glance, then given the mirror's
    URL of Glance's own file as its second location; Glance must have
    recorded what was written.
    """
    source = work / f"upload-{mib}"
    written = write_image(source, mib)
    created = api.create(name=f"bench-{mib}-mib")
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    with open(source, "rb") as data:
        uploaded = api.upload(image_id, data)
    assert uploaded.status_code == 204, uploaded.text
    source.unlink()
    mirror_url = f"{mirror_base}/{image_id}"
    located = api.add_location(image_id, mirror_url)
    assert located.status_code == 200, located.text
    record = api.show(image_id).json()
    assert (record["size"], record["checksum"], record["os_hash_algo"],
            record["os_hash_value"]) == (
        written["size"], written["md5"], "sha512", written["sha512"]), record
    assert [location["url"] for location in record["locations"]][1:] == [
        mirror_url], record["locations"]
    warm(deployment.images_dir / image_id)
    return Image(image_id, written["size"], written["sha512"], mirror_url)


# Who served a download: each witness is called before it and returns the
# check to make after it.

def witness_count(count_now, expected, what):
    before = count_now()

    def confirm():
        counted(count_now, before + expected)
        seen = count_now() - before
        if seen != expected:
            raise RuntimeError(f"{what}: seen {seen} times, expected "
                               f"{expected}")
    return confirm


def logged(server, pattern, expected=1):
    """``pattern`` (a regular expression) matches ``expected`` more times
    in ``server``'s log.
    """
    def witness():
        since = server.log_end()
        return witness_count(
            lambda: len(re.findall(pattern, server.log(since))), expected,
            f"{server.name} logging {pattern!r}")
    return witness


def mirror_gets(access_log, image, expected):
    """nginx's access log shows ``expected`` more GETs of ``image``."""
    def witness():
        return witness_count(lambda: mirror_reads(access_log, image.id),
                             expected, f"nginx GET of {image.id}")
    return witness


@dataclasses.dataclass
class Download:
    """A download of the whole of ``image`` from ``url``, and who must
    have served it.
    """

    url: str
    image: Image
    witnesses: tuple
    timeout: int

    def seconds(self):
        """curl's time for it, checked."""
        confirms = [witness() for witness in self.witnesses]
        status, received, seconds = curl(self.url, self.timeout)
        self._check(status, received)
        for confirm in confirms:
            confirm()
        return seconds

    def check_bytes(self):
        """One download, untimed, whose bytes must hash to the image's."""
        confirms = [witness() for witness in self.witnesses]
        status, received, sha512 = curl_digest(self.url, self.timeout)
        self._check(status, received)
        if sha512 != self.image.sha512:
            raise RuntimeError(f"{self.url}: wrong bytes (SHA-512 {sha512})")
        for confirm in confirms:
            confirm()

    def _check(self, status, received):
        if (status, received) != (200, self.image.size):
            raise RuntimeError(f"{self.url}: HTTP {status}, {received} bytes;"
                               f" expected 200 and {self.image.size} bytes")


def curl_digest(url, timeout):
    """``(status, bytes, SHA-512)`` of what curl wrote for ``url``."""
    sha512 = hashlib.sha512()
    with subprocess.Popen(
            ["curl", "-s", "-o", "-", "--max-time", str(timeout),
             "-w", "%{stderr}%{http_code} %{size_download}", url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        while chunk := process.stdout.read(BLOCK):
            sha512.update(chunk)
        status, received = process.stderr.read().split()
        process.wait(timeout)
    return int(status), int(received), sha512.hexdigest()


def glance_download(server, image, witnesses, timeout):
    """``image`` from ``server``, whose uWSGI must log the whole body."""
    sent = re.escape(f"GET /v2/images/{image.id}/file => generated "
                     f"{image.size} bytes")
    return Download(f"{server.url}/v2/images/{image.id}/file", image,
                    (logged(server, sent), *witnesses), timeout)


def from_file(server, image, access_log, timeout):
    """The filter on ``server`` serving ``image``'s file location: the
    first time in a worker streamed and verified (it logs the bytes), then
    by the file wrapper.
    """
    return glance_download(server, image, (
        logged(server, re.escape(f"Image {image.id}: ")
               + f"(bytes 0 to {image.size} )?"
               + re.escape("served by location 0 (file store)")),
        mirror_gets(access_log, image, 0)), timeout)


def from_mirror(server, image, access_log, timeout):
    """The filter on ``server`` serving ``image``'s mirror location."""
    return glance_download(server, image, (
        logged(server, re.escape(f"Image {image.id}: bytes 0 to {image.size} "
                                 "served by location 1 (http store)")),
        mirror_gets(access_log, image, 1)), timeout)


def downloads(servers, image, access_log, timeout):
    """Every download case of ``image``, by name."""
    cases = {
        "nginx": Download(image.mirror_url, image,
                          (mirror_gets(access_log, image, 1),), timeout),
        "glance": glance_download(servers["glance"], image,
                                  (mirror_gets(access_log, image, 0),),
                                  timeout),
        "file": from_file(servers["file"], image, access_log, timeout),
    }
    for mode in DIGESTS:
        cases[f"mirror {mode}"] = from_mirror(servers[f"mirror {mode}"],
                                              image, access_log, timeout)
    return cases


# The machine's own hashing.

def hashing_seconds(names, total, block=BLOCK):
    """Seconds for one thread per digest of ``names``, side by side, to
    hash ``total`` bytes each in ``block``-sized updates (hashlib lets go of
    the GIL for them).
    """
    buffer = os.urandom(block)
    count = total // block

    def run(name):
        digest = hashlib.new(name)
        for _ in range(count):
            digest.update(buffer)

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


# The rounds.

def measure(cases, size, rounds):
    """MB/s of each case (``name -> seconds()``), per round; the cases
    take turns, each round starting one case further on.
    """
    names = list(cases)
    seconds = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(cases[name]())
        print(f"  round {index + 1} of {rounds} done", file=sys.stderr)
    return {name: [size / value / 1e6 for value in values]
            for name, values in seconds.items()}


def peak_rss(server, download, errors):
    """VmHWM (MiB) of ``server``'s freshly restarted worker after
    ``download()`` (the case, made once the server has its new port).
    """
    server.stop()
    errors.read(server)
    server.start()
    server.wait_ready(time.monotonic() + START_TIMEOUT)
    errors.up(server)
    download().seconds()
    return peak_rss_mib(server.process)


class ErrorWatch:
    """The ERROR records and tracebacks of servers from when they are up
    to when they stop. Not before: Glance, loading, logs an ERROR for
    each store it cannot load (cinder, without os_brick), which the
    integration tier does not count either.
    """

    def __init__(self):
        self.found = {}
        self._since = {}

    def up(self, server):
        self._since[server.name] = server.log_end()

    def read(self, server):
        log = server.log(since=self._since.pop(server.name))
        if errors := _unexpected_errors(log, ()):
            self.found.setdefault(server.name, []).extend(errors)


# The report.

ROWS = (  # label, case
    ("nginx sendfile, direct (file = mirror)", "nginx"),
    ("Glance alone (uWSGI), file store", "glance"),
    ("Glance + filter, file location", "file"),
    ("Glance + filter, mirror, strongest", "mirror strongest"),
    ("Glance + filter, mirror, all", "mirror all"),
    ("Glance + filter, mirror, off", "mirror off"),
    ("hashlib sha512, 1 thread", "hash strongest"),
    ("hashlib md5 + sha512, a thread each", "hash all"),
)
TARGETS = (  # case, reference, target ratio
    ("file", "nginx", 0.95),
    ("file", "glance", 1.0),
    ("mirror strongest", "hash strongest", 0.9),
    ("mirror all", "hash all", 0.9),
    ("mirror off", "nginx", 0.8),
)


def print_table(args, speeds, rss):
    median = {name: statistics.median(values)
              for name, values in speeds.items()}
    print(f"{args.size_mib} MiB image in the page cache, curl over loopback, "
          f"median of {args.rounds} rounds; glance-api: uWSGI, 1 worker, 2 "
          f"threads; {os.cpu_count()} CPUs")
    print(f"{'case':<42}{'MB/s':>7}{'min-max':>12}")
    for label, name in ROWS:
        spread = f"{min(speeds[name]):.0f}-{max(speeds[name]):.0f}"
        print(f"{label:<42}{median[name]:>7.0f}{spread:>12}")
    print(f"{'target':<42}{'ratio':>7}{'wanted':>12}  result")
    for name, reference, target in TARGETS:
        ratio = median[name] / median[reference]
        verdict = "PASS" if ratio >= target else "MISSED"
        print(f"{name + ' / ' + reference:<42}{ratio:>6.2f}x"
              f"{f'>= {target:.2f}x':>12}  {verdict}")
    print_peak_rss("uWSGI", args.size_mib, rss)


# The run.

def run(args, work):
    """Everything, inside the temporary directory ``work``."""
    os.chmod(work, 0o755)  # nginx's workers may run as another user
    nginx = find_nginx()
    if nginx is None:
        raise SystemExit("nginx is needed (PATH, or run as root to install "
                         "Debian's nginx-light)")
    root = work / "glance"
    (root / "images").mkdir(parents=True)
    (work / "nginx").mkdir()
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    with static_server(str(work / "nginx"), str(root / "images"),
                       nginx) as (_, mirror_base, access_log):
        port = int(mirror_base.rsplit(":", 1)[1])
        deployment = glance_api.Deployment("bench", root, [port])
        servers = add_servers(deployment, str(elsewhere))
        try:
            print("starting glance-api servers ...", file=sys.stderr)
            deployment.start(timeout=START_TIMEOUT)
            errors = ErrorWatch()
            for server in servers.values():
                errors.up(server)
            api = ImageApi(servers["glance"].url)
            print(f"uploading a {args.size_mib} MiB and a {SMALL_MIB} MiB "
                  "image ...", file=sys.stderr)
            big = make_image(api, deployment, mirror_base, work,
                             args.size_mib)
            small = make_image(api, deployment, mirror_base, work, SMALL_MIB)
            cases = downloads(servers, big, access_log, args.timeout)
            print("checking each case's bytes ...", file=sys.stderr)
            for case in cases.values():
                case.check_bytes()
            timed = {name: case.seconds for name, case in cases.items()}
            for mode in ("strongest", "all"):
                timed[f"hash {mode}"] = (
                    lambda names=DIGESTS[mode]: hashing_seconds(names,
                                                                big.size))
            print(f"downloading, {args.rounds} rounds ...", file=sys.stderr)
            speeds = measure(timed, big.size, args.rounds)
            print("peak RSS in fresh workers ...", file=sys.stderr)
            rss = {}
            for label, name, case in (
                    ("filter, file location", "file", from_file),
                    ("filter, mirror (all)", "mirror all", from_mirror)):
                server = servers[name]
                rss[label] = [peak_rss(server, functools.partial(
                    case, server, image, access_log, args.timeout), errors)
                    for image in (small, big)]
        finally:
            deployment.stop()
        for server in servers.values():
            errors.read(server)
    print_table(args, speeds, rss)
    if errors.found:
        print(f"glance-api logged errors: {errors.found}", file=sys.stderr)
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed downloads per case; the median counts")
    add_download_options(parser)
    args = parser.parse_args()
    unwind_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="bench-glance-download-") as work:
        run(args, pathlib.Path(work))


if __name__ == "__main__":
    main()
