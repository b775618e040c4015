"""``client_network`` through a paste pipeline in front of the stub image
API: each client network sees its own site's store first, in every answer
that shows locations and in every download mode.

The sites: ``edge1`` for 10.1.0.0/16 and fd00:1::/48, except 10.1.7.0/24,
which prefers ``central``; ``edge2`` for 10.2.0.0/16; ``central`` for anyone
else. Glance lists the image's locations as ``edge2``, one naming no store,
``central``, ``edge1``: no client's order is Glance's own by accident.
"""

import hashlib
import http.client
import json
import os

from paste import deploy
import pytest
import webob
import webob.dec

from tests.functional.conftest import call
from tests.functional.conftest import PATCH
from tests import servers

PASTE = """
[pipeline:main]
pipeline = location_strategy stub

[filter:location_strategy]
use = egg:loc_strategy_filter#location_strategy
{filter_lines}

[app:stub]
use = egg:loc_strategy_filter#stub_image_api
show_multiple_locations = {show_multiple_locations}
show_image_direct_url = true
multi_store = true
data_dir = {data_dir}
"""
SITES = """\
location_strategy = client_network
network_preferences =
    10.1.0.0/16: edge1 central
    10.1.7.0/24: central edge1
    10.2.0.0/16: edge2 central
    fd00:1::/48: edge1 central
default_preference = central
"""
# The proxies' networks are inside the sites' (10.2.255.0/24 in edge2's,
# 10.1.255.0/24 in edge1's): a client a proxy's own address decides for is
# told apart from one the header decides for.
PROXIES = """\
trusted_proxies = 10.2.255.0/24, 10.1.255.0/24, 2001:db8::1
"""
SERVICE = {"X-Roles": "service"}
GLANCE_ORDER = ["edge2", None, "central", "edge1"]  # None: names no store
EDGE1_ORDER = ["edge1", "central", "edge2", None]
EDGE2_ORDER = ["edge2", "central", None, "edge1"]
CENTRAL_ORDER = ["central", "edge2", None, "edge1"]
DATA = os.urandom(64 * 1024 + 3)


def url_of(store):
    return f"http://127.0.0.1:9292/{store or 'unnamed'}"


def location_of(store):
    return {"url": url_of(store),
            "metadata": {} if store is None else {"store": store}}


def stores_of(located):
    """The store of each location (None for one naming none), in order."""
    return [location["metadata"].get("store") for location in located]


@pytest.fixture
def ini(tmp_path):
    """``write(filter_lines, show_multiple_locations=True)``: the path of a
    paste ini whose filter section holds ``filter_lines``.
    """
    def write(filter_lines, show_multiple_locations=True):
        path = tmp_path / "api-paste.ini"
        path.write_text(PASTE.format(
            filter_lines=filter_lines, data_dir=tmp_path / "data",
            show_multiple_locations=str(show_multiple_locations).lower()))
        return f"config:{path}"
    return write


@pytest.fixture
def pipeline(ini):
    """``load(filter_lines, show_multiple_locations=True)``: the filter in
    front of the stub, as paste.deploy loads ``[pipeline:main]``.
    """
    def load(filter_lines=SITES, show_multiple_locations=True):
        return deploy.loadapp(ini(filter_lines, show_multiple_locations))
    return load


def from_client(address, headers=None):
    """The keyword arguments of ``call`` for a request whose peer is
    ``address`` (None: a request without ``REMOTE_ADDR``).
    """
    environ = {} if address is None else {"REMOTE_ADDR": address}
    return {"environ": environ, "headers": dict(headers or {})}


def image_at(app, stores=GLANCE_ORDER):
    """An image of the pipeline's stub with a location in each store of
    ``stores``, in that order; its id.
    """
    stub = app.application
    image_id = stub.create_image(name="sites")["id"]
    for store in stores:
        location = location_of(store)
        stub.add_location(image_id, location["url"], location["metadata"])
    return image_id


def show(app, image_id, address, headers=None):
    response = call(app, "GET", f"/v2/images/{image_id}",
                    **from_client(address, headers))
    assert response.status_int == 200, response.text
    return response.json


