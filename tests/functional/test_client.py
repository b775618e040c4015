"""The consumer library, ``loc_strategy_filter.client``, against the stub
image API on a real server and real loopback mirrors, reached through
openstacksdk without authentication.
"""

import hashlib
import json
import os
import urllib.request

import pytest

from loc_strategy_filter.client import Client
from loc_strategy_filter import errors
from tests.functional.stub_api import DATA

openstack = pytest.importorskip("openstack")
pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:openstack")

MIRROR_FIRST = {"location_strategy": "store_type",
                "store_type_preference": "http, file"}


def gets(mirror):
    return [entry for entry in mirror.log if entry[0] == "GET"]


def left_in(directory):
    return sorted(path.name for path in directory.iterdir())


# --- ordered -----------------------------------------------------------------

@pytest.mark.parametrize("overrides, best", [
    ({}, "file:///srv/images/x"),
    (MIRROR_FIRST, "http://127.0.0.1:9292/x"),
], ids=["location_order", "store_type"])
def test_the_original_case_is_ordered_as_the_filter_orders_it(overrides,
                                                              best):
    image = {"id": "x", "direct_url": "file:///srv/images/x",
             "locations": [{"url": "file:///srv/images/x", "metadata": {}},
                           {"url": "http://127.0.0.1:9292/x",
                            "metadata": {}}]}
    client = Client(**overrides)

    assert client.best(image)["url"] == best
    assert [location["url"] for location in client.ordered(image)][0] == best
    assert len(client.ordered(image)) == 2


def test_an_openstacksdk_image_and_a_dict_are_ordered_alike(api, connection,
                                                            client, started):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())
    sdk_image = connection.image.get_image(image_id)
    with urllib.request.urlopen(f"{api.url}/v2/images/{image_id}") as got:
        as_dict = json.load(got)  # as glanceclient holds it
    images = client(**MIRROR_FIRST)

    assert images.ordered(sdk_image) == images.ordered(as_dict) == (
        images.ordered(image_id))
    assert images.best(sdk_image)["url"] == mirror.url()


def test_an_image_of_no_locations_has_no_best():
    assert Client().ordered({"id": "x", "locations": []}) == []
    assert Client().best({"id": "x"}) is None


def test_the_client_address_chooses_the_order():
    image = {"id": "x", "locations": [
        {"url": "file:///srv/x", "metadata": {"store": "central"}},
        {"url": "http://edge/x", "metadata": {"store": "edge1"}}]}
    client = Client(location_strategy="client_network",
                    network_preferences="10.1.0.0/16: edge1 central",
                    default_preference="central")

    assert client.best(image, client_address="10.1.2.3")["url"] == (
        "http://edge/x")
    assert client.best(image, client_address="10.9.2.3")["url"] == (
        "file:///srv/x")
    assert Client(settings=client.settings,
                  client_address="10.1.0.9").best(image)["url"] == (
        "http://edge/x")


# --- download ----------------------------------------------------------------

@pytest.mark.parametrize("overrides, index, mirror_read", [
    (MIRROR_FIRST, 1, True),
    ({}, 0, False),
], ids=["store_type", "location_order"])
def test_a_download_reads_the_strategys_choice(api, client, started, tmp_path,
                                               overrides, index, mirror_read):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())
    target = tmp_path / "image.raw"

    served = client(**overrides).download(image_id, target)

    assert target.read_bytes() == DATA
    assert (served.index, served.image_api_from) == (index, None)
    assert served.size == len(DATA)
    assert bool(gets(mirror)) is mirror_read
    assert api.downloads() == []
    assert left_in(tmp_path) == ["data", "image.raw"]


def test_a_download_to_a_file_object(api, client, tmp_path):
    image_id = api.image_with()
    with open(tmp_path / "out", "wb") as out:
        served = client().download(image_id, out)

    assert (tmp_path / "out").read_bytes() == DATA
    assert str(served).startswith("location 0 (file store")


def test_progress_hears_every_byte_written(api, client, tmp_path):
    image_id = api.image_with()
    heard = []

    client().download(image_id, tmp_path / "x",
                      progress=lambda written, size: heard.append(
                          (written, size)))

    assert heard[0] == (0, len(DATA)) and heard[-1] == (len(DATA), len(DATA))
    assert [written for written, _ in heard] == sorted(
        written for written, _ in heard)


def test_nothing_readable_is_read_from_the_image_api(api, client, started,
                                                     tmp_path):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())

    served = client(file_dirs="", http_allowed_hosts="").download(
        image_id, tmp_path / "x")

    assert (tmp_path / "x").read_bytes() == DATA
    assert (served.location, served.image_api_from) == (None, 0)
    assert str(served) == "the image API"
    assert not gets(mirror)


def test_without_fallback_nothing_readable_raises_and_leaves_nothing(
        api, client, tmp_path):
    image_id = api.image_with()

    with pytest.raises(errors.NoReadableLocation):
        client(file_dirs="").download(image_id, tmp_path / "x",
                                      fallback=False)

    assert left_in(tmp_path) == ["data"]
    assert api.downloads() == []


