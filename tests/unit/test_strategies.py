import copy
import importlib
import string

from hypothesis import given
from hypothesis import strategies as st
import pytest

import loc_strategy_filter
from loc_strategy_filter import choose_best_location
from loc_strategy_filter import get_ordered_locations
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.requester import Requester
from loc_strategy_filter import strategies
from loc_strategy_filter.strategies.base import Strategy

# The spec's scheme map, written out independently of the code under test.
TYPE_OF_SCHEME = {
    "file": "file", "filesystem": "file",
    "http": "http", "https": "http",
    "rbd": "rbd",
    "swift": "swift", "swift+http": "swift", "swift+https": "swift",
    "swift+config": "swift",
    "s3": "s3", "s3+http": "s3", "s3+https": "s3",
    "cinder": "cinder",
    "vsphere": "vmware",
}
TYPE_OF_NAME = {**{t: t for t in TYPE_OF_SCHEME.values()},
                "filesystem": "file", "vmware_datastore": "vmware"}
STORE_IDS = ["fast", "ceph-east", "local", "archive"]

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"


# -- Generated locations and preferences ------------------------------------

def random_case(word):
    return st.lists(st.booleans(), min_size=len(word),
                    max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c
                              for c, u in zip(word, upper)))


def padded(word_strategy):
    blanks = st.sampled_from(["", " ", "  ", "\t"])
    return st.tuples(blanks, word_strategy, blanks).map("".join)


known_scheme_urls = st.tuples(
    st.sampled_from(sorted(TYPE_OF_SCHEME)).flatmap(random_case),
    st.sampled_from(["://host/images/x", ":///srv/x", "://ref1/c/o", ":x"]),
).map("".join)
unknown_scheme_urls = st.sampled_from(
    ["ftp://x", "gopher:x", "glance://x", "swift+ftp://x", "s3+ftp://x",
     "file+http://x", "vsphere2://x", "://no-scheme"])
# Without a colon a string has no scheme at all.
garbage_urls = st.text(alphabet=string.ascii_letters + string.digits
                       + "/.-_+ \t\n%?#@\\\x00é☃", max_size=20)
non_str_urls = st.one_of(st.none(), st.integers(), st.just(b"file:///x"),
                         st.just(["http://x"]))
urls = st.one_of(known_scheme_urls, unknown_scheme_urls, garbage_urls,
                 non_str_urls)

store_ids = st.one_of(padded(st.sampled_from(STORE_IDS).flatmap(random_case)),
                      st.sampled_from(["", "other"]), st.none(), st.integers())
metadata = st.fixed_dictionaries({}, optional={"store": store_ids})
locations_lists = st.lists(
    st.fixed_dictionaries({"metadata": metadata}, optional={"url": urls}),
    max_size=12)


def preferences(names):
    name_lists = st.lists(padded(st.sampled_from(names).flatmap(random_case)),
                          max_size=6)
    return st.one_of(name_lists, name_lists.map(",".join))


strategy_choices = st.one_of(
    st.just(("location_order", {})),
    preferences(sorted(TYPE_OF_NAME)).map(
        lambda pref: ("store_type", {"store_type_preference": pref})),
    preferences(STORE_IDS).map(
        lambda pref: ("store_id", {"store_id_preference": pref})),
)


# -- An independent model of the spec ----------------------------------------

def preference_names(preference, canonical):
    if isinstance(preference, str):
        preference = preference.split(",")
    names = []
    for name in (canonical(item.strip().lower()) for item in preference):
        if name and name not in names:
            names.append(name)
    return names


def url_store_type(location):
    url = location.get("url")
    if not isinstance(url, str) or ":" not in url:
        return None
    return TYPE_OF_SCHEME.get(url.split(":", 1)[0].lower())


def location_store_id(location):
    store = location["metadata"].get("store")
    return store.strip().lower() if isinstance(store, str) else None