def listed(app, image_id, address, headers=None):
    response = call(app, "GET", "/v2/images",
                    **from_client(address, headers))
    assert response.status_int == 200, response.text
    (image,) = [image for image in response.json["images"]
                if image["id"] == image_id]
    return image


def updated(app, image_id, address):
    """The answer to a PATCH giving the locations in Glance's order."""
    response = call(app, "PATCH", f"/v2/images/{image_id}", json=[
        {"op": "replace", "path": "/locations",
         "value": [location_of(store) for store in GLANCE_ORDER]}],
        content_type=PATCH, **from_client(address))
    assert response.status_int == 200, response.text
    return response.json


def assert_ordered_for(image, order):
    """``image`` shows its locations in ``order``, every one once, with
    ``direct_url`` and ``stores`` following them.
    """
    assert stores_of(image["locations"]) == order
    assert [location["url"] for location in image["locations"]] == [
        url_of(store) for store in order]
    assert image["direct_url"] == url_of(order[0])
    assert image["stores"] == ",".join(store for store in order if store)


CLIENTS = [
    ("10.1.2.3", EDGE1_ORDER),
    ("10.1.8.1", EDGE1_ORDER),
    ("10.1.7.9", ["central", "edge1", "edge2", None]),
    ("10.2.0.9", EDGE2_ORDER),
    ("fd00:1::9", EDGE1_ORDER),
    ("::ffff:10.1.2.3", EDGE1_ORDER),
    ("::ffff:10.2.0.9", EDGE2_ORDER),
    ("192.0.2.1", CENTRAL_ORDER),
    ("fd00:2::1", CENTRAL_ORDER),
    (None, CENTRAL_ORDER),
    ("unix:/run/glance.sock", CENTRAL_ORDER),
]
CLIENT_IDS = ["edge1", "edge1-beside-the-/24", "longest-prefix-/24", "edge2",
              "edge1-ipv6", "edge1-ipv4-mapped", "edge2-ipv4-mapped",
              "in-no-network", "ipv6-in-no-network", "no-address",
              "not-an-address"]


@pytest.mark.parametrize("address, order", CLIENTS, ids=CLIENT_IDS)
@pytest.mark.parametrize("answer", [show, listed], ids=["show", "list"])
def test_each_client_sees_its_networks_stores_first(pipeline, answer,
                                                    address, order):
    app = pipeline()
    image_id = image_at(app)
    assert_ordered_for(answer(app, image_id, address), order)


@pytest.mark.parametrize("address, order", CLIENTS, ids=CLIENT_IDS)
def test_an_update_answer_is_ordered_for_its_client(pipeline, address, order):
    app = pipeline()
    image_id = image_at(app, [])
    assert_ordered_for(updated(app, image_id, address), order)


class TakingLocationsOnCreate:
    """The stub, taking ``locations`` in a create request as Glance does
    (its image factory checks and keeps them), so that the create answer
    shows them.
    """

    def __init__(self, stub):
        self.stub = stub

    @webob.dec.wsgify
    def __call__(self, req):
        if (req.method, req.path_info) != ("POST", "/v2/images"):
            return req.get_response(self.stub)
        fields = req.json
        given = fields.pop("locations", [])
        image = self.stub.create_image(**fields)
        for location in given:
            image = self.stub.add_location(image["id"], location["url"],
                                           location["metadata"])
        return webob.Response(status=201, body=json.dumps(image).encode(),
                              content_type="application/json")


@pytest.mark.parametrize("address, order", [
    ("10.1.2.3", EDGE1_ORDER), ("10.2.0.9", EDGE2_ORDER),
    ("192.0.2.1", CENTRAL_ORDER),
], ids=["edge1", "edge2", "in-no-network"])
def test_a_create_answer_is_ordered_for_its_client(ini, address, order):
    paste = ini(SITES)
    stub = deploy.loadapp(paste, name="stub")
    app = deploy.loadfilter(paste, name="location_strategy")(
        TakingLocationsOnCreate(stub))
    response = call(app, "POST", "/v2/images", json={
        "name": "sites",
        "locations": [location_of(store) for store in GLANCE_ORDER]},
        **from_client(address))
    assert response.status_int == 201, response.text
    assert_ordered_for(response.json, order)


