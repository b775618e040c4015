"""The ``openstack`` command's plugin, run as the real command against the
stub image API on a loopback server, reached without authentication
(``OS_AUTH_TYPE=none``, or a cloud of clouds.yaml saying the same).
"""

import dataclasses
import glob
import json
import os
import pty
import signal
import subprocess
import sys

import pytest

from tests.functional import stub_api
from tests.functional.stub_api import DATA

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")
MIRROR_FIRST = ["--strategy", "store_type", "--store-type-preference",
                "http, file"]

pytestmark = pytest.mark.skipif(not os.path.exists(OPENSTACK),
                                reason="python-openstackclient missing")


def _environment(tmp_path, **variables):
    """This process's environment without its OS_* variables, a home of
    the test's own (no clouds.yaml of the user's), then ``variables``.
    """
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("OS_")}
    environment["HOME"] = str(tmp_path)
    environment.update(variables)
    return environment


@pytest.fixture
def environment(tmp_path, api):
    """OS_* variables naming the stub image API, without authentication."""
    return _environment(tmp_path, OS_AUTH_TYPE="none", OS_ENDPOINT=api.url)


@pytest.fixture
def config(tmp_path, data_dir):
    """A config file with the readers' allow-lists."""
    path = tmp_path / "client.conf"
    path.write_text("[location_strategy_filter]\n"
                    f"file_dirs = {data_dir}\n"
                    "http_allowed_hosts = 127.0.0.1\n"
                    "http_read_timeout = 2\n")
    return ["--config-file", str(path)]


def openstack(environment, *args):
    return subprocess.run([OPENSTACK, *args], env=environment,
                          capture_output=True, text=True, timeout=120)


def shown(environment, *args):
    """The fields an ``-f json`` command showed, once it succeeded."""
    result = openstack(environment, *args, "-f", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mirror_gets(mirror):
    return [entry for entry in mirror.log if entry[0] == "GET"]


@dataclasses.dataclass
class Case:
    image_id: str
    file_url: str
    http_url: str
    mirror: object


@pytest.fixture
def original_case(api, data_dir, started):
    """The original acceptance case: a file location, then an http one."""
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())
    return Case(image_id, f"file://{data_dir}/{image_id}", mirror.url(),
                mirror)


# --- image location order ----------------------------------------------------

@pytest.mark.parametrize("strategy, best_first", [
    ([], False), (MIRROR_FIRST, True)], ids=["location_order", "store_type"])
def test_order_json_by_the_os_variables(environment, original_case,
                                        strategy, best_first):
    case = original_case
    ordered = ([case.http_url, case.file_url] if best_first
               else [case.file_url, case.http_url])

    fields = shown(environment, "image", "location", "order", case.image_id,
                   "--client-address", "10.1.2.3", *strategy)

    assert fields == {
        "id": case.image_id, "name": "x",
        "strategy": "store_type" if best_first else "location_order",
        "client_address": "10.1.2.3", "locations": ordered,
        "best": ordered[0]}


@pytest.mark.parametrize("strategy, best", [
    ([], "file_url"), (MIRROR_FIRST, "http_url")],
    ids=["location_order", "store_type"])
def test_order_value_of_the_best_column(environment, original_case,
                                        strategy, best):
    result = openstack(environment, "image", "location", "order",
                       original_case.image_id, "-f", "value", "-c", "best",
                       *strategy)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{getattr(original_case, best)}\n"


@pytest.mark.parametrize("strategy, order", [
    ([], ("file_url", "http_url")), (MIRROR_FIRST, ("http_url", "file_url"))],
    ids=["location_order", "store_type"])
def test_order_table_shows_a_location_a_line(environment, original_case,
                                             strategy, order):
    first, second = (getattr(original_case, name) for name in order)

    result = openstack(environment, "image", "location", "order",
                       original_case.image_id, "-f", "table",
                       "--max-width", "0", *strategy)

    assert result.returncode == 0, result.stderr
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in result.stdout.splitlines() if line.startswith("|")]
    at = rows.index(["locations", first])
    assert rows[at + 1] == ["", second]
    assert ["best", first] in rows


