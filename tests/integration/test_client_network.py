"""``client_network``: each site's clients get their own site's copy, in
real Glance 33 (the ``sites`` deployment).

The image is uploaded to ``central`` (the default store) and copied to
``edge1`` and ``edge2`` by one ``copy-image`` import, so Glance alone lists
the central copy first for everyone. The filter's servers prefer ``edge1
central`` for 127.0.0.2/32, ``edge2 central`` for 127.0.0.3/32 and
``central`` for anyone else. The tests' clients bind those loopback
addresses, so Glance's peer (``REMOTE_ADDR``) is the address the test
chose; the proxies are the tests' own (``proxy.ForwardingProxy``), one on
127.0.0.9 (a trusted proxy) and one on 127.0.0.8 (not trusted).

Which copy a download read is told by the kernel (``file_watch``): each
store keeps its copy in its own directory. ``download_mode = auto`` makes
Glance read the client's copy (``?prefer=<store>``); ``serve`` makes the
filter read it.
"""

import dataclasses
import hashlib

import pytest

from tests.integration.conftest import DATA
from tests.integration.conftest import EDGE1_CLIENT
from tests.integration.conftest import EDGE2_CLIENT
from tests.integration.conftest import served_by
from tests.integration.conftest import SITE_STORES
from tests.integration.conftest import TRUSTED_PROXY
from tests.integration.conftest import unique_name
from tests.integration.conftest import UNTRUSTED_PROXY
from tests.integration.proxy import ForwardingProxy
from tests.integration.test_location_api import locations as location_api
from tests.integration.test_multistore import stores_read

ELSEWHERE = "127.0.0.1"  # in no listed network
# What each client prefers, as the operator wrote it.
PREFERENCE = {EDGE1_CLIENT: ["edge1", "central"],
              EDGE2_CLIENT: ["edge2", "central"],
              ELSEWHERE: ["central"]}
CLIENTS = list(PREFERENCE)
FILTERED = ["client_network", "client_network_serve"]


@dataclasses.dataclass
class SiteCopies:
    """An image with a copy in every site's store."""

    image_id: str
    name: str
    paths: dict  # store -> the path of its copy
    glance_order: list  # the stores, in Glance's own location order
    checksum: str

    def url(self, store):
        return f"file://{self.paths[store]}"


@pytest.fixture(scope="module")
def site_copies(sites, sites_deployment):
    """A new image, uploaded to central and copied to both edges."""
    api = sites["bare"]
    name = unique_name("sites")
    created = api.create(name=name)
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = api.upload(image_id, DATA, store="central")
    assert uploaded.status_code == 204, uploaded.text
    copying = api.copy_to_stores(image_id, "edge1", "edge2")
    assert copying.status_code == 202, copying.text
    image = api.wait_for_stores(image_id, *SITE_STORES)
    return SiteCopies(
        image_id, name,
        {store: sites_deployment.store_dir(store) / image_id
         for store in SITE_STORES},
        stores_of(image), image["checksum"])


def stores_of(located):
    """The stores of an image's locations (or a location API answer), in
    their order.
    """
    if isinstance(located, dict):
        located = located["locations"]
    return [location["metadata"]["store"] for location in located]


def assert_ordered_for(image, client, site_copies):
    """``image`` (a show or a list entry) as ``client``'s site orders it:
    its preference first, then the other copies in Glance's order;
    ``direct_url`` and ``stores`` agree.
    """
    order = expected_order(client, site_copies)
    assert stores_of(image) == order
    assert [location["url"] for location in image["locations"]] == [
        site_copies.url(store) for store in order]
    assert image["direct_url"] == site_copies.url(order[0])
    assert image["stores"].split(",") == order


def expected_order(client, site_copies):
    """The stores in ``client``'s order: its preference, then the stores it
    does not name, as Glance lists them.
    """
    preference = PREFERENCE[client]
    return preference + [store for store in site_copies.glance_order
                         if store not in preference]