@pytest.mark.parametrize("address, order", [
    ("10.1.2.3", EDGE1_ORDER),
    ("10.2.0.9", EDGE2_ORDER),
    ("192.0.2.1", GLANCE_ORDER),
    (None, GLANCE_ORDER),
], ids=["edge1", "edge2", "in-no-network", "no-address"])
def test_without_a_default_others_see_the_images_own_order(pipeline, address,
                                                           order):
    app = pipeline(SITES.replace("default_preference = central",
                                 "default_preference ="))
    image_id = image_at(app)
    assert_ordered_for(show(app, image_id, address), order)


def test_one_pipeline_orders_for_each_client_in_turn(pipeline):
    app = pipeline()
    image_id = image_at(app)
    seen = [stores_of(show(app, image_id, address)["locations"])[0]
            for address in ("10.1.2.3", "10.2.0.9", "192.0.2.1", "10.1.2.3")]
    assert seen == ["edge1", "edge2", "central", "edge1"]


def test_store_names_are_case_insensitive_and_repeats_ignored(pipeline):
    app = pipeline("location_strategy = client_network\n"
                   "network_preferences = 10.1.0.0/16: EDGE1, Central edge1\n")
    image_id = image_at(app)
    assert_ordered_for(show(app, image_id, "10.1.2.3"), EDGE1_ORDER)


def test_two_copies_in_one_store_are_both_kept_in_order(pipeline):
    app = pipeline()
    stub = app.application
    image_id = stub.create_image(name="twice")["id"]
    given = [("edge2", "/a"), ("edge1", "/a"), ("central", "/a"),
             ("edge1", "/b")]
    for store, path in given:
        stub.add_location(image_id, f"http://127.0.0.1:9292/{store}{path}",
                          {"store": store})

    shown = show(app, image_id, "10.1.2.3")
    assert [location["url"] for location in shown["locations"]] == [
        f"http://127.0.0.1:9292/{path}" for path in (
            "edge1/a", "edge1/b", "central/a", "edge2/a")]
    assert shown["stores"] == "edge1,edge1,central,edge2"


@pytest.mark.parametrize("answer", [show, listed], ids=["show", "list"])
def test_hidden_locations_leave_the_clients_best_as_direct_url(pipeline,
                                                               answer):
    app = pipeline(SITES + "hide_locations = true\n")
    image_id = image_at(app)
    for address, best in (("10.1.2.3", "edge1"), ("10.2.0.9", "edge2"),
                          ("192.0.2.1", "central")):
        image = answer(app, image_id, address)
        assert "locations" not in image
        assert image["direct_url"] == url_of(best)
        assert image["stores"] == ",".join(
            store for store in {"edge1": EDGE1_ORDER, "edge2": EDGE2_ORDER,
                                "central": CENTRAL_ORDER}[best] if store)


BY_TYPE = """\
location_strategy = client_network
prefer_by = store_type
network_preferences = 10.1.0.0/16: http file; 10.2.0.0/16: filesystem, http
"""
FILE_LOCATION = "file:///srv/images/x"
HTTP_LOCATION = "http://127.0.0.1:9292/x"


@pytest.mark.parametrize("address, best", [
    ("10.1.2.3", HTTP_LOCATION),
    ("10.2.0.9", FILE_LOCATION),
    ("192.0.2.1", FILE_LOCATION),  # no default: Glance's order
], ids=["http-network", "file-network", "in-no-network"])
def test_prefer_by_store_type(pipeline, address, best):
    app = pipeline(BY_TYPE)
    stub = app.application
    image_id = stub.create_image(name="types")["id"]
    for url in (FILE_LOCATION, HTTP_LOCATION):
        stub.add_location(image_id, url)

    shown = show(app, image_id, address)
    assert shown["direct_url"] == best
    assert [location["url"] for location in shown["locations"]] == (
        [best] + [url for url in (FILE_LOCATION, HTTP_LOCATION)
                  if url != best])


