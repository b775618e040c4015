import copy
import ipaddress
import textwrap
import timeit

from hypothesis import given
from hypothesis import strategies as st
from paste import deploy
import pytest

from loc_strategy_filter import errors
from loc_strategy_filter import get_ordered_locations
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.requester import Requester
from loc_strategy_filter import settings
from loc_strategy_filter import strategies
from loc_strategy_filter.strategies import client_network

EDGE_SITES = ("10.1.0.0/16: edge1 central; 10.2.0.0/16: edge2 central; "
              "fd00:1::/48: edge1 central")


def location(store, url="http://host/x"):
    return {"url": url, "metadata": {"store": store}}


CENTRAL, EDGE1, EDGE2, OTHER = (location(store) for store in
                                ("central", "edge1", "edge2", "other"))
IMAGE = [OTHER, CENTRAL, EDGE2, EDGE1]


def stores(locations):
    return [loc["metadata"]["store"] for loc in locations]


def ordered(address, locations=IMAGE, **options):
    order = strategies.load_strategy("client_network").orderer(**options)
    return stores(order(locations, Requester.at(address)))


# -- The rules ---------------------------------------------------------------

NESTED = "10.0.0.0/8: other; 10.1.0.0/16: central; 10.1.2.0/24: edge2"


@pytest.mark.parametrize("address, options, expected", [
    ("10.1.2.3", {"network_preferences": NESTED},
     ["edge2", "other", "central", "edge1"]),
    ("10.1.3.3", {"network_preferences": NESTED},
     ["central", "other", "edge2", "edge1"]),
    ("10.9.9.9", {"network_preferences": NESTED},
     ["other", "central", "edge2", "edge1"]),
    ("10.1.2.3", {"network_preferences": EDGE_SITES},
     ["edge1", "central", "other", "edge2"]),
    ("10.2.255.255", {"network_preferences": EDGE_SITES},
     ["edge2", "central", "other", "edge1"]),
    ("fd00:1:0:ffff::7", {"network_preferences": EDGE_SITES},
     ["edge1", "central", "other", "edge2"]),
    ("fd00:2::7", {"network_preferences": EDGE_SITES,
                   "default_preference": "central"},
     ["central", "other", "edge2", "edge1"]),
    ("::ffff:10.2.0.9", {"network_preferences": EDGE_SITES},
     ["edge2", "central", "other", "edge1"]),
    ("192.0.2.1", {"network_preferences": EDGE_SITES,
                   "default_preference": "central"},
     ["central", "other", "edge2", "edge1"]),
    ("192.0.2.1", {"network_preferences": EDGE_SITES},
     ["other", "central", "edge2", "edge1"]),
    (None, {"network_preferences": EDGE_SITES,
            "default_preference": "edge2, central"},
     ["edge2", "central", "other", "edge1"]),
    (None, {}, ["other", "central", "edge2", "edge1"]),
    ("10.1.0.1", {"network_preferences": "10.1.0.0/16: edge1"},
     ["edge1", "other", "central", "edge2"]),
    ("10.1.0.1", {"network_preferences": "10.1.0.0/16: EDGE1 Central edge1"},
     ["edge1", "central", "other", "edge2"]),
    ("10.1.0.1",
     {"network_preferences": "10.1.0.0/16:edge2,,edge1 ,\tcentral"},
     ["edge2", "edge1", "central", "other"]),
    ("10.1.0.1", {"network_preferences":
                  "\n  10.2.0.0/16: edge2\n\n  10.1.0.0/16: edge1 ;"},
     ["edge1", "other", "central", "edge2"]),
    ("10.1.0.1", {"network_preferences": "10.1.0.0/255.255.0.0: edge1"},
     ["edge1", "other", "central", "edge2"]),
    ("10.1.0.1", {"network_preferences": "10.1.0.1: edge1"},
     ["edge1", "other", "central", "edge2"]),
    ("10.1.0.2", {"network_preferences": "10.1.0.1: edge1"},
     ["other", "central", "edge2", "edge1"]),
    ("10.1.2.3", {"network_preferences": "0.0.0.0/0: edge2; ::/0: edge1"},
     ["edge2", "other", "central", "edge1"]),
    ("2001:db8::1", {"network_preferences": "0.0.0.0/0: edge2; ::/0: edge1"},
     ["edge1", "other", "central", "edge2"]),
], ids=[
    "nested-24-wins", "nested-16-wins", "nested-8-wins", "ipv4-site1",
    "ipv4-site2", "ipv6", "ipv6-unlisted-gets-default", "ipv4-mapped",
    "unlisted-gets-default", "unlisted-no-default-keeps-order",
    "no-address-gets-default", "no-options-keeps-order",
    "unnamed-keep-relative-order", "names-case-insensitive-repeats-ignored",
    "commas-and-whitespace", "newlines-and-empty-entries", "netmask-form",
    "bare-address", "bare-address-is-one-address", "ipv4-never-matches-ipv6",
    "ipv6-never-matches-ipv4",
])
def test_order(address, options, expected):
    assert ordered(address, **options) == expected