def expected_rank(strategy, options):
    """A function giving each location its preference group, 0 first."""
    if strategy == "location_order":
        return lambda location: 0
    if strategy == "store_type":
        names = preference_names(options["store_type_preference"],
                                 lambda name: TYPE_OF_NAME.get(name, name))
        key_of = url_store_type
    else:
        names = preference_names(options["store_id_preference"],
                                 lambda name: name)
        key_of = location_store_id
    return lambda location: (names.index(key_of(location))
                             if key_of(location) in names else len(names))


def identities(locations):
    return [id(location) for location in locations]


# -- Properties of every strategy --------------------------------------------

@given(locations_lists, strategy_choices)
def test_output_is_the_same_locations_stably_sorted_by_the_model(locations,
                                                                 choice):
    """The model's order, by identity: the same objects (a permutation), the
    more preferred groups first, each group in its original order; so
    ordering the output again changes nothing.
    """
    strategy, options = choice
    expected = sorted(locations, key=expected_rank(strategy, options))
    result = get_ordered_locations(locations, strategy, **options)
    assert identities(result) == identities(expected)
    again = get_ordered_locations(result, strategy, **options)
    assert identities(again) == identities(result)


@given(locations_lists, strategy_choices)
def test_input_is_not_mutated_and_a_new_list_is_returned(locations, choice):
    strategy, options = choice
    snapshot = copy.deepcopy(locations)
    result = get_ordered_locations(locations, strategy, **options)
    assert locations == snapshot
    assert result is not locations


# -- Tables: the historic Glance idea, positions written in the metadata -----

def located(*urls_and_positions):
    """Locations whose metadata says where each must end up."""
    return [{"url": url, "metadata": {"position": position}}
            for url, position in urls_and_positions]


def assert_sorted_by_position(locations, strategy, **options):
    result = get_ordered_locations(locations, strategy, **options)
    assert result == sorted(locations,
                            key=lambda loc: loc["metadata"]["position"])


@pytest.mark.parametrize("strategy, options, expected_url", [
    ("location_order", {}, FILE_URL),
    ("store_type", {"store_type_preference": "http, file"}, HTTP_URL),
    ("store_type", {"store_type_preference": ["http", "file"]}, HTTP_URL),
], ids=["location-order-keeps-file", "store-type-string-prefers-http",
        "store-type-list-prefers-http"])
def test_acceptance_example(strategy, options, expected_url):
    locations = [{"url": FILE_URL, "metadata": {}},
                 {"url": HTTP_URL, "metadata": {}}]
    best = choose_best_location(locations, strategy, **options)
    assert best is next(loc for loc in locations if loc["url"] == expected_url)


@pytest.mark.parametrize("preference, locations", [
    ("swift, http", located(("http://h/x", 2), ("swift+config://ref1/c/o", 0),
                            ("swift+https://h/c/o", 1))),
    ("s3, file", located(("file:///x", 1), ("s3+https://k:s@h/b/o", 0))),
    ("file", located(("http://h/x", 1), ("FILE:///srv/x", 0))),
    ("http", located(("file:///x", 1), ("HtTpS://h/x", 0))),
    ("filesystem, http", located(("http://h/x", 1), ("file:///x", 0))),
    ("vmware_datastore", located(("rbd://a/b/c/d", 1),
                                 ("vsphere://h/folder/x", 0))),
    ("rbd, cinder", located(("cinder://volume-id", 1), ("rbd://a/b/c/d", 0))),
    ("http, file, HTTP ", located(("file:///x", 1), ("http://h/x", 0),
                                  ("file:///y", 2))),
    ("file, filesystem", located(("http://h/x", 1), ("file:///x", 0))),
    ("", located(("http://h/x", 0), ("file:///x", 1))),
    ([], located(("http://h/x", 0), ("file:///x", 1))),
    (" , ,http", located(("file:///x", 1), ("https://h/x", 0))),
    ("http", located(("ftp://h/x", 1), ("not a url", 2), ("http://h/x", 0),
                     ("", 3))),
], ids=["swift-config", "s3-https", "upper-case-file-scheme",
        "mixed-case-https", "alias-filesystem", "alias-vmware-datastore",
        "rbd-before-cinder", "duplicated-names", "name-and-its-alias",
        "empty-string-preference", "empty-list-preference",
        "blank-names-ignored", "unknown-schemes-and-garbage-last"])