@pytest.mark.parametrize("address, order", [
    ("10.1.2.3", EDGE1_ORDER), ("10.2.0.9", EDGE2_ORDER),
    ("fd00:1::9", EDGE1_ORDER), ("192.0.2.1", CENTRAL_ORDER),
], ids=["edge1", "edge2", "edge1-ipv6", "in-no-network"])
def test_the_location_api_answers_in_the_clients_order(pipeline, address,
                                                       order):
    app = pipeline()
    image_id = image_at(app)
    response = call(app, "GET", f"/v2/images/{image_id}/locations",
                    **from_client(address, SERVICE))
    assert response.status_int == 200, response.text
    assert stores_of(response.json) == order
    assert response.json == show(app, image_id, address)["locations"]


@pytest.mark.parametrize("address, best", [
    ("10.1.2.3", "edge1"), ("10.2.0.9", "edge2"), ("fd00:1::9", "edge1"),
    ("192.0.2.1", "central"),
], ids=["edge1", "edge2", "edge1-ipv6", "in-no-network"])
@pytest.mark.parametrize("answer", [show, listed], ids=["show", "list"])
def test_a_direct_url_only_image_points_at_the_clients_best(
        pipeline, answer, address, best):
    app = pipeline(show_multiple_locations=False)
    image_id = image_at(app)
    image = answer(app, image_id, address, SERVICE)
    assert "locations" not in image
    assert image["direct_url"] == url_of(best)


def test_learned_locations_are_ordered_for_each_client_in_turn(pipeline):
    """The locations learned once (and cached) are not one client's order."""
    app = pipeline(show_multiple_locations=False)
    image_id = image_at(app)
    seen = [listed(app, image_id, address, SERVICE)["direct_url"]
            for address in ("10.1.2.3", "10.2.0.9", "192.0.2.1", "10.1.2.3")]
    assert seen == [url_of(store)
                    for store in ("edge1", "edge2", "central", "edge1")]


# Forwarding headers: the peer 10.2.255.1 is a trusted proxy inside edge2's
# network, 10.2.0.9 an edge2 client that is no proxy.
FORWARDED_BY_X_FORWARDED_FOR = [
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3"}, "edge1"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3:51234"}, "edge1"),
    ("10.2.255.1", {"X-Forwarded-For": "fd00:1::9"}, "edge1"),
    ("2001:db8::1", {"X-Forwarded-For": "10.1.2.3"}, "edge1"),
    ("10.2.255.1", {"X-Forwarded-For": "::ffff:10.1.2.3"}, "edge1"),
    ("::ffff:10.2.255.1", {"X-Forwarded-For": "10.1.2.3"}, "edge1"),
    ("10.2.255.1", {"X-Forwarded-For": "192.0.2.1"}, "central"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3, 10.2.255.7"}, "edge1"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3, 192.0.2.1, 10.2.255.7"},
     "central"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.255.8, 10.2.255.7"}, "edge1"),
    ("10.2.255.1", {}, "edge2"),
    ("10.2.255.1", {"X-Forwarded-For": "garbage"}, "edge2"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3, unknown"}, "edge2"),
    ("10.2.255.1", {"Forwarded": "for=10.1.2.3"}, "edge2"),
    ("10.2.0.9", {"X-Forwarded-For": "10.1.2.3"}, "edge2"),
    ("192.0.2.1", {"X-Forwarded-For": "10.1.2.3"}, "central"),
]
FORWARDED_BY_X_FORWARDED_FOR_IDS = [
    "trusted-peer-header-decides", "with-a-port", "ipv6-client",
    "ipv6-trusted-peer", "ipv4-mapped-client", "ipv4-mapped-trusted-peer",
    "client-in-no-network",
    "two-proxies", "left-of-the-client-is-not-believed",
    "all-trusted-the-leftmost", "no-header-the-peer", "malformed-the-peer",
    "malformed-hop-the-peer", "the-other-header-is-ignored",
    "untrusted-peer-header-ignored", "untrusted-peer-in-no-network",
]


@pytest.mark.parametrize("peer, headers, best", FORWARDED_BY_X_FORWARDED_FOR,
                         ids=FORWARDED_BY_X_FORWARDED_FOR_IDS)
def test_trusted_proxies_x_forwarded_for(pipeline, peer, headers, best):
    app = pipeline(SITES + PROXIES)
    image_id = image_at(app)
    assert show(app, image_id, peer, headers)["direct_url"] == url_of(best)