def assert_the_image(answer, site_copies):
    assert answer.status_code == 200, answer.text
    assert answer.content == DATA
    assert (hashlib.md5(answer.content).hexdigest() == site_copies.checksum
            == answer.headers["Content-MD5"])


def test_glance_alone_lists_central_first_for_everyone(sites, site_copies):
    assert site_copies.glance_order[0] == "central"
    for client in CLIENTS:
        image = sites["bare"].from_address(client).show(
            site_copies.image_id).json()
        assert stores_of(image) == site_copies.glance_order
        assert image["direct_url"] == site_copies.url("central")


def test_glance_alone_reads_central_for_everyone(sites, site_copies):
    for client in CLIENTS:
        answer, read = stores_read(site_copies, lambda: sites[
            "bare"].from_address(client).download(site_copies.image_id))
        assert_the_image(answer, site_copies)
        assert read == {"central"}


# --- Each client, from its own address ---------------------------------------

@pytest.mark.parametrize("server", FILTERED)
@pytest.mark.parametrize("client", CLIENTS)
def test_show_puts_the_clients_site_first(sites, site_copies, server, client):
    image = sites[server].from_address(client).show(
        site_copies.image_id).json()

    assert_ordered_for(image, client, site_copies)


@pytest.mark.parametrize("client", CLIENTS)
def test_list_agrees_with_show(sites, site_copies, client):
    api = sites["client_network"].from_address(client)
    shown = api.show(site_copies.image_id).json()
    listed = api.list(name=site_copies.name).json()["images"]

    assert [image["id"] for image in listed] == [site_copies.image_id]
    assert_ordered_for(listed[0], client, site_copies)
    assert listed[0]["locations"] == shown["locations"]


@pytest.mark.parametrize("client", CLIENTS)
def test_the_location_api_puts_the_clients_site_first(sites, site_copies,
                                                      client):
    api = sites["client_network"].from_address(client)
    shown = api.show(site_copies.image_id).json()
    answer = location_api(api, site_copies.image_id)

    assert answer.status_code == 200, answer.text
    assert stores_of(answer.json()) == expected_order(client, site_copies)
    assert answer.json() == shown["locations"]


@pytest.mark.parametrize("client", CLIENTS)
def test_steered_download_reads_the_clients_site(sites, sites_deployment,
                                                 site_copies, client):
    server = sites_deployment.servers["client_network"]
    log_start = server.log_end()

    answer, read = stores_read(site_copies, lambda: sites[
        "client_network"].from_address(client).download(site_copies.image_id))

    assert_the_image(answer, site_copies)
    assert read == {PREFERENCE[client][0]}
    assert (f"Download steered to store {PREFERENCE[client][0]}"
            in server.log(since=log_start))


@pytest.mark.parametrize("client", CLIENTS)
def test_served_download_reads_the_clients_site(sites, sites_deployment,
                                                site_copies, client):
    server = sites_deployment.servers["client_network_serve"]
    log_start = server.log_end()
    store = PREFERENCE[client][0]

    answer, read = stores_read(site_copies, lambda: sites[
        "client_network_serve"].from_address(client).download(
            site_copies.image_id))

    assert_the_image(answer, site_copies)
    assert read == {store}
    # Glance's index of the copy the filter read.
    index = site_copies.glance_order.index(store)
    assert served_by(server.log(since=log_start), site_copies.image_id,
                     index, "file")


def test_the_clients_own_preference_still_wins(sites, site_copies):
    answer, read = stores_read(site_copies, lambda: sites[
        "client_network"].from_address(EDGE1_CLIENT).download(
            site_copies.image_id, prefer="edge2"))

    assert_the_image(answer, site_copies)
    assert read == {"edge2"}


# --- Forwarding headers ------------------------------------------------------

@pytest.mark.parametrize("client, forwarded_for", [
    (EDGE1_CLIENT, EDGE2_CLIENT), (ELSEWHERE, EDGE1_CLIENT)])
