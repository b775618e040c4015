"""Time whole-image downloads through the filter against nginx and a mirror.

A 1 GiB image in the page cache is fetched with curl over loopback, side by
side in one run: (a) nginx's static sendfile; (b) the filter serving the
image's file location (gunicorn's ``wsgi.file_wrapper``, so sendfile too);
(c) the stub image API's own download, no filter; (d) a direct download
from the http mirror (the same nginx); (e) the filter serving the mirror,
checking it as it streams (``verify_checksums``' default, strongest: the
SHA-512 the stub records). A worker verifies a file location the first
time it serves it: each case is fetched once, untimed, before the runs.
Each figure is the median of
``--runs`` downloads, every one of which must bring the whole image; the
cases take turns so that drift hits all of them alike. Then the peak RSS
(VmHWM) of a fresh gunicorn worker after one 10 MiB and after one 1 GiB
download, for the file and for the mirror path. Targets (the download
issue): (b) >= 0.9x (a); (e) >= 0.5x (d); peak RSS within 10 MiB between
the two sizes. MB is 10^6 bytes.

The image API is the stub, seeded with the images (a file location, then
the mirror's http location, with the size and checksums an upload records),
under gunicorn's sync worker on 127.0.0.1. nginx comes from PATH or, when
run as root, from ``apt-get install nginx-light``; without it, Python's
``http.server`` plays the static server and the table says so. Everything
runs on loopback, every download has a timeout, and the temporary files and
servers are removed on exit.

    pip install -e '.[bench]'
    python bench/bench_download.py [--runs N] [--size-mib 1024]
"""

import argparse
import collections
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import wsgiref.util

from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter_stub import StubImageAPI

BLOCK = 1 << 20
SMALL_MIB = 10
BIG_ID = "b16b16b1-0000-4000-8000-000000000001"
SMALL_ID = "5a5a5a5a-0000-4000-8000-000000000002"
APP_ENV = "BENCH_DOWNLOAD_APP"  # the app factory's configuration, as JSON
START_TIMEOUT = 30
RSS_TARGET_MIB = 10


# The WSGI application gunicorn serves (imported by it from this file).

def app_from_env():
    """The application described by ``$BENCH_DOWNLOAD_APP``: gunicorn's
    app factory, ``bench_download:app_from_env()``.
    """
    return build_app(json.loads(os.environ[APP_ENV]))


def build_app(config):
    """The stub, seeded with ``config["images"]``, behind the filter unless
    ``config["filter"]`` is None.
    """
    stub = StubImageAPI(data_dir=config["data_dir"],
                        show_multiple_locations=True,
                        show_image_direct_url=True)
    for image in config["images"]:
        seed(stub, image)
    if config["filter"] is None:
        return stub
    return LocationStrategyFilter(stub, config["filter"])


def seed(stub, image):
    """An active image whose data is the file already in the stub's data
    directory: its file location first, then the mirror's.
    """
    stub.create_image(id=image["id"], name=image["id"], disk_format="raw",
                      container_format="bare")
    path = stub.data_dir.path_for(image["id"])
    stub.add_location(image["id"], stub.data_dir.url_for(path))
    stub.add_location(image["id"], image["mirror_url"])
    recorded = {"size": image["size"], "checksum": image["md5"],
                "os_hash_algo": "sha512", "os_hash_value": image["sha512"]}
    # What an upload records; set directly so that no worker copies 1 GiB.
    stub.catalog.update(image["id"], lambda record: {**record, **recorded})


# The image files.

def write_image(path, mib):
    """``mib`` MiB of incompressible bytes at ``path``, flushed to disk;
    its description for the app factory (without the mirror URL).
    """
    block = bytearray(os.urandom(BLOCK))
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    with open(path, "wb") as out:
        for index in range(mib):
            block[:8] = index.to_bytes(8, "little")  # every MiB differs
            out.write(block)
            md5.update(block)
            sha512.update(block)
        out.flush()
        os.fsync(out.fileno())  # no write-back during the measurements
    return {"id": os.path.basename(path), "size": mib * BLOCK,
            "md5": md5.hexdigest(), "sha512": sha512.hexdigest()}


def warm(path):
    """Read ``path`` once, so that every server finds it in the page cache."""
    buffer = bytearray(BLOCK)
    with open(path, "rb", buffering=0) as source:
        while source.readinto(buffer):
            pass


