"""The consumer library (``loc_strategy_filter.client``) with hostile or
careless neighbours: paths of every kind, planted links and two downloads
to one name, streams dropped unread, records and image APIs that misbehave,
and libraries that log URLs.
"""

import gc
import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import pytest

from loc_strategy_filter.client import Client
from loc_strategy_filter import errors
from tests.functional.stub_api import DATA

openstack = pytest.importorskip("openstack")
pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:openstack")

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
BIG = os.urandom(4 << 20)  # many 64 KiB chunks: progress is heard often


def file_image(path, data=DATA, *more_urls):
    return {"id": "img", "status": "active", "size": len(data),
            "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(),
            "locations": [{"url": url, "metadata": {}}
                          for url in (*more_urls, f"file://{path}")]}


def resource_warnings(caught):
    return [str(w.message) for w in caught
            if issubclass(w.category, ResourceWarning)]


# --- destinations ------------------------------------------------------------

def test_a_download_to_a_bytes_path_writes_the_image(api, client, tmp_path):
    image_id = api.image_with()

    client().download(image_id, os.fsencode(tmp_path / "x"))

    assert (tmp_path / "x").read_bytes() == DATA


def test_a_part_file_planted_as_a_symlink_is_not_written_through(
        api, client, tmp_path):
    """A shared download directory: a link planted where a partial file
    would go is never written through.
    """
    image_id = api.image_with()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "x.part").symlink_to(victim)

    client().download(image_id, tmp_path / "x")

    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "x").is_symlink()
    assert (tmp_path / "x").read_bytes() == DATA


def test_a_second_download_to_the_same_path_cannot_spoil_a_verified_one(
        api, connection, data_dir, tmp_path):
    """Each download has a partial file of its own: a second one to the
    same name, started and abandoned meanwhile, cannot truncate the first's.
    """
    image_id = api.image_with(data=BIG)
    images = Client(connection, file_dirs=str(data_dir))
    target = tmp_path / "x"
    second_opened, release = threading.Event(), threading.Event()

    def second_progress(written, size):
        second_opened.set()
        release.wait(10)
        raise RuntimeError("the second download gives up")

    def second():
        with pytest.raises(RuntimeError):
            images.download(image_id, target, progress=second_progress)

    other = threading.Thread(target=second)

    def first_progress(written, size):
        if written and not second_opened.is_set():
            other.start()
            second_opened.wait(10)

    try:
        images.download(image_id, target, progress=first_progress)
        after_first = target.read_bytes()
    finally:
        release.set()
        other.join(10)

    assert after_first == BIG, "download() returned, but the file is wrong"


# --- open() ------------------------------------------------------------------

def test_an_abandoned_stream_closes_its_file(data_dir):
    """open() opens the first location before it returns: a stream dropped
    unread still closes it when it is collected, without a ResourceWarning.
    """
    path = data_dir / "img"
    path.write_bytes(DATA)
    images = Client(file_dirs=str(data_dir))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = images.open(file_image(path))
        del stream
        gc.collect()

    assert resource_warnings(caught) == []


def test_an_abandoned_stream_closes_its_connection(started):
    mirror = started(DATA)
    image = file_image("/nowhere", DATA, mirror.url())
    image["locations"].pop()
    images = Client(http_allowed_hosts="127.0.0.1")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = images.open(image)
        del stream
        gc.collect()

    assert resource_warnings(caught) == []


# --- hostile records and peers -----------------------------------------------

@pytest.mark.parametrize("bad", [
    "file://{dir}/\ud800",
    "http://user:\ud800@127.0.0.1/x",
    "http://\udcff@127.0.0.1/x",
], ids=["file-path", "http-password", "http-user"])
def test_a_location_with_a_lone_surrogate_is_skipped(data_dir, bad):
    """JSON may carry "\\ud800", which no file name or credential holds: that
    location is refused and the next one serves.
    """
    path = data_dir / "img"
    path.write_bytes(DATA)
    image = file_image(path, DATA, bad.format(dir=data_dir))
    images = Client(file_dirs=str(data_dir), http_allowed_hosts="127.0.0.1")

    with images.open(image, fallback=False) as stream:
        assert b"".join(stream) == DATA
        assert stream.served.index == 1


def test_a_deeply_nested_record_is_a_family_error(api, client, tmp_path):
    def nested(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"[" * 100_000 + b"]" * 100_000]
    api.stub = nested

    with pytest.raises(errors.DownloadFailed):
        client().download("some-image", tmp_path / "x")


def test_a_stalling_image_api_fails_instead_of_hanging(api, client,
                                                       tmp_path):
    """The image API is asked with the http reader's timeouts, as a mirror
    is: one that stops sending part way fails the download.
    """
    image_id = api.image_with()
    unstall = threading.Event()

    def stall(environ, start_response):
        if not environ["PATH_INFO"].endswith("/file"):
            return real(environ, start_response)
        start_response("200 OK", [("Content-Length", str(len(DATA)))])

        def body():
            yield DATA[:1000]
            unstall.wait(60)
            yield DATA[1000:]
        return body()

    real, api.stub = api.stub, stall
    outcome = {}

    def run():
        try:
            outcome["served"] = client(file_dirs="").download(
                image_id, tmp_path / "x")
        except Exception as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(15)
    hung = worker.is_alive()
    unstall.set()
    worker.join(10)

    assert not hung, "download() still waiting on the image API after 15 s"
    assert isinstance(outcome.get("error"), errors.DownloadFailed)


# --- secrets -----------------------------------------------------------------

def test_keystoneauths_response_bodies_are_redacted(tmp_path):
    """keystoneauth makes its loggers on its first request, after the
    Client is built: its DEBUG 'RESP BODY' lines (every location URL) are
    redacted all the same. In a fresh process, where those loggers do not
    exist yet.
    """
    script = textwrap.dedent("""
        import io, logging, os, sys
        from tests.functional.stub_api import ImageAPI
        api = ImageAPI(sys.argv[1])
        for name in list(os.environ):
            if name.startswith("OS_"):
                del os.environ[name]
        os.environ.update(OS_AUTH_TYPE="none", OS_ENDPOINT=api.url)
        image_id = api.image_with(
            "http://user:hunter2@127.0.0.1:1/x?X-Amz-Signature=sig777")
        out = io.StringIO()
        logging.basicConfig(level=logging.DEBUG, stream=out)
        import openstack
        from loc_strategy_filter.client import Client
        Client(openstack.connect(), file_dirs=sys.argv[1]).download(
            image_id, os.path.join(sys.argv[1], "out"))
        api.stop()
        sys.stdout.write(out.getvalue())
    """)
    data = tmp_path / "data"
    data.mkdir()
    done = subprocess.run([sys.executable, "-c", script, str(data)],
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    leaked = [line[:120] for line in done.stdout.splitlines()
              if "hunter2" in line or "sig777" in line]

    assert leaked == []