def test_store_type_order(preference, locations):
    assert_sorted_by_position(locations, "store_type",
                              store_type_preference=preference)


def test_store_type_keeps_locations_without_a_usable_url():
    no_url = {"metadata": {"position": 1}}
    int_url = {"url": 42, "metadata": {"position": 2}}
    none_url = {"url": None, "metadata": {"position": 3}}
    http = {"url": "http://h/x", "metadata": {"position": 0}}
    assert_sorted_by_position([no_url, int_url, http, none_url], "store_type",
                              store_type_preference="http")


def stored(*stores_and_positions):
    return [{"url": "file:///x", "metadata": {"position": position, **store}}
            for store, position in stores_and_positions]


@pytest.mark.parametrize("preference, locations", [
    ("fast, ceph-east", stored(({"store": "ceph-east"}, 1),
                               ({"store": "fast"}, 0),
                               ({"store": "slow"}, 2))),
    ("FAST", stored(({"store": "ceph"}, 1), ({"store": " Fast "}, 0))),
    ("fast, FAST, fast", stored(({"store": "a"}, 1), ({"store": "fast"}, 0),
                                ({"store": "b"}, 2))),
    ("fast", stored(({}, 1), ({"store": None}, 2), ({"store": "fast"}, 0))),
    ("", stored(({"store": "b"}, 0), ({"store": "a"}, 1))),
], ids=["two-stores-then-unlisted", "case-and-whitespace-ignored",
        "duplicated-names", "missing-store-last", "empty-preference"])
def test_store_id_order(preference, locations):
    assert_sorted_by_position(locations, "store_id",
                              store_id_preference=preference)


@pytest.mark.parametrize("strategy", ["location_order", "store_type",
                                      "store_id"])
def test_no_locations_means_no_best_location(strategy):
    assert get_ordered_locations([], strategy) == []
    assert choose_best_location([], strategy) is None


# -- Errors -------------------------------------------------------------------

@pytest.mark.parametrize("preference, bad_name", [
    ("http, fiel", "fiel"),
    (["FIEL"], "FIEL"),
    ("swift+config", "swift+config"),
], ids=["typo", "typo-in-upper-case", "scheme-is-not-a-store-type"])
def test_unknown_store_type_is_named_with_the_known_ones(preference, bad_name):
    with pytest.raises(loc_strategy_filter.InvalidOptionError) as raised:
        get_ordered_locations([], "store_type",
                              store_type_preference=preference)
    message = str(raised.value)
    assert "store_type_preference" in message
    assert repr(bad_name) in message
    for known in ["file", "filesystem", "http", "rbd", "swift", "s3",
                  "cinder", "vmware", "vmware_datastore"]:
        assert known in message


@pytest.mark.parametrize("strategy, options", [
    ("store_type", {"store_type_preference": 5}),
    ("store_type", {"store_type_preference": ["http", None]}),
    ("store_id", {"store_id_preference": {"fast": 1}}),
], ids=["int-preference", "non-string-name", "dict-preference"])
def test_preference_of_the_wrong_type_is_refused(strategy, options):
    with pytest.raises(loc_strategy_filter.InvalidOptionError,
                       match="_preference"):
        get_ordered_locations([], strategy, **options)


def test_unknown_strategy_is_a_value_error_listing_the_names():
    with pytest.raises(ValueError) as raised:
        get_ordered_locations([], "fastest")
    assert isinstance(raised.value, loc_strategy_filter.UnknownStrategyError)
    message = str(raised.value)
    assert "'fastest'" in message
    for name in ["location_order", "store_id", "store_type"]:
        assert name in message


@pytest.mark.parametrize("strategy, options, bad_option", [
    ("location_order", {"store_type_preference": "http"},
     "store_type_preference"),
    ("store_type", {"store_id_preference": "fast"}, "store_id_preference"),
    ("store_id", {"store_id_preferences": "fast"}, "store_id_preferences"),
], ids=["location-order-takes-none", "store-type-given-store-id-option",
        "store-id-option-typo"])