def hash_speeds(chunk_size=64 * 1024, total=256 * BLOCK):
    """MB/s of MD5, SHA-512, and both over the same chunks (what the
    filter's verifier does), on this machine.
    """
    chunk = os.urandom(chunk_size)
    count = total // chunk_size

    def speed(*factories):
        digests = [factory() for factory in factories]
        start = time.perf_counter()
        for _ in range(count):
            for digest in digests:
                digest.update(chunk)
        return total / (time.perf_counter() - start) / 1e6

    return {"md5": speed(lambda: hashlib.md5(usedforsecurity=False)),
            "sha512": speed(hashlib.sha512),
            "md5 + sha512": speed(lambda: hashlib.md5(usedforsecurity=False),
                                  hashlib.sha512)}


# Servers: each one a subprocess on a free loopback port, stopped on exit.

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(command, log_path, env=None):
    """``command`` as a subprocess with its output in ``log_path``."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(url, process, log_path):
    """Returns once ``url`` answers with any HTTP status."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url}: the server exited; see {tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url}: no answer in {START_TIMEOUT}s; "
                       f"see {tail(log_path)}")


def tail(log_path, lines=15):
    with open(log_path, errors="replace") as log:
        return "\n" + "".join(log.readlines()[-lines:])


def find_nginx(allow_install=True):
    """nginx's path; installs Debian's ``nginx-light`` when root and it is
    missing. None when there is no nginx to be had.
    """
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found or not allow_install or os.geteuid() != 0:
        return found
    if not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*words):
        print("$ apt-get", *words, file=sys.stderr)
        return subprocess.run(["apt-get", *words], env=env, timeout=600,
                              stdout=subprocess.DEVNULL,
                              check=False).returncode == 0

    install = ("install", "-y", "-q", "nginx-light")
    if not apt_get(*install):  # perhaps no package lists yet
        apt_get("update", "-q") and apt_get(*install)
    return find_nginx(allow_install=False)


NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/static.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;  # TCP_CORK, as in Debian's own nginx.conf
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


@contextlib.contextmanager
def static_server(work, root, nginx):
    """A static file server for ``root``: ``(name, base URL, access log)``.

    Both servers log each request line with its status in the access log,
    which tells whether the filter really read the mirror.
    """
    port = free_port()
    if nginx:
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as out:
            out.write(NGINX_CONF.format(work=work, port=port,
                                        root=root))
        command = [nginx, "-p", work, "-e", os.path.join(work, "static.log"),
                   "-c", conf]
        name, log = "nginx (sendfile)", os.path.join(work, "static.log")
        access = os.path.join(work, "access.log")
    else:
        command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                   "--directory", root, str(port)]
        name = "python http.server (no nginx)"
        log = access = os.path.join(work, "static.log")
    url = f"http://127.0.0.1:{port}"
    with running(command, log) as process:
        wait_until_up(f"{url}/", process, log)
        yield name, url, access


GUNICORN_CONF = """\
bind = "127.0.0.1:{port}"
workers = 1
worker_class = "sync"
timeout = 300
graceful_timeout = 5
chdir = {chdir!r}
errorlog = {log!r}
loglevel = "warning"
# gunicorn >= 25.1 opens a control socket at one path per user, which two
# gunicorns would share; older versions ignore this unknown name.
control_socket_disable = True
"""


@contextlib.contextmanager
def gunicorn(work, name, app_config):
    """gunicorn serving ``build_app(app_config)``: ``(base URL, master)``."""
    port = free_port()
    log = os.path.join(work, f"gunicorn-{name}.log")
    conf = os.path.join(work, f"gunicorn-{name}.conf.py")
    with open(conf, "w") as out:
        out.write(GUNICORN_CONF.format(
            port=port, log=log,
            chdir=os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, APP_ENV: json.dumps(app_config)}
    command = [sys.executable, "-m", "gunicorn", "-c", conf,
               "bench_download:app_from_env()"]
    url = f"http://127.0.0.1:{port}"
    with running(command, log, env=env) as process:
        wait_until_up(f"{url}/versions", process, log)
        yield url, process


def children_of(pid):
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children


def peak_rss_mib(master):
    """VmHWM of gunicorn's one worker, in MiB."""
    (worker,) = children_of(master.pid)
    with open(f"/proc/{worker}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


# Downloads.

def download(url, size, timeout):
    """Seconds to download ``url``; raises unless exactly ``size`` bytes
    came with a 200.
    """
    if shutil.which("curl"):
        status, received, seconds = curl(url, timeout)
    else:
        status, received, seconds = socket_get(url, timeout)
    if (status, received) != (200, size):
        raise RuntimeError(f"{url}: HTTP {status}, {received} bytes; "
                           f"expected 200 and {size} bytes")
    return seconds


def curl(url, timeout):
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "--max-time", str(timeout),
         "-w", "%{http_code} %{size_download} %{time_total}", url],
        capture_output=True, text=True, timeout=timeout + 10, check=False)
    status, received, seconds = done.stdout.split()
    return int(status), int(received), float(seconds)


