"""``loc-strategy-filter download``, against the stub image API on a real
server, reached through openstacksdk without authentication.
"""

import glob
import logging
import os
import signal
import socket
import subprocess
import sys

import pytest

from loc_strategy_filter.cmd import main
from loc_strategy_filter.cmd.progress import Progress
from tests.functional import mirrors
from tests.functional import stub_api
from tests.functional.stub_api import DATA

openstack = pytest.importorskip("openstack")
# openstacksdk's own pending deprecations, which its users never see.
pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:openstack")

COMMAND = os.path.join(os.path.dirname(sys.executable), "loc-strategy-filter")
MIRROR_FIRST = ["--strategy", "store_type", "--store-type-preference",
                "http, file"]


@pytest.fixture
def config(tmp_path, data_dir):
    """A config file with the readers' allow-lists."""
    def write(file_dirs=str(data_dir), http_allowed_hosts="127.0.0.1"):
        path = tmp_path / "download.conf"
        path.write_text("[location_strategy_filter]\n"
                        f"file_dirs = {file_dirs}\n"
                        f"http_allowed_hosts = {http_allowed_hosts}\n"
                        "http_read_timeout = 2\n")
        return ["--config-file", str(path)]
    return write


@pytest.fixture
def output(tmp_path):
    return tmp_path / "image.raw"


def download(image_id, output, *options):
    return main(["download", image_id, "-o", str(output), *options])


def gets(mirror):
    return [entry for entry in mirror.log if entry[0] == "GET"]


@pytest.mark.parametrize("strategy, mirror_read, served_by", [
    (MIRROR_FIRST, True, "location 1 (http store"),
    ([], False, "location 0 (file store"),
], ids=["store_type", "location_order"])
def test_the_strategys_choice_is_the_location_read(
        api, started, config, output, capsys, strategy, mirror_read,
        served_by):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *config(), *strategy) == 0

    assert output.read_bytes() == DATA
    assert bool(gets(mirror)) is mirror_read
    assert api.downloads() == []
    assert served_by in capsys.readouterr().err
    assert list(output.parent.glob(f"{output.name}*")) == [output]


BY_NETWORK = ["--strategy", "client_network", "--prefer-by", "store_type",
              "--default-preference", "file"]


@pytest.mark.parametrize("address, mirror_read, served_by", [
    ("10.1.2.3", True, "location 1 (http store"),
    ("10.2.2.3", False, "location 0 (file store"),
], ids=["edge-client", "central-client"])
def test_the_location_read_is_the_one_the_client_address_prefers(
        api, started, config, output, capsys, address, mirror_read,
        served_by):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *config(), *BY_NETWORK,
                    "--network-preferences", "10.1.0.0/16: http file",
                    "--client-address", address) == 0

    assert output.read_bytes() == DATA
    assert bool(gets(mirror)) is mirror_read
    assert served_by in capsys.readouterr().err


@pytest.mark.parametrize("preferences, mirror_read, served_by", [
    ("127.0.0.1/32: http; 10.0.0.0/8: file", True, "location 1 (http store"),
    ("127.0.0.0/8: file; 0.0.0.0/0: http", False, "location 0 (file store"),
], ids=["own-host-http", "own-host-file"])
def test_by_default_the_client_is_this_host_towards_the_image_api(
        api, started, config, output, capsys, caplog, preferences,
        mirror_read, served_by):
    caplog.set_level(logging.INFO)
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *config(), *BY_NETWORK,
                    "--network-preferences", preferences) == 0

    assert bool(gets(mirror)) is mirror_read
    assert served_by in capsys.readouterr().err
    assert ("Ordering the locations for client address 127.0.0.1 (this "
            f"host's address towards 127.0.0.1:{api.server.port})"
            in caplog.text)


def test_an_image_api_of_no_known_endpoint_orders_for_nobody(
        api, started, config, output, capsys, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())
    monkeypatch.setattr(openstack.proxy.Proxy, "get_endpoint",
                        lambda self, **kwargs: None)

    assert download(image_id, output, *config(), *BY_NETWORK,
                    "--network-preferences", "127.0.0.0/8: http") == 0

    assert not gets(mirror)
    assert "from location 0 (file store" in capsys.readouterr().err
    assert "No image API endpoint (the connection has none)" in caplog.text