def test_order_finds_the_image_by_name(environment, original_case, api):
    api.image_with(name="another")

    fields = shown(environment, "image", "location", "order", "x")

    assert (fields["id"], fields["best"]) == (original_case.image_id,
                                              original_case.file_url)


def test_order_by_a_cloud_of_clouds_yaml(tmp_path, api, original_case):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n"
        "  stub:\n"
        "    auth_type: none\n"
        f"    auth: {{endpoint: '{api.url}'}}\n"
        "  nowhere:\n"
        "    auth_type: none\n"
        "    auth: {endpoint: 'http://127.0.0.1:9/'}\n")
    environment = _environment(tmp_path, OS_CLIENT_CONFIG_FILE=str(clouds))

    fields = shown(environment, "--os-cloud", "stub", "image", "location",
                   "order", original_case.image_id, *MIRROR_FIRST)
    elsewhere = openstack(environment, "--os-cloud", "nowhere", "image",
                          "location", "order", original_case.image_id)

    assert fields["best"] == original_case.http_url
    assert elsewhere.returncode == 1
    assert "Traceback" not in elsewhere.stderr


def test_an_unknown_strategy_is_a_command_error(environment, original_case):
    result = openstack(environment, "image", "location", "order",
                       original_case.image_id, "--strategy",
                       "no_such_strategy")

    assert result.returncode == 1
    assert "configuration error: " in result.stderr
    assert "no_such_strategy" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_commands_still_work(environment, original_case):
    result = openstack(environment, "image", "list", "-f", "json")

    assert result.returncode == 0, result.stderr
    assert [image["ID"] for image in json.loads(result.stdout)] == [
        original_case.image_id]
    assert "WARNING" not in result.stderr


# --- image fetch -------------------------------------------------------------

@pytest.fixture
def output(tmp_path):
    return tmp_path / "image.raw"


def fetched(environment, image_id, output, *options):
    """The fields ``image fetch`` showed, once it succeeded."""
    result = openstack(environment, "image", "fetch", image_id, "--file",
                       str(output), "-f", "json", *options)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr  # no progress bar off a terminal
    return json.loads(result.stdout)


@pytest.mark.parametrize("strategy, mirror_read, served_by", [
    (MIRROR_FIRST, True, "location 1 (http store, "),
    ([], False, "location 0 (file store, "),
], ids=["store_type", "location_order"])
def test_fetch_reads_the_strategys_best_location(
        environment, api, original_case, config, output, strategy,
        mirror_read, served_by):
    fields = fetched(environment, original_case.image_id, output, *config,
                     *strategy)

    assert output.read_bytes() == DATA
    assert fields.pop("served_by").startswith(served_by)
    assert fields.pop("seconds") >= 0
    assert fields == {"id": original_case.image_id, "size": len(DATA),
                      "file": str(output)}
    assert bool(mirror_gets(original_case.mirror)) is mirror_read
    assert api.downloads() == []
    assert list(output.parent.glob(f"{output.name}*")) == [output]


def test_fetch_finds_the_image_by_name(environment, api, original_case,
                                       config, output):
    fields = fetched(environment, "x", output, *config, *MIRROR_FIRST)

    assert fields["id"] == original_case.image_id
    assert output.read_bytes() == DATA


def test_fetch_with_nothing_allowed_reads_the_image_api(
        environment, api, original_case, output):
    fields = fetched(environment, original_case.image_id, output,
                     *MIRROR_FIRST)

    assert output.read_bytes() == DATA
    assert fields["served_by"] == "the image API"
    assert mirror_gets(original_case.mirror) == []
    assert api.downloads() == [
        ("GET", f"/v2/images/{original_case.image_id}/file", None)]


def test_fetch_of_an_unknown_image_fails_and_leaves_no_file(
        environment, api, output):
    result = openstack(environment, "image", "fetch", "no-such-image",
                       "--file", str(output))

    assert result.returncode == 1
    assert "no-such-image" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(output.parent.glob(f"{output.name}*")) == []