def test_unexpected_option_is_refused(strategy, options, bad_option):
    with pytest.raises(loc_strategy_filter.StrategyError, match=bad_option):
        get_ordered_locations([], strategy, **options)


# -- store_type_of ------------------------------------------------------------

@pytest.mark.parametrize("url, store_type", [
    ("file:///srv/images/x", "file"),
    ("filesystem:///srv/images/x", "file"),
    ("FILE:///srv/images/x", "file"),
    ("http://127.0.0.1:9292/x", "http"),
    ("https://h/x", "http"),
    ("rbd://fsid/pool/image/snap", "rbd"),
    ("swift://user:key@h/c/o", "swift"),
    ("swift+http://h/c/o", "swift"),
    ("swift+https://h/c/o", "swift"),
    ("swift+config://ref1/c/o", "swift"),
    ("s3://key:secret@h/bucket/o", "s3"),
    ("s3+http://h/bucket/o", "s3"),
    ("S3+HTTPS://h/bucket/o", "s3"),
    ("cinder://volume-id", "cinder"),
    ("vsphere://h/folder/x?dsName=ds", "vmware"),
    ("ftp://h/x", None),
    ("/srv/images/x", None),
    ("", None),
    (None, None),
    (b"file:///x", None),
], ids=lambda value: repr(value))
def test_store_type_of(url, store_type):
    assert loc_strategy_filter.store_type_of(url) == store_type


# -- A third party's strategy ------------------------------------------------

REVERSE_MODULE = '''\
from loc_strategy_filter.strategies.base import Strategy

STRATEGY = Strategy(name="reverse",
                    build=lambda: lambda locations: list(reversed(locations)))
'''


@pytest.fixture
def reverse_strategy_installed(tmp_path, monkeypatch):
    """A distribution on sys.path registering the strategy ``reverse``."""
    (tmp_path / "third_party_reverse.py").write_text(REVERSE_MODULE)
    dist_info = tmp_path / "third_party_reverse-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: third-party-reverse\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[loc_strategy_filter.strategies]\n"
        "reverse = third_party_reverse:STRATEGY\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    strategies._registry.cache_clear()
    yield
    strategies._registry.cache_clear()


def test_third_party_strategy_is_selected_by_name(reverse_strategy_installed):
    locations = [{"url": FILE_URL, "metadata": {}},
                 {"url": HTTP_URL, "metadata": {}}]
    assert "reverse" in loc_strategy_filter.available_strategies()
    result = get_ordered_locations(locations, strategy="reverse")
    assert identities(result) == identities(locations[::-1])


def test_a_strategy_written_before_requesters_orders_for_any_client(
        reverse_strategy_installed):
    locations = [{"url": FILE_URL, "metadata": {}},
                 {"url": HTTP_URL, "metadata": {}}]
    result = get_ordered_locations(locations, strategy="reverse",
                                   client_address="10.1.2.3")
    assert identities(result) == identities(locations[::-1])
    order = strategies.load_strategy("reverse").orderer()
    assert identities(order(locations, Requester.at("10.1.2.3"))) == \
        identities(order(locations)) == identities(locations[::-1])


def test_a_strategy_that_sees_requesters_is_given_the_clients_address():
    seen = []
    strategy = Strategy(name="seeing", sees_requester=True,
                        build=lambda: lambda locations, requester:
                        seen.append(requester) or list(locations))
    order = strategy.orderer()
    order([], Requester.at("10.1.2.3"))
    order([])
    assert seen == [Requester.at("10.1.2.3"), ANYONE]


# -- Run from a source tree, without the entry points -------------------------

def test_missing_entry_points_say_how_to_install(no_entry_points):
    with pytest.raises(strategies.StrategiesNotInstalledError) as raised:
        get_ordered_locations([], "location_order")
    assert isinstance(raised.value, loc_strategy_filter.StrategyError)
    message = str(raised.value)
    assert "entry points" in message and "not installed" in message
    assert "pip install -e ." in message
    assert "pip install loc-strategy-filter" in message