def test_a_malformed_client_address_is_refused(api, output, capsys):
    with pytest.raises(SystemExit) as exit:
        download("x", output, "--client-address", "10.1.2.300")
    assert exit.value.code == 2
    assert ("argument --client-address: '10.1.2.300' is not an IP address"
            in capsys.readouterr().err)
    assert api.log == []


def test_a_mirror_that_is_down_falls_back_to_the_next_location(
        api, config, output, capsys):
    down = f"http://127.0.0.1:{mirrors.closed_port()}/image"
    image_id = api.image_with(down)

    assert download(image_id, output, *config(), *MIRROR_FIRST) == 0

    assert output.read_bytes() == DATA
    assert api.downloads() == []
    assert "from location 0 (file store" in capsys.readouterr().err


def test_nothing_readable_falls_back_to_the_image_api(api, started, output,
                                                      capsys):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *MIRROR_FIRST) == 0

    assert output.read_bytes() == DATA
    assert api.downloads() == [("GET", f"/v2/images/{image_id}/file", None)]
    assert "from the image API in" in capsys.readouterr().err


def test_a_corrupt_mirror_is_replaced_by_the_image_api(api, started, config,
                                                       output, capsys, caplog):
    mirror = started(DATA, behaviour="corrupt")
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *config(file_dirs=""),
                    *MIRROR_FIRST) == 0

    assert gets(mirror)
    assert output.read_bytes() == DATA
    assert api.downloads() == [("GET", f"/v2/images/{image_id}/file", None)]
    assert "location 1 (http store, " in caplog.text
    assert "from the image API in" in capsys.readouterr().err


@pytest.mark.parametrize("ignore_range", [False, True],
                         ids=["range-honoured", "range-ignored"])
def test_a_broken_read_resumes_from_the_image_api_with_a_range(
        api, started, config, output, capsys, ignore_range):
    api.ignore_range = ignore_range
    mirror = started(DATA, behaviour="dies", die_after=100_000)
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *config(file_dirs=""),
                    *MIRROR_FIRST) == 0

    assert output.read_bytes() == DATA
    [(_, _, resumed_at)] = api.downloads()
    offset = int(resumed_at.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= 100_000
    assert (f"location 1 (http store, {mirror.url()}) up to byte {offset}, "
            f"then the image API from byte {offset}"
            in capsys.readouterr().err)


def test_a_resumed_read_of_other_bytes_than_asked_fails_and_leaves_no_file(
        api, started, config, output, capsys, caplog):
    """The whole Content-Range is checked, as the filter's continuation
    checks it, not its first byte alone.
    """
    api.misrange = True
    mirror = started(DATA, behaviour="dies", die_after=100_000)
    image_id = api.image_with(mirror.url())

    assert download(image_id, output, *config(file_dirs=""),
                    *MIRROR_FIRST) == 1

    [(_, _, resumed_at)] = api.downloads()
    offset = int(resumed_at.removeprefix("bytes=").rstrip("-"))
    size = len(DATA)
    assert (f"asked for bytes {offset}-{size - 1}/{size}, got bytes "
            f"{offset}-{size - 2}/{size}" in caplog.text)
    assert "failed: image " in capsys.readouterr().err
    assert list(output.parent.glob(f"{output.name}*")) == []


def test_wrong_data_everywhere_fails_and_leaves_no_file(api, data_dir,
                                                        output, capsys):
    image_id = api.image_with()
    # The store's copy rots: the image API serves the wrong bytes too.
    (data_dir / image_id).write_bytes(bytes(len(DATA)))

    assert download(image_id, output) == 1

    assert "sha512 os_hash_value mismatch" in capsys.readouterr().err
    assert list(output.parent.glob(f"{output.name}*")) == []


def test_standard_output(api, started, config, capsysbinary):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())

    assert download(image_id, "-", *config(), *MIRROR_FIRST) == 0

    captured = capsysbinary.readouterr()
    assert captured.out == DATA
    assert gets(mirror)
    assert b"to standard output from location 1" in captured.err