def test_store_ids_in_locations_compare_case_insensitively():
    image = [location(" Central "), location("EDGE1")]
    assert stores(get_ordered_locations(
        image, "client_network", client_address="10.1.0.1",
        network_preferences="10.1.0.0/16: edge1")) == ["EDGE1", " Central "]


STORE_TYPE_IMAGE = [location("a", "rbd://pool/x"), location("b", "http://h/x"),
                    location("c", "file:///srv/x"), location("d", None)]


@pytest.mark.parametrize("address, options, expected", [
    ("10.1.0.1", {"network_preferences": "10.1.0.0/16: filesystem http"},
     ["c", "b", "a", "d"]),
    ("10.1.0.1", {"network_preferences": "10.1.0.0/16: HTTP, RBD"},
     ["b", "a", "c", "d"]),
    ("10.2.0.1", {"network_preferences": "10.1.0.0/16: http",
                  "default_preference": "File"},
     ["c", "a", "b", "d"]),
], ids=["alias", "case-insensitive", "default"])
def test_store_type_mode(address, options, expected):
    assert ordered(address, STORE_TYPE_IMAGE, prefer_by="store_type",
                   **options) == expected


def test_store_id_mode_ignores_the_scheme():
    assert ordered("10.1.0.1", STORE_TYPE_IMAGE, prefer_by="store_id",
                   network_preferences="10.1.0.0/16: c http") == [
                       "c", "a", "b", "d"]


def test_input_is_not_changed_and_the_result_is_new():
    image = [location("central"), location("edge1")]
    before = copy.deepcopy(image)
    for address in ("10.1.0.1", "192.0.2.1", None):
        result = get_ordered_locations(
            image, "client_network", client_address=address,
            network_preferences=EDGE_SITES)
        assert result is not image
    assert image == before


def test_a_strategy_called_without_a_requester_gets_the_default():
    order = client_network.STRATEGY.orderer(
        network_preferences=EDGE_SITES, default_preference="edge2")
    assert stores(order(IMAGE)) == stores(order(IMAGE, ANYONE)) == [
        "edge2", "other", "central", "edge1"]


# -- Start-up errors ---------------------------------------------------------

@pytest.mark.parametrize("options, option, value, allowed", [
    ({"network_preferences": "10.1.0.0/33: edge1"}, "network_preferences",
     "10.1.0.0/33: edge1", "IP networks such as 10.1.0.0/16"),
    ({"network_preferences": "edge1: central"}, "network_preferences",
     "edge1: central", "IP networks such as 10.1.0.0/16"),
    ({"network_preferences": "10.1.2.0/16: edge1"}, "network_preferences",
     "10.1.2.0/16: edge1", "without host bits set, such as 10.1.0.0/16"),
    ({"network_preferences": "fd00:1::1/48: edge1"}, "network_preferences",
     "fd00:1::1/48: edge1", "without host bits set, such as fd00:1::/48"),
    ({"network_preferences": "10.1.0.0/16: a; 10.1.0.0/16 : b"},
     "network_preferences", "10.1.0.0/16 : b",
     "each network once (10.1.0.0/16 is listed twice)"),
    ({"network_preferences": "fd00:1::/48: a\nFD00:0001:0::/48: b"},
     "network_preferences", "FD00:0001:0::/48: b",
     "each network once (fd00:1::/48 is listed twice)"),
    ({"network_preferences": "10.1.0.0/16 edge1"}, "network_preferences",
     "10.1.0.0/16 edge1", "entries 'NETWORK: NAME [NAME ...]'"),
    ({"network_preferences": "10.1.0.0/16: , "}, "network_preferences",
     "10.1.0.0/16: ,", "at least one store name"),
    ({"network_preferences": "::ffff:10.0.0.0/104: a"}, "network_preferences",
     "::ffff:10.0.0.0/104: a", "IPv4 networks written as IPv4"),
    ({"network_preferences": ["10.1.0.0/16: a"]}, "network_preferences",
     ["10.1.0.0/16: a"], "entries 'NETWORK: NAME [NAME ...]'"),
    ({"prefer_by": "store"}, "prefer_by", "store", "store_id, store_type"),
    ({"prefer_by": None}, "prefer_by", None, "store_id, store_type"),
    ({"prefer_by": "store_type", "network_preferences": "10.1.0.0/16: ceph"},
     "network_preferences", "ceph", "store types cinder, file, filesystem"),
    ({"prefer_by": "store_type", "default_preference": "http nfs"},
     "default_preference", "nfs", "store types cinder, file, filesystem"),
], ids=[
    "prefix-too-long", "not-a-network", "host-bits", "ipv6-host-bits",
    "duplicate", "ipv6-duplicate-spelled-differently", "no-colon",
    "no-store-names", "ipv4-mapped-network", "not-a-string",
    "unknown-prefer-by", "prefer-by-none", "unknown-store-type",
    "unknown-default-store-type",
])
def test_start_up_error(options, option, value, allowed):
    with pytest.raises(strategies.InvalidOptionError) as raised:
        client_network.STRATEGY.orderer(**options)
    assert (raised.value.option, raised.value.value) == (option, value)
    assert allowed in raised.value.allowed
    assert option in str(raised.value) and repr(value) in str(raised.value)