def test_a_broken_mirror_is_resumed_from_the_image_api_at_the_byte_reached(
        api, client, started, tmp_path):
    mirror = started(DATA, behaviour="dies", die_after=100_000)
    image_id = api.image_with(mirror.url())

    served = client(file_dirs="", **MIRROR_FIRST).download(image_id,
                                                           tmp_path / "x")

    assert (tmp_path / "x").read_bytes() == DATA
    [(_, _, asked)] = api.downloads()
    assert asked == f"bytes={served.image_api_from}-"
    assert 0 < served.image_api_from <= 100_000
    assert served.index == 1
    assert f"up to byte {served.image_api_from}, then the image API" in str(
        served)


def test_a_mirror_that_dies_before_its_first_byte_did_not_serve(
        api, client, started, tmp_path):
    mirror = started(DATA, behaviour="dies", die_after=0)
    image_id = api.image_with(mirror.url())

    served = client(file_dirs="", **MIRROR_FIRST).download(image_id,
                                                           tmp_path / "x")

    assert (tmp_path / "x").read_bytes() == DATA
    assert gets(mirror)
    assert (served.location, served.image_api_from) == (None, 0)
    assert str(served) == "the image API"


def test_wrong_bytes_from_a_mirror_start_over_from_the_image_api(
        api, client, started, tmp_path):
    mirror = started(DATA, behaviour="corrupt")
    image_id = api.image_with(mirror.url())
    heard = []

    served = client(file_dirs="", **MIRROR_FIRST).download(
        image_id, tmp_path / "x",
        progress=lambda written, size: heard.append(written))

    assert (tmp_path / "x").read_bytes() == DATA
    assert str(served) == "the image API"
    assert gets(mirror) and api.downloads() == [
        ("GET", f"/v2/images/{image_id}/file", None)]
    assert heard[-1] == len(DATA)


def test_a_mirror_that_sent_wrong_bytes_is_tried_last_next_time(
        api, client, started, tmp_path):
    """The client remembers failures, as the filter does."""
    mirror = started(DATA, behaviour="corrupt")
    image_id = api.image_with(mirror.url())
    images = client(**MIRROR_FIRST)
    images.download(image_id, tmp_path / "first")
    asked = len(gets(mirror))

    served = images.download(image_id, tmp_path / "second")

    assert (tmp_path / "second").read_bytes() == DATA
    assert served.index == 0
    assert len(gets(mirror)) == asked


def test_wrong_bytes_everywhere_raise_verification_failed(api, client,
                                                          data_dir, tmp_path):
    image_id = api.image_with()
    (data_dir / image_id).write_bytes(bytes(len(DATA)))

    with pytest.raises(errors.VerificationFailed, match="mismatch"):
        client().download(image_id, tmp_path / "x")

    assert left_in(tmp_path) == ["data"]


def test_an_image_without_data_raises_no_image_data(api, connection, client,
                                                    tmp_path):
    queued = api.stub.create_image(name="q", disk_format="raw",
                                   container_format="bare")

    for image in (queued["id"], queued,
                  connection.image.get_image(queued["id"])):
        with pytest.raises(errors.NoImageData, match="status queued"):
            client().download(image, tmp_path / "x")

    assert left_in(tmp_path) == ["data"]


def test_an_unknown_image_raises_download_failed(api, client, tmp_path):
    with pytest.raises(errors.DownloadFailed, match="no-such-image"):
        client().download("no-such-image", tmp_path / "x")


# --- open --------------------------------------------------------------------

def test_open_streams_the_verified_bytes_without_any_image_api(data_dir):
    path = data_dir / "img"
    path.write_bytes(DATA)
    image = {"id": "img", "status": "active", "size": len(DATA),
             "os_hash_algo": "sha512",
             "os_hash_value": hashlib.sha512(DATA).hexdigest(),
             "locations": [{"url": f"file://{path}", "metadata": {}}]}

    with Client(file_dirs=str(data_dir)).open(image) as stream:
        assert b"".join(stream) == DATA
        assert stream.served.index == 0


def test_open_never_ends_wrong_bytes_cleanly(data_dir):
    path = data_dir / "img"
    path.write_bytes(os.urandom(len(DATA)))
    image = {"id": "img", "status": "active", "size": len(DATA),
             "checksum": hashlib.md5(DATA).hexdigest(),
             "locations": [{"url": f"file://{path}", "metadata": {}}]}
    received = []

    with pytest.raises(errors.VerificationFailed):
        with Client(file_dirs=str(data_dir),
                    verify_checksums="all").open(image) as stream:
            received.extend(stream)

    assert len(b"".join(received)) < len(DATA)


def test_without_a_connection_an_image_id_is_a_configuration_error():
    with pytest.raises(errors.ConfigurationError, match="connection"):
        Client().ordered("some-image-id")


# --- errors ------------------------------------------------------------------

def test_bad_configuration_names_the_option_the_value_and_what_is_allowed():
    with pytest.raises(errors.ConfigurationError) as raised:
        Client(location_strategy="fastest")

    assert "location_strategy" in str(raised.value)
    assert "fastest" in str(raised.value)
    assert "store_type" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_malformed_client_address_is_a_configuration_error():
    with pytest.raises(errors.ConfigurationError, match="10.1.2.300"):
        Client(client_address="10.1.2.300")


@pytest.mark.parametrize("kind", [
    errors.ConfigurationError, errors.DownloadFailed, errors.NoImageData,
    errors.NoReadableLocation, errors.VerificationFailed,
    errors.LocationsExhausted])
def test_every_error_is_one_of_the_family(kind):
    assert issubclass(kind, errors.LocationStrategyError)