def test_standard_output_never_gets_a_whole_wrong_image(api, started, config,
                                                        capsysbinary):
    """Bytes once written to a pipe cannot be taken back: a download that
    wrote some, then found them wrong, fails rather than start over.
    """
    data = os.urandom(8 << 20)  # more than one read: some bytes go out
    mirror = started(data, behaviour="corrupt")
    image_id = api.image_with(mirror.url(), data=data)

    assert download(image_id, "-", *config(file_dirs=""),
                    *MIRROR_FIRST) == 1

    captured = capsysbinary.readouterr()
    assert 0 < len(captured.out) < len(data)
    assert b"cannot start over" in captured.err


def test_an_unknown_image_fails(api, output, capsys):
    assert download("no-such-image", output) == 1
    assert "no-such-image" in capsys.readouterr().err
    assert list(output.parent.glob(f"{output.name}*")) == []


def test_an_unreachable_identity_service_fails_cleanly(output, capsys,
                                                       monkeypatch):
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for name, value in {"OS_AUTH_URL": f"http://127.0.0.1:{port}/v3",
                        "OS_USERNAME": "demo", "OS_PASSWORD": "secret",
                        "OS_PROJECT_NAME": "demo",
                        "OS_USER_DOMAIN_NAME": "Default",
                        "OS_PROJECT_DOMAIN_NAME": "Default"}.items():
        monkeypatch.setenv(name, value)
    assert download("x", output) == 1
    err = capsys.readouterr().err
    assert "failed: image x: Unable to establish connection" in err
    assert "Traceback" not in err
    assert list(output.parent.glob(f"{output.name}*")) == []


def test_an_unknown_cloud_is_a_configuration_error(api, output, capsys):
    assert download("x", output, "--os-cloud", "no-such-cloud-7f3a") == 2
    assert "no-such-cloud-7f3a" in capsys.readouterr().err


def test_without_openstacksdk_it_says_what_to_install(api, output, capsys,
                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "openstack", None)
    assert download("x", output) == 2
    assert "loc-strategy-filter[client]" in capsys.readouterr().err


def test_it_will_not_write_an_image_to_a_terminal(api, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert download("x", "-") == 2
    assert "-o FILE" in capsys.readouterr().err


def test_a_terminal_shows_a_progress_bar(api, output, capsys, monkeypatch):
    image_id = api.image_with()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    assert download(image_id, output) == 0

    assert "\r262.2 kB of 262.2 kB  100%" in capsys.readouterr().err


class _Terminal:
    def __init__(self):
        self.written = []

    def write(self, text):
        self.written.append(text)

    def flush(self):
        pass


def test_the_progress_bar_is_redrawn_at_most_ten_times_a_second():
    terminal, now = _Terminal(), [0.0]
    progress = Progress(terminal, clock=lambda: now[0])
    for written in range(10, 1001, 10):  # one second of 10 ms chunks
        now[0] += 0.01
        progress(written, 1000)
    progress.finish()

    assert 9 <= len(terminal.written) - 1 <= 11
    assert terminal.written[-2].startswith("\r1.0 kB of 1.0 kB  100%")
    assert terminal.written[-1] == "\n"


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_of_a_download_is_no_traceback(
        api, config, slow_mirror, tmp_path):
    """Ctrl-C: status 130, as ``openstack image fetch`` gives, no
    traceback, no partial file.
    """
    image_id = api.image_with(slow_mirror.url())
    output = tmp_path / "image.raw"
    process = subprocess.Popen(
        [COMMAND, "download", image_id, "-o", str(output), *config(),
         *MIRROR_FIRST], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    stub_api.wait_until_writing(process, output)

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert glob.glob(f"{output}*") == []
    assert "Traceback" not in stderr
    assert process.returncode == 130