@pytest.mark.parametrize("peer, headers, best", [
    ("10.2.255.1", {"Forwarded": "for=10.1.2.3"}, "edge1"),
    ("10.2.255.1", {"Forwarded": 'for="[fd00:1::9]:443";proto=https'},
     "edge1"),
    ("10.2.255.1", {"Forwarded": "for=10.1.2.3;proto=https, for=10.2.255.7"},
     "edge1"),
    ("10.2.255.1", {"Forwarded": "for=10.1.2.3, for=192.0.2.1"}, "central"),
    ("10.2.255.1", {"Forwarded": "for=unknown"}, "edge2"),
    ("10.2.255.1", {"Forwarded": "for=_hidden"}, "edge2"),
    ("10.2.255.1", {"Forwarded": "proto=https"}, "edge2"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3"}, "edge2"),
    ("10.2.0.9", {"Forwarded": "for=10.1.2.3"}, "edge2"),
], ids=["trusted-peer-header-decides", "ipv6-quoted-with-port",
        "two-proxies", "the-rightmost-untrusted", "unknown-the-peer",
        "obfuscated-the-peer", "no-for-the-peer",
        "x-forwarded-for-is-ignored", "untrusted-peer-header-ignored"])
def test_trusted_proxies_forwarded(pipeline, peer, headers, best):
    app = pipeline(SITES + PROXIES + "client_address_header = forwarded\n")
    image_id = image_at(app)
    assert show(app, image_id, peer, headers)["direct_url"] == url_of(best)


@pytest.mark.parametrize("peer, headers, best", [
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3"}, "edge1"),
    ("10.2.0.9", {"X-Forwarded-For": "10.1.2.3"}, "edge2"),
], ids=["trusted-peer", "untrusted-peer"])
def test_the_location_api_follows_the_trusted_proxies(pipeline, peer,
                                                      headers, best):
    app = pipeline(SITES + PROXIES)
    image_id = image_at(app)
    response = call(app, "GET", f"/v2/images/{image_id}/locations",
                    **from_client(peer, {**headers, **SERVICE}))
    assert stores_of(response.json)[0] == best


GLANCE_API_CONF = """
[DEFAULT]
location_strategy = client_network

[client_network_location_strategy]
network_preferences = 10.1.0.0/16: edge1 central; 10.2.0.0/16: edge2 central;
    fd00:1::/48: edge1 central
default_preference = central

[location_strategy_filter]
trusted_proxies = 10.2.255.0/24
client_address_header = x-forwarded-for
"""


@pytest.mark.parametrize("peer, headers, best", [
    ("10.1.2.3", {}, "edge1"),
    ("fd00:1::9", {}, "edge1"),
    ("10.2.0.9", {}, "edge2"),
    ("192.0.2.1", {}, "central"),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3"}, "edge1"),
    ("10.2.0.9", {"X-Forwarded-For": "10.1.2.3"}, "edge2"),
], ids=["edge1", "edge1-ipv6", "edge2", "in-no-network", "trusted-proxy",
        "untrusted-peer"])
def test_configured_in_an_oslo_config_file(pipeline, tmp_path, peer, headers,
                                           best):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(GLANCE_API_CONF)
    app = pipeline(f"oslo_config_file = {conf_file}\n")
    image_id = image_at(app)
    assert show(app, image_id, peer, headers)["direct_url"] == url_of(best)


def test_the_paste_section_overrides_the_oslo_config_file(pipeline,
                                                          tmp_path):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(GLANCE_API_CONF)
    app = pipeline(f"oslo_config_file = {conf_file}\n"
                   "network_preferences = 10.1.0.0/16: edge2\n")
    image_id = image_at(app)
    assert show(app, image_id, "10.1.2.3")["direct_url"] == url_of("edge2")
    # The file's other networks are gone with its value.
    assert show(app, image_id, "10.2.0.9")["direct_url"] == url_of("central")


@pytest.mark.parametrize("lines, words", [
    ("network_preferences = 10.1.0.0/33: edge1",
     ["network_preferences", "10.1.0.0/33", "10.1.0.0/16"]),
    ("network_preferences = 10.1.2.0/16: edge1",
     ["network_preferences", "10.1.2.0/16", "10.1.0.0/16"]),
    ("network_preferences = 10.1.0.0/16 edge1",
     ["network_preferences", "10.1.0.0/16 edge1", "NETWORK: NAME"]),
    ("network_preferences = 10.1.0.0/16:",
     ["network_preferences", "10.1.0.0/16:", "at least one store name"]),
    ("network_preferences = 10.1.0.0/16: a; 10.1.0.0/16: b",
     ["network_preferences", "10.1.0.0/16: b", "listed twice"]),
    ("network_preferences = ::ffff:10.1.0.0/112: edge1",
     ["network_preferences", "::ffff:10.1.0.0/112", "IPv4"]),
    ("prefer_by = store_type\nnetwork_preferences = 10.1.0.0/16: ftp",
     ["network_preferences", "ftp", "file", "swift"]),
    ("prefer_by = store_name",
     ["prefer_by", "store_name", "store_id", "store_type"]),
    ("trusted_proxies = 10.2.255.0/33",
     ["trusted_proxies", "10.2.255.0/33"]),
    ("trusted_proxies = ::ffff:10.2.255.0/120",
     ["trusted_proxies", "::ffff:10.2.255.0/120"]),
    ("prefer_by = store_type\ndefault_preference = nfs",
     ["default_preference", "nfs", "file"]),
    ("client_address_header = x-real-ip",
     ["client_address_header", "x-real-ip", "forwarded"]),
], ids=["prefix-too-long", "host-bits", "no-colon", "no-store",
        "network-twice", "ipv4-mapped", "unknown-store-type",
        "unknown-prefer-by", "bad-trusted-proxy", "ipv4-mapped-proxy",
        "unknown-default-store-type", "unknown-header"])
def test_bad_configuration_fails_when_the_pipeline_loads(pipeline, lines,
                                                         words):
    with pytest.raises(ValueError) as raised:
        pipeline("location_strategy = client_network\n" + lines + "\n")
    for word in words:
        assert word in str(raised.value)


# Downloads: the central copy is the stub's own upload (a file), each edge
# copy a loopback mirror. Glance lists the central copy first, so the stub's
# own download never contacts a mirror: a mirror hit is the filter's read,
# or the stub's read of the store the filter steered it to.

DOWNLOADS = """\
file_dirs = {data_dir}
http_allowed_hosts = 127.0.0.1
http_read_timeout = 2
"""


@pytest.fixture
def site_image(started):
    """``seed(stub)``: an image of ``stub`` with a copy in central, edge2
    and edge1, in that order; its id and the mirror of each edge.
    """
    def seed(stub):
        image_id = stub.create_image(name="sites", disk_format="raw",
                                     container_format="bare")["id"]
        stub.upload(image_id, DATA)
        uploaded = stub.catalog.get(image_id)["locations"][0]["url"]
        edges = {store: started(DATA) for store in ("edge2", "edge1")}
        copies = [{"url": uploaded, "metadata": {"store": "central"}},
                  *({"url": mirror.url(), "metadata": {"store": store}}
                    for store, mirror in edges.items())]
        stub.catalog.update(image_id,
                            lambda record: {**record, "locations": copies})
        return image_id, edges
    return seed


def gets(mirror):
    return [entry for entry in mirror.log if entry[0] == "GET"]


def read_from(edges):
    """The stores whose mirror was read, each as often as it was."""
    return sorted(store for store, mirror in edges.items()
                  for _ in gets(mirror))


def download(app, image_id, address, headers=None):
    response = call(app, "GET", f"/v2/images/{image_id}/file",
                    **from_client(address, headers))
    assert response.status_int == 200, response.text
    assert response.body == DATA
    return response


DOWNLOAD_CLIENTS = [
    ("10.1.2.3", {}, ["edge1"]),
    ("fd00:1::9", {}, ["edge1"]),
    ("10.2.0.9", {}, ["edge2"]),
    ("192.0.2.1", {}, []),
    ("10.2.255.1", {"X-Forwarded-For": "10.1.2.3"}, ["edge1"]),
    ("10.2.0.9", {"X-Forwarded-For": "10.1.2.3"}, ["edge2"]),
]
DOWNLOAD_CLIENT_IDS = ["edge1", "edge1-ipv6", "edge2", "central",
                       "through-a-trusted-proxy", "header-from-untrusted-peer"]


@pytest.mark.parametrize("peer, headers, read", DOWNLOAD_CLIENTS,
                         ids=DOWNLOAD_CLIENT_IDS)
def test_serve_reads_the_clients_preferred_copy(pipeline, tmp_path,
                                                site_image, peer, headers,
                                                read):
    app = pipeline(SITES + PROXIES + "download_mode = serve\n"
                   + DOWNLOADS.format(data_dir=tmp_path / "data"))
    image_id, edges = site_image(app.application)
    response = download(app, image_id, peer, headers)
    assert response.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert read_from(edges) == read


class Recorder:
    """A WSGI app passing requests to ``app``, recording each one's path
    and query.
    """

    def __init__(self, app):
        self.app = app
        self.asked = []

    @webob.dec.wsgify
    def __call__(self, req):
        self.asked.append(req.path_qs)
        return req.get_response(self.app)


@pytest.mark.parametrize("mode", ["steer", "auto"])
@pytest.mark.parametrize("peer, headers, read", DOWNLOAD_CLIENTS,
                         ids=DOWNLOAD_CLIENT_IDS)
def test_steer_asks_the_upstream_for_the_clients_store(ini, tmp_path,
                                                       site_image, mode, peer,
                                                       headers, read):
    paste = ini(SITES + PROXIES + f"download_mode = {mode}\n"
                + DOWNLOADS.format(data_dir=tmp_path / "data"))
    upstream = Recorder(deploy.loadapp(paste, name="stub"))
    app = deploy.loadfilter(paste, name="location_strategy")(upstream)
    image_id, edges = site_image(upstream.app)

    download(app, image_id, peer, headers)
    store = read[0] if read else "central"
    assert upstream.asked[-1] == f"/v2/images/{image_id}/file?prefer={store}"
    assert read_from(edges) == read  # what the stub read, as steered


# A real server: REMOTE_ADDR is the address the client's socket has.

LOOPBACK = """\
location_strategy = client_network
network_preferences = 127.0.0.0/8: edge2 central; ::1/128: edge1 central
default_preference = central
"""


def get_over_http(server, path, headers=None):
    connection = http.client.HTTPConnection(server.host, server.port,
                                            timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("trusted, best", [
    ("", "edge2"), ("trusted_proxies = 127.0.0.1\n", "edge1"),
], ids=["peer-not-trusted", "peer-trusted"])
def test_a_real_server_gives_the_peers_address(pipeline, trusted, best):
    app = pipeline(LOOPBACK + trusted)
    image_id = image_at(app)
    with servers.wsgi_server(app) as server:
        status, image = get_over_http(server, f"/v2/images/{image_id}",
                                      {"X-Forwarded-For": "::1"})
    assert status == 200
    assert image["direct_url"] == url_of(best)


def test_a_real_ipv6_server_gives_the_ipv6_peer(pipeline):
    app = pipeline(LOOPBACK)
    image_id = image_at(app)
    try:
        server = servers.wsgi_server(app, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server:
        status, image = get_over_http(server, f"/v2/images/{image_id}")
    assert status == 200
    assert image["direct_url"] == url_of("edge1")


@pytest.mark.parametrize("mode", ["steer", "serve"])
@pytest.mark.parametrize("address, read", [
    ("10.1.2.3", ["edge1"]), ("10.2.0.9", ["edge2"]), ("192.0.2.1", []),
], ids=["edge1", "edge2", "central"])
def test_a_direct_url_only_image_is_read_from_the_clients_copy(
        pipeline, tmp_path, site_image, mode, address, read):
    """The locations are learned from the location API, as the caller."""
    app = pipeline(SITES + f"download_mode = {mode}\n"
                   + DOWNLOADS.format(data_dir=tmp_path / "data"),
                   show_multiple_locations=False)
    image_id, edges = site_image(app.application)
    download(app, image_id, address, SERVICE)
    assert read_from(edges) == read
