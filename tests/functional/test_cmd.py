"""The loc-strategy-filter command, as a user runs it."""

import json
import logging
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from loc_strategy_filter.cmd import main
from tests.functional.conftest import FILE_URL
from tests.functional.conftest import HTTP_URL
from tests.functional.conftest import SAMPLE

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


EDGE1_URL = "http://edge1.example/x"
EDGE2_URL = "http://edge2.example/x"
SITES = {"id": "x", "locations": [
    {"url": FILE_URL, "metadata": {"store": "central"}},
    {"url": EDGE1_URL, "metadata": {"store": "edge1"}},
    {"url": EDGE2_URL, "metadata": {"store": "edge2"}}]}
BY_NETWORK = ["--strategy", "client_network", "--default-preference",
              "central"]


@pytest.fixture
def sites_file(tmp_path):
    path = tmp_path / "sites.json"
    path.write_text(json.dumps(SITES))
    return str(path)


def order_lines(capsys, *argv):
    assert main(["order", *argv]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("address, best", [
    ("10.1.2.3", EDGE1_URL),
    ("10.2.0.9", EDGE2_URL),
    ("192.0.2.1", FILE_URL),
    ("fd00:1::5", EDGE2_URL),
], ids=["edge1", "edge2", "unlisted", "ipv6"])
def test_order_is_the_one_a_client_at_the_address_gets(sites_file, capsys,
                                                       address, best):
    lines = order_lines(
        capsys, sites_file, *BY_NETWORK, "--network-preferences",
        "10.1.0.0/16: edge1 central; 10.2.0.0/16: edge2; fd00:1::/48: edge2",
        "--client-address", address)
    assert lines[:3] == ["strategy: client_network",
                         f"client address: {address} (given)", f"1. {best}"]
    assert lines[-1] == f"best: {best}"


@pytest.fixture
def no_image_api_in_environment(monkeypatch):
    for name in ("OS_IMAGE_URL", "OS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_order_without_an_address_says_for_nobody(
        sites_file, capsys, no_image_api_in_environment):
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", "10.1.0.0/16: edge1")
    assert lines[:2] == ["strategy: client_network", f"1. {FILE_URL}"]


@pytest.mark.parametrize("variables", [
    {"OS_IMAGE_URL": "http://127.0.0.1:{port}/"},
    {"OS_ENDPOINT": "http://127.0.0.1:{port}/v2"},
    {"OS_IMAGE_URL": "http://127.0.0.1:{port}/",
     "OS_ENDPOINT": "http://192.0.2.1:{port}/"},
], ids=["os-image-url", "os-endpoint", "os-image-url-first"])
def test_order_finds_the_image_api_in_the_environment(
        sites_file, capsys, no_image_api_in_environment, variables):
    port = free_port()
    for name, value in variables.items():
        no_image_api_in_environment.setenv(name, value.format(port=port))
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", "127.0.0.1/32: edge2")
    assert lines[1] == ("client address: 127.0.0.1 (this host's address "
                        f"towards 127.0.0.1:{port})")
    assert lines[-1] == f"best: {EDGE2_URL}"


def test_order_ignores_an_environment_endpoint_that_is_no_url(
        sites_file, capsys, no_image_api_in_environment):
    no_image_api_in_environment.setenv("OS_ENDPOINT", "glance:9292")
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", "127.0.0.1/32: edge2")
    assert lines[:2] == ["strategy: client_network", f"1. {FILE_URL}"]


@pytest.mark.parametrize("preferences, best", [
    ("127.0.0.1/32: edge2; 10.0.0.0/8: edge1", EDGE2_URL),
    ("127.0.0.0/8: edge1; 127.0.0.2/32: edge2", EDGE1_URL),
], ids=["own-host", "longest-prefix"])
def test_order_towards_the_image_api_is_for_this_hosts_address(
        sites_file, capsys, preferences, best):
    """Nothing listens there: the address is found without contacting it."""
    port = free_port()
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", preferences,
                        "--image-api-url", f"http://127.0.0.1:{port}/v2/")
    assert lines[1] == ("client address: 127.0.0.1 (this host's address "
                        f"towards 127.0.0.1:{port})")
    assert lines[-1] == f"best: {best}"


def test_order_given_address_wins_over_the_image_api(sites_file, capsys):
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", "127.0.0.1/32: edge2; "
                        "10.1.0.0/16: edge1", "--client-address", "10.1.2.3",
                        "--image-api-url", "http://127.0.0.1:9292/")
    assert lines[1] == "client address: 10.1.2.3 (given)"
    assert lines[-1] == f"best: {EDGE1_URL}"


def test_order_towards_an_unresolvable_image_api_is_for_nobody(
        sites_file, capsys, caplog, monkeypatch):
    def unresolvable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    caplog.set_level(logging.INFO)
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", "0.0.0.0/0: edge1",
                        "--image-api-url", "http://glance.invalid:9292/")
    assert lines[:2] == ["strategy: client_network", f"1. {FILE_URL}"]
    assert "No local address towards glance.invalid:9292" in caplog.text


def test_order_json_output_is_the_ordered_locations_only(sites_file, capsys):
    assert main(["order", sites_file, "--json", *BY_NETWORK,
                 "--network-preferences", "10.2.0.0/16: edge2",
                 "--client-address", "10.2.0.9"]) == 0
    locations = SITES["locations"]
    assert json.loads(capsys.readouterr().out) == [locations[2],
                                                   *locations[:2]]


def test_order_client_network_by_store_type(image_file, capsys):
    lines = order_lines(capsys, image_file, "--strategy", "client_network",
                        "--prefer-by", "store_type", "--network-preferences",
                        "10.1.0.0/16: http", "--client-address", "10.1.2.3")
    assert lines[-1] == f"best: {HTTP_URL}"


def test_order_towards_the_image_api_needs_no_openstacksdk(
        sites_file, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openstack", None)
    lines = order_lines(capsys, sites_file, *BY_NETWORK,
                        "--network-preferences", "127.0.0.1/32: edge2",
                        "--image-api-url", "http://127.0.0.1:9292/")
    assert lines[-1] == f"best: {EDGE2_URL}"


@pytest.mark.parametrize("argv, message", [
    (["--client-address", "10.1.2"], "'10.1.2' is not an IP address"),
    (["--client-address", "edge1"], "'edge1' is not an IP address"),
    (["--image-api-url", "glance:9292"],
     "'glance:9292': not an http or https URL"),
], ids=["short-address", "name", "endpoint"])
def test_order_refuses_a_malformed_address_or_url(sites_file, capsys, argv,
                                                  message):
    with pytest.raises(SystemExit) as exit:
        main(["order", sites_file, *BY_NETWORK, *argv])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--prefer-by", "store_name"], "'store_name'"),
    (["--network-preferences", "10.1.0.1/16: edge1"], "10.1.0.0/16"),
], ids=["prefer-by", "host-bits"])
def test_order_refuses_a_wrong_client_network_option(sites_file, capsys,
                                                     argv, message):
    assert main(["order", sites_file, *BY_NETWORK, *argv]) == 2
    assert message in capsys.readouterr().err