def test_store_names_are_not_checked_by_store_id():
    client_network.STRATEGY.orderer(network_preferences="10.1.0.0/16: ceph")


# -- Properties against a brute-force model ---------------------------------

NAMES = ["s0", "s1", "s2", "s3", "s4"]


def model_order(locations, entries, default, address):
    """The spec by a scan: the longest listed prefix holding ``address``
    names the preference, else ``default``; a stable sort by it.
    """
    best = None
    for network, names in entries:
        if (address is not None and address.version == network.version
                and address in network
                and (best is None or network.prefixlen > best[0].prefixlen)):
            best = (network, names)
    names = [name.casefold() for name in (best[1] if best else default)]

    def rank(loc):
        store = loc["metadata"]["store"].casefold()
        return names.index(store) if store in names else len(names)

    return sorted(locations, key=rank)


def networks(version):
    width = 32 if version == 4 else 128
    # Sixteen bases and lengths around them, and a length above them, so
    # that networks nest.
    return st.tuples(st.integers(0, 15), st.sampled_from([
        2 if version == 4 else 10, width - 6, width - 5, width - 4,
        width - 2, width])).map(
        lambda parts: ipaddress.ip_network(
            (parts[0] << (width - 4), parts[1]) if version == 4 else
            ((0xfd << (width - 8)) | (parts[0] << (width - 12)), parts[1]),
            strict=False))


name_lists = st.lists(st.sampled_from(NAMES).map(
    lambda name: name.upper() if len(name) % 2 else name), min_size=1,
    max_size=4)
entry_lists = st.dictionaries(
    st.one_of(networks(4), networks(6)), name_lists, max_size=12).map(
    lambda entries: sorted(entries.items(), key=str))
location_lists = st.lists(st.sampled_from(NAMES + ["other"]).map(location),
                          max_size=8)


def addresses_near(entries):
    inside = [st.integers(0, network.num_addresses - 1).map(
        lambda offset, net=network: net.network_address + offset)
        for network, _ in entries]
    return st.one_of(st.none(), st.ip_addresses(), *inside)


def as_text(entries, separator=";", name_separator=" "):
    return separator.join(f" {network}: {name_separator.join(names)} "
                          for network, names in entries)


@given(st.data(), entry_lists, st.lists(st.sampled_from(NAMES), max_size=3),
       location_lists, st.sampled_from([";", "\n", " ;\n "]),
       st.sampled_from([" ", ",", ", ", "\t"]))
def test_orders_as_the_longest_prefix_model(data, entries, default, image,
                                            separator, name_separator):
    address = data.draw(addresses_near(entries))
    text = None if address is None else str(address)
    image = [dict(loc) for loc in image]  # distinct objects
    result = get_ordered_locations(
        image, "client_network", client_address=text,
        network_preferences=as_text(entries, separator, name_separator),
        default_preference=",".join(default))
    # The same objects, in a stable order by the model's preference: nothing
    # dropped, duplicated or copied, equal ranks in input order.
    assert [id(loc) for loc in result] == [
        id(loc) for loc in model_order(image, entries, default,
                                       Requester.at(text).client_address)]


