"""The loc-strategy-filter command, as a user runs it."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from loc_strategy_filter.cmd import main
from tests.functional.conftest import FILE_URL, HTTP_URL, SAMPLE

IMAGE = {"id": "x", "locations": [{"url": FILE_URL, "metadata": {}},
                                  {"url": HTTP_URL, "metadata": {}}]}


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "image.json"
    path.write_text(json.dumps(IMAGE))
    return str(path)


@pytest.mark.parametrize("options, best", [
    ([], FILE_URL),
    (["--strategy", "store_type", "--store-type-preference", "http, file"],
     HTTP_URL),
], ids=["default", "store_type"])
def test_order_prints_the_urls_and_the_best(image_file, capsys, options,
                                            best):
    assert main(["order", image_file, *options]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"best: {best}"
    assert lines[1] == f"1. {best}"


def test_order_reads_the_servers_config_file(image_file, tmp_path, capsys):
    conf = tmp_path / "glance-api.conf"
    conf.write_text("[DEFAULT]\nlocation_strategy = store_type\n"
                    "[store_type_location_strategy]\n"
                    "store_type_preference = http, file\n")
    assert main(["order", image_file, "--config-file", str(conf)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"best: {HTTP_URL}"


def test_order_json_output_of_a_locations_list(tmp_path, capsys):
    path = tmp_path / "locations.json"
    path.write_text(json.dumps(IMAGE["locations"]))
    assert main(["order", str(path), "--json", "--strategy", "store_type",
                 "--store-type-preference", "http"]) == 0
    assert json.loads(capsys.readouterr().out) == IMAGE["locations"][::-1]


@pytest.mark.parametrize("shape", ["image", "locations-list"])
def test_order_leaves_out_entries_without_a_url_whatever_the_shape(
        tmp_path, capsys, shape):
    """One rule for an image and a bare list of its locations."""
    locations = [{"metadata": {}}, IMAGE["locations"][0],
                 {"url": None, "metadata": {}}]
    path = tmp_path / "input.json"
    path.write_text(json.dumps(dict(IMAGE, locations=locations)
                               if shape == "image" else locations))
    assert main(["order", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"1. {FILE_URL}", f"best: {FILE_URL}"]


@pytest.mark.parametrize("argv, status, message", [
    (["order", "{file}", "--strategy", "nearest"], 2, "nearest"),
    (["order", "{file}", "--strategy", "store_type",
      "--store-type-preference", "fiel"], 2, "fiel"),
    (["order", "{missing}"], 1, "No such file"),
], ids=["unknown-strategy", "unknown-store-type", "missing-file"])
def test_order_errors(image_file, tmp_path, capsys, argv, status, message):
    argv = [arg.format(file=image_file, missing=tmp_path / "none.json")
            for arg in argv]
    assert main(argv) == status
    assert message in capsys.readouterr().err


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(tmp_path):
    """Start ``loc-strategy-filter serve``; give the demo image's URL."""
    processes = []

    def start(*options):
        port = free_port()
        log = open(tmp_path / f"serve-{port}.log", "w+")
        processes.append(subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from loc_strategy_filter.cmd import main; "
             "sys.exit(main())", "serve", "--port", str(port), *options],
            stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            log.seek(0)
            found = re.search(r"curl -s (\S+)", log.read())
            if found:
                return found.group(1)
            assert processes[-1].poll() is None, log.read()
            time.sleep(0.05)
        raise AssertionError("the server did not start")

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.mark.parametrize("options, best_scheme", [
    ([], "file"),
    (["--strategy", "store_type", "--store-type-preference", "http, file"],
     "http"),
    (["--paste-config", SAMPLE, "--strategy", "store_type",
      "--store-type-preference", "http, file"], "http"),
], ids=["default", "store_type", "paste-sample"])
def test_serve_shows_the_demo_image_in_strategy_order(serve, options,
                                                      best_scheme):
    image = get_json(serve(*options))
    assert image["direct_url"].startswith(f"{best_scheme}:")
    assert image["locations"][0]["url"] == image["direct_url"]
    assert {location["url"].split(":")[0]
            for location in image["locations"]} == {"file", "http"}