def socket_get(url, timeout):
    """curl's stand-in: the body read into one reusable buffer."""
    parts = urllib.parse.urlsplit(url)
    buffer = bytearray(BLOCK)
    start = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port),
                                  timeout=timeout) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Connection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            count = sock.recv_into(buffer)
            if not count:
                break
            head += bytes(buffer[:count])
        head, _, body = head.partition(b"\r\n\r\n")
        received = len(body)
        while count := sock.recv_into(buffer):
            received += count
    status = int(head.split(None, 2)[1]) if head else 0
    return status, received, time.perf_counter() - start


def mirror_reads(access_log, image_id):
    """How many 200 or 206 answers for the image the static server logged
    (the filter asks for a range: all the image's bytes).
    """
    lines = [f'"GET /{image_id} HTTP/1.1" {status} ' for status in (200, 206)]
    with open(access_log, errors="replace") as log:
        return sum(any(line in entry for line in lines) for entry in log)


# The cases.

def filter_conf(data_dir, elsewhere, mirror_first):
    """The filter serving downloads; with ``mirror_first`` the file
    location is also out of its reach, so only the mirror can serve.
    """
    conf = {"download_mode": "serve", "http_allowed_hosts": "127.0.0.1",
            "file_dirs": elsewhere if mirror_first else data_dir}
    if mirror_first:
        conf.update(location_strategy="store_type",
                    store_type_preference="http, file")
    return conf


def check_filter_serves_file(app_config):
    """The file case must measure the filter's own file body, not the
    stub's download passed on (which is sendfile too). The first download
    of a file is streamed and verified; the second is the file body.
    """
    app = build_app(app_config)
    for verified in (False, True):
        environ = {}
        wsgiref.util.setup_testing_defaults(environ)
        environ.update({"PATH_INFO": f"/v2/images/{BIG_ID}/file",
                        "wsgi.file_wrapper": FileWrapperStandIn})
        body = app(environ, lambda status, headers: None)
        if not verified:
            collections.deque(body, maxlen=0)
        body.close()
    served_by = type(getattr(body, "filelike", body)).__module__
    if served_by != "loc_strategy_filter.download.body":
        raise RuntimeError(f"the filter did not serve the file location "
                           f"itself (the body came from {served_by})")


class FileWrapperStandIn:
    """Keeps the file it wraps, for a look at where it came from."""

    def __init__(self, filelike, block_size=8192):
        self.filelike = filelike
        self.close = filelike.close


def measure_speeds(cases, size, runs, timeout):
    """Each case's MB/s, one per run, the cases taking turns. A case's
    ``reads()``, when it has one, must count one more read per download.
    """
    seconds = {name: [] for name in cases}
    for url, _ in cases.values():  # a worker verifies a file once, untimed
        download(url, size, timeout)
    for _ in range(runs):
        for name, (url, reads) in cases.items():
            before = reads() if reads else None
            seconds[name].append(download(url, size, timeout))
            if reads and not counted(reads, before + 1):
                raise RuntimeError(f"case {name}: the mirror was not read")
    return {name: [size / value / 1e6 for value in values]
            for name, values in seconds.items()}


def counted(reads, expected, patience=2.0):
    """Whether ``reads()`` reaches ``expected``; a server may log a request
    a moment after its client has the last byte.
    """
    deadline = time.monotonic() + patience
    while reads() < expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def measure_peak_rss(work, app_config, images, timeout):
    """Peak RSS (MiB) of a fresh worker after one download of each image."""
    peaks = []
    for image in images:
        with gunicorn(work, "rss", app_config) as (url, master):
            download(f"{url}/v2/images/{image['id']}/file", image["size"],
                     timeout)
            peaks.append(peak_rss_mib(master))
    return peaks


ROWS = (  # label, case, reference case, target ratio
    ("(a) static server, direct", "a", None, None),
    ("(b) filter, file location", "b", "a", 0.9),
    ("(c) stub's own download, no filter", "c", "a", None),
    ("(d) mirror, direct", "d", None, None),
    ("(e) filter, http mirror, verified (strongest)", "e", "d", 0.5),
)