@given(st.data(), entry_lists, location_lists)
def test_the_order_of_entries_does_not_matter(data, entries, image):
    shuffled = data.draw(st.permutations(entries))
    address = data.draw(addresses_near(entries))
    requester = Requester.at(address)
    first, second = (client_network.STRATEGY.orderer(
        network_preferences=as_text(listed)) for listed in (entries, shuffled))
    assert first(image, requester) == second(image, requester)


@given(location_lists, st.ip_addresses())
def test_output_is_a_permutation_of_the_input(image, address):
    image = [dict(loc) for loc in image]
    result = get_ordered_locations(
        image, "client_network", client_address=address,
        network_preferences="0.0.0.0/0: s1 s0; ::/0: s2",
        default_preference="s3")
    assert sorted(map(id, result)) == sorted(map(id, image))


# -- Cost --------------------------------------------------------------------

def per_order_seconds(network_count):
    entries = "; ".join(f"10.{i // 256}.{i % 256}.0/24: s{i % 5}"
                        for i in range(network_count))
    order = client_network.STRATEGY.orderer(network_preferences=entries)
    requester = Requester.at("192.0.2.1")  # in none: the most lookups
    image = [location(name) for name in NAMES]
    return min(timeit.repeat(lambda: order(image, requester), number=2000,
                             repeat=5))


def test_a_thousand_networks_cost_about_what_one_does():
    assert per_order_seconds(1000) < 2 * per_order_seconds(1)


# -- Through settings --------------------------------------------------------

def test_from_paste_builds_the_strategy():
    built = settings.from_paste({}, {
        "location_strategy": "client_network",
        "network_preferences": EDGE_SITES,
        "default_preference": "central",
        "prefer_by": "store_id"})
    assert stores(built.order(IMAGE, Requester.at("10.2.0.1"))) == [
        "edge2", "central", "other", "edge1"]
    assert stores(built.order(IMAGE, ANYONE)) == [
        "central", "other", "edge2", "edge1"]


@pytest.mark.parametrize("key, value", [
    ("network_preferences", "10.1.0.0/16: a; 10.1.0.0/16: b"),
    ("network_preferences", "10.1.0.0/16"),
    ("default_preference", "nfs"),
], ids=["duplicate-network", "no-colon", "unknown-store-type"])
def test_from_paste_refuses_a_bad_value(key, value):
    local_conf = {"location_strategy": "client_network",
                  "prefer_by": "store_type", key: value}
    with pytest.raises(errors.ConfigurationError,
                       match=rf"\[client_network_location_strategy\] {key}"):
        settings.from_paste({}, local_conf)


def test_from_paste_refuses_an_unknown_prefer_by():
    with pytest.raises(errors.ConfigurationError,
                       match=r"\[client_network_location_strategy\] "
                             r"prefer_by.*allowed: store_id, store_type"):
        settings.from_paste({}, {"prefer_by": "store"})


def test_an_option_file_value_spans_lines(tmp_path):
    conf = tmp_path / "glance-api.conf"
    conf.write_text(textwrap.dedent("""\
        [DEFAULT]
        location_strategy = client_network
        [client_network_location_strategy]
        network_preferences = 10.1.0.0/16: edge1 central
            10.2.0.0/16: edge2 central; fd00:1::/48: edge1 central
        default_preference = central
        """))
    built = settings.from_paste({}, {"oslo_config_file": str(conf)})
    assert stores(built.order(IMAGE, Requester.at("10.2.0.1"))) == [
        "edge2", "central", "other", "edge1"]


def test_a_paste_key_value_spans_lines(tmp_path):
    ini = tmp_path / "api-paste.ini"
    ini.write_text(textwrap.dedent("""\
        [filter:location_strategy]
        use = egg:loc-strategy-filter#location_strategy
        location_strategy = client_network
        network_preferences =
            10.1.0.0/16: edge1 central
            fd00:1::/48: edge1, central
        default_preference = central
        """))
    make_filter = deploy.loadfilter(f"config:{ini}", name="location_strategy")
    built = make_filter(lambda environ, start_response: []).settings
    assert stores(built.order(IMAGE, Requester.at("fd00:1::9"))) == [
        "edge1", "central", "other", "edge2"]
    assert stores(built.order(IMAGE, Requester.at("10.3.0.1"))) == [
        "central", "other", "edge2", "edge1"]