def test_fetch_of_wrong_bytes_everywhere_fails_and_leaves_no_file(
        environment, api, data_dir, output):
    image_id = api.image_with()
    # The store's copy rots: the image API serves the wrong bytes too.
    (data_dir / image_id).write_bytes(bytes(len(DATA)))

    result = openstack(environment, "image", "fetch", image_id, "--file",
                       str(output))

    assert result.returncode == 1
    assert "download failed: " in result.stderr
    assert "mismatch" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(output.parent.glob(f"{output.name}*")) == []


def _on_a_terminal(environment, *args):
    """Run ``openstack`` with standard error on a pseudo-terminal: its exit
    status, standard output, and what the terminal received.
    """
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([OPENSTACK, *args], env=environment,
                                   stdout=subprocess.PIPE,
                                   stderr=terminal)
    finally:
        os.close(terminal)
    received = b""
    with os.fdopen(controller, "rb", buffering=0) as screen:
        while True:
            try:
                chunk = screen.read(4096)
            except OSError:  # EIO: every end of the terminal is closed
                break
            if not chunk:
                break
            received += chunk
    stdout = process.stdout.read()
    process.stdout.close()
    return process.wait(timeout=120), stdout, received.decode()


def test_fetch_draws_a_progress_bar_on_a_terminal(environment, api, output):
    image_id = api.image_with()

    status, stdout, screen = _on_a_terminal(
        environment, "image", "fetch", image_id, "--file", str(output),
        "-f", "value", "-c", "size")

    assert status == 0, screen
    assert stdout == f"{len(DATA)}\n".encode()
    assert "\r262.2 kB of 262.2 kB  100%" in screen
    assert output.read_bytes() == DATA


# --- neighbours --------------------------------------------------------------

# What only the filter (server side) needs: an unrelated openstack command
# must not import it.
SERVER_SIDE = ("webob", "paste.deploy", "loc_strategy_filter.middleware",
               "loc_strategy_filter.cmd.serve", "loc_strategy_filter.settings",
               "oslo_cache")


def test_unrelated_openstack_commands_do_not_import_the_filter(tmp_path):
    """cliff imports every openstack.image.v2 command's module at start-up:
    the library it runs on is imported by these commands alone.
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", OPENSTACK, "server", "list",
         "--help"], env=_environment(tmp_path), capture_output=True,
        text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rpartition("|")[2].strip()
                for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert sorted(imported & set(SERVER_SIDE)) == []


def test_fetch_to_a_directory_fails_before_reading_any_byte(
        environment, api, tmp_path):
    """A directory is refused before a byte is read."""
    image_id = api.image_with()
    target = tmp_path / "adir"
    target.mkdir()

    result = openstack(environment, "image", "fetch", image_id, "--file",
                       str(target))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert api.downloads() == []


def test_fetch_to_dash_does_not_write_a_file_named_dash(
        environment, api, tmp_path):
    """``-`` is standard output to ``loc-strategy-filter download``; here it
    is refused, not written as a file named ``-``.
    """
    image_id = api.image_with()
    work = tmp_path / "cwd"
    work.mkdir()

    result = subprocess.run([OPENSTACK, "image", "fetch", image_id,
                             "--file", "-", "-f", "value", "-c", "size"],
                            env=environment, cwd=work, capture_output=True,
                            timeout=120)

    assert not (work / "-").exists()
    assert result.returncode == 1
    assert b"loc-strategy-filter download -o -" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGTERM", "SIGHUP"])
def test_fetch_killed_politely_leaves_no_part_file(
        environment, api, config, slow_mirror, tmp_path,
        signum):
    """SIGTERM (timeout(1), systemd, a CI runner's cancel) and SIGHUP (the
    terminal closed) remove the partial file, as Ctrl-C does.
    """
    image_id = api.image_with(slow_mirror.url())
    output = tmp_path / "image.raw"
    process = subprocess.Popen(
        [OPENSTACK, "image", "fetch", image_id, "--file", str(output),
         *config, *MIRROR_FIRST], env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stub_api.wait_until_writing(process, output)

    process.send_signal(signum)
    process.communicate(timeout=60)

    assert glob.glob(f"{output}*") == []