def test_a_client_naming_another_address_is_not_believed(
        sites, site_copies, client, forwarded_for):
    api = sites["client_network"].from_address(client)
    headers = {"X-Forwarded-For": forwarded_for}

    image = api.call("GET", f"/v2/images/{site_copies.image_id}",
                     headers=headers).json()
    answer, read = stores_read(site_copies, lambda: api.call(
        "GET", f"/v2/images/{site_copies.image_id}/file", headers=headers))

    assert_ordered_for(image, client, site_copies)
    assert_the_image(answer, site_copies)
    assert read == {PREFERENCE[client][0]}


@pytest.fixture
def proxy_to(sites_deployment):
    """``proxy_to(server, host)``: a ForwardingProxy on ``host`` in front of
    the named server (or of another proxy), stopped after the test.
    """
    started = []

    def start(upstream, host):
        url = (upstream.url if isinstance(upstream, ForwardingProxy)
               else sites_deployment.servers[upstream].url)
        started.append(ForwardingProxy(url, host))
        return started[-1]

    yield start
    for proxy in reversed(started):
        proxy.stop()


@pytest.mark.parametrize("server", FILTERED)
@pytest.mark.parametrize("client", [EDGE1_CLIENT, EDGE2_CLIENT])
def test_behind_a_trusted_proxy_the_forwarded_address_decides(
        sites, site_copies, proxy_to, server, client):
    proxy = proxy_to(server, TRUSTED_PROXY)
    api = sites[server].from_address(client).through(proxy.url)

    image = api.show(site_copies.image_id).json()
    answer, read = stores_read(
        site_copies, lambda: api.download(site_copies.image_id))

    assert proxy.forwarded_for == [client, client]
    assert_ordered_for(image, client, site_copies)
    assert_the_image(answer, site_copies)
    assert read == {PREFERENCE[client][0]}


def test_the_forwarded_chain_is_read_from_the_right(sites, site_copies,
                                                    proxy_to):
    """A client's own X-Forwarded-For is kept by the proxy, to the left of
    the address the proxy saw: that one decides.
    """
    proxy = proxy_to("client_network", TRUSTED_PROXY)
    api = sites["client_network"].from_address(EDGE2_CLIENT).through(
        proxy.url)

    image = api.call("GET", f"/v2/images/{site_copies.image_id}",
                     headers={"X-Forwarded-For": EDGE1_CLIENT}).json()

    assert proxy.forwarded_for == [f"{EDGE1_CLIENT}, {EDGE2_CLIENT}"]
    assert_ordered_for(image, EDGE2_CLIENT, site_copies)


def test_trusted_proxies_in_the_chain_are_skipped(sites, site_copies,
                                                  proxy_to):
    """Two trusted proxies in a row: the first's address, which the second
    appends, is a proxy's, so the client is the one before it.
    """
    inner = proxy_to("client_network", TRUSTED_PROXY)
    outer = proxy_to(inner, TRUSTED_PROXY)
    api = sites["client_network"].from_address(EDGE1_CLIENT).through(
        outer.url)

    image = api.show(site_copies.image_id).json()
    answer, read = stores_read(
        site_copies, lambda: api.download(site_copies.image_id))

    assert inner.forwarded_for == [f"{EDGE1_CLIENT}, {TRUSTED_PROXY}"] * 2
    assert_ordered_for(image, EDGE1_CLIENT, site_copies)
    assert_the_image(answer, site_copies)
    assert read == {"edge1"}


@pytest.mark.parametrize("server", FILTERED)
def test_an_untrusted_proxys_header_changes_nothing(sites, site_copies,
                                                    proxy_to, server):
    """The proxy on 127.0.0.8 is in no network and not trusted: its
    address decides, so its clients get the default.
    """
    proxy = proxy_to(server, UNTRUSTED_PROXY)
    api = sites[server].from_address(EDGE2_CLIENT).through(proxy.url)

    image = api.show(site_copies.image_id).json()
    answer, read = stores_read(
        site_copies, lambda: api.download(site_copies.image_id))

    assert proxy.forwarded_for == [EDGE2_CLIENT, EDGE2_CLIENT]
    assert_ordered_for(image, ELSEWHERE, site_copies)
    assert_the_image(answer, site_copies)
    assert read == {"central"}