def print_table(static_name, size_mib, speeds, rss, hashing):
    print(f"{size_mib} MiB image, curl over loopback, median of "
          f"{len(speeds['a'])} runs; static server and mirror: {static_name}; "
          f"image API: gunicorn, 1 sync worker")
    median = {case: statistics.median(runs) for case, runs in speeds.items()}
    print(f"{'case':<40}{'MB/s':>8}{'min-max':>12}{'ratio':>8}  "
          f"{'target':<14}result")
    for label, case, reference, target in ROWS:
        ratio = median[case] / median[reference] if reference else None
        spread = f"{min(speeds[case]):.0f}-{max(speeds[case]):.0f}"
        print(f"{label:<40}{median[case]:>8.0f}{spread:>12}"
              f"{f'{ratio:.2f}x' if ratio else '':>8}  "
              f"{f'>= {target}x ({reference})' if target else '':<14}"
              f"{('PASS' if ratio >= target else 'MISSED') if target else ''}")
    print_peak_rss("gunicorn", size_mib, rss)
    print("for context, hashlib on one core, 64 KiB chunks: " + ", ".join(
        f"{name} {speed:.0f} MB/s" for name, speed in hashing.items()))


def print_peak_rss(server, size_mib, rss):
    """The peak RSS lines: ``rss`` is ``{label: (small, big)}`` in MiB."""
    print(f"peak RSS (VmHWM) of a fresh {server} worker after one download "
          f"of {SMALL_MIB} MiB / {size_mib} MiB (target: within "
          f"{RSS_TARGET_MIB} MiB):")
    for label, (small, big) in rss.items():
        verdict = "PASS" if abs(big - small) <= RSS_TARGET_MIB else "MISSED"
        print(f"  {label:<38}{small:>7.1f} MiB {big:>7.1f} MiB  "
              f"{big - small:+.1f} MiB  {verdict}")


def app_configs(data_dir, elsewhere, images):
    """The three image APIs: filter for file, filter for mirror, stub."""
    def config(conf):
        return {"data_dir": data_dir, "images": images, "filter": conf}
    return {"file": config(filter_conf(data_dir, elsewhere, False)),
            "http": config(filter_conf(data_dir, elsewhere, True)),
            "stub": config(None)}


def run(args, work):
    """Everything, inside the temporary directory ``work``."""
    data_dir = os.path.join(work, "images")
    elsewhere = os.path.join(work, "empty")
    os.makedirs(data_dir)
    os.makedirs(elsewhere)
    os.chmod(work, 0o755)  # nginx's workers may run as another user
    print(f"writing a {args.size_mib} MiB and a {SMALL_MIB} MiB image ...",
          file=sys.stderr)
    big = write_image(os.path.join(data_dir, BIG_ID), args.size_mib)
    small = write_image(os.path.join(data_dir, SMALL_ID), SMALL_MIB)
    for image in (big, small):
        warm(os.path.join(data_dir, image["id"]))
    with static_server(work, data_dir, find_nginx()) as (static_name,
                                                         static_url, access):
        for image in (big, small):
            image["mirror_url"] = f"{static_url}/{image['id']}"
        configs = app_configs(data_dir, elsewhere, [big, small])
        check_filter_serves_file(configs["file"])
        with contextlib.ExitStack() as servers:
            api = {name: servers.enter_context(gunicorn(work, name, config))[0]
                   for name, config in configs.items()}
            download_path = f"/v2/images/{BIG_ID}/file"
            cases = {
                "a": (f"{static_url}/{BIG_ID}", None),
                "b": (api["file"] + download_path, None),
                "c": (api["stub"] + download_path, None),
                "d": (big["mirror_url"], None),
                "e": (api["http"] + download_path,
                      lambda: mirror_reads(access, BIG_ID)),
            }
            print(f"downloading, {args.runs} runs of each case ...",
                  file=sys.stderr)
            speeds = measure_speeds(cases, big["size"], args.runs,
                                    args.timeout)
        print("peak RSS in fresh workers ...", file=sys.stderr)
        rss = {label: measure_peak_rss(work, configs[name], (small, big),
                                       args.timeout)
               for label, name in (("filter, file location", "file"),
                                   ("filter, http mirror", "http"))}
    print_table(static_name, args.size_mib, speeds, rss, hash_speeds())


def _stop(signum, frame):
    sys.exit(128 + signum)  # unwinds, so every server is stopped


def unwind_on_sigterm():
    """SIGTERM unwinds like Ctrl-C, so that every server is stopped."""
    signal.signal(signal.SIGTERM, _stop)


def add_download_options(parser):
    """The download benches' ``--size-mib`` and ``--timeout``."""
    parser.add_argument("--size-mib", type=int, default=1024,
                        help="size of the big image")
    parser.add_argument("--timeout", type=int, default=120,
                        help="seconds one download may take")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5,
                        help="downloads per case; the median counts")
    add_download_options(parser)
    args = parser.parse_args()
    unwind_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="bench-download-") as work:
        run(args, work)


if __name__ == "__main__":
    main()
