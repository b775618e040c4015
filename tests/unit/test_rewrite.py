import collections
import json

from hypothesis import given
from hypothesis import strategies as st
import pytest

from loc_strategy_filter import locations as locations_mod
from loc_strategy_filter import rewrite
from loc_strategy_filter.routes import Shape
from loc_strategy_filter.settings import Settings


# Every test once with orjson, once with the standard library's json.
pytestmark = pytest.mark.usefixtures("json_backend")

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"
REVERSED = Settings(strategy="reverse",
                    order=lambda locations, requester=None: locations[::-1])
HIDDEN = Settings(strategy="reverse",
                  order=lambda locations, requester=None: locations[::-1],
                  hide_locations=True)
LOCATIONS = [{"url": FILE_URL, "metadata": {}},
             {"url": HTTP_URL, "metadata": {}}]
DEEP = b"[" * 100000 + b"]" * 100000


def image(**extra):
    return {"id": "a", "locations": LOCATIONS, "direct_url": FILE_URL, **extra}


def body(document):
    return json.dumps(document).encode()


@pytest.mark.parametrize("text, reason", [
    (b'{"id": "a", "locations": [], "size": NaN}', "NaN is not strict JSON"),
    (b'{"id": "a", "locations": [], "size": Infinity}', "Infinity"),
    (b'{"id": "a", "locations": [], "size": -Infinity}', "-Infinity"),
    (b'{"id": "a", "locations": [], "a": ' + DEEP + b"}", "nested too deeply"),
    (b'{"id": "a", "size": 1' + b"0" * 5000 + b"}", "invalid JSON"),
    (b'{"id": "a", "name": "\xff"}', "invalid JSON"),
], ids=["nan", "infinity", "minus-infinity", "deeply-nested",
        "integer-too-long", "not-utf-8"])
@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
def test_a_body_that_is_not_strict_json_is_unusable(text, reason, settings):
    with pytest.raises(rewrite.UnusableBody, match=reason):
        rewrite.rewrite_body(text, Shape.IMAGE, settings)


@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
def test_a_number_beyond_a_float_is_never_written_as_infinity(settings):
    text = body(image()).replace(b'"id"', b'"size": 1e400, "id"')
    with pytest.raises(rewrite.UnusableBody, match="beyond a float"):
        rewrite.rewrite_body(text, Shape.IMAGE, settings)


def test_a_number_beyond_a_float_needs_no_rewrite_when_nothing_changes():
    text = b'{"id": "a", "size": 1e400}'
    assert rewrite.rewrite_body(text, Shape.IMAGE, REVERSED) is None


def test_a_rewritten_body_is_strict_json():
    new = rewrite.rewrite_body(body(image(min_ram=0.5)), Shape.IMAGE,
                               REVERSED)
    document = json.loads(new, parse_constant=pytest.fail)
    assert document["direct_url"] == HTTP_URL


def test_a_body_nested_too_deeply_to_write_is_unusable():
    deep = []
    for _ in range(100000):
        deep = [deep]

    def nesting(locations, requester=None):
        return [{"url": HTTP_URL, "metadata": {"deep": deep}}]

    with pytest.raises(rewrite.UnusableBody, match="too deeply to write"):
        rewrite.rewrite_body(body(image()), Shape.IMAGE,
                             Settings(strategy="nesting", order=nesting))


@pytest.mark.parametrize("shape, document, reason", [
    (Shape.IMAGES, {"images": {"a": image()}}, "'images' is not a list"),
    (Shape.IMAGES, {"images": [[image()]]}, "not a JSON object"),
    (Shape.IMAGES, {"images": [image(), "b"]}, "not a JSON object"),
    (Shape.IMAGES, [image()], "'images' is not a list"),
    (Shape.IMAGE, [image()], "not a JSON object"),
    (Shape.IMAGE, "an image", "not a JSON object"),
], ids=["images-an-object", "list-of-lists", "an-image-a-string",
        "list-body-a-list", "show-body-a-list", "update-body-a-string"])
@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
def test_a_body_of_another_shape_is_unusable(shape, document, reason,
                                             settings):
    with pytest.raises(rewrite.UnusableBody, match=reason):
        rewrite.rewrite_body(body(document), shape, settings)
    if settings.hide_locations:
        with pytest.raises(rewrite.UnusableBody, match=reason):
            rewrite.hidden_unordered(body(document), shape)


@pytest.mark.parametrize("shape, document", [
    (Shape.IMAGE, image(nested={"locations": LOCATIONS})),
    (Shape.IMAGE, {"id": "a", "image": image()}),
    (Shape.IMAGES, {"images": [image()], "extra": [image()]}),
    (Shape.IMAGES, {"images": [{"id": "a", "x": [image()]}]}),
], ids=["inside-an-image", "show-without-own-locations", "beside-the-images",
        "inside-a-listed-image"])
def test_hidden_locations_where_no_image_is_expected_are_unusable(shape,
                                                                  document):
    with pytest.raises(rewrite.UnusableBody, match="no image is expected"):
        rewrite.rewrite_body(body(document), shape, HIDDEN)
    with pytest.raises(rewrite.UnusableBody, match="no image is expected"):
        rewrite.hidden_unordered(body(document), shape)


def test_hidden_locations_leave_only_the_best_direct_url():
    new = rewrite.rewrite_body(body({"images": [image(), {"id": "b"}]}),
                               Shape.IMAGES, HIDDEN)
    assert json.loads(new)["images"] == [{"id": "a", "direct_url": HTTP_URL},
                                         {"id": "b"}]


def test_hiding_keeps_the_upstream_bytes_when_no_image_shows_locations():
    text = body({"id": "a", "name": "locations"})
    assert rewrite.rewrite_body(text, Shape.IMAGE, HIDDEN) is None


def test_hidden_unordered_strips_every_listed_image():
    new = rewrite.hidden_unordered(body({"images": [image(), image()]}),
                                   Shape.IMAGES)
    assert json.loads(new) == {
        "images": [{"id": "a", "direct_url": FILE_URL}] * 2}


# The location API and the table of shapes.

SHAPED = {
    Shape.IMAGE: (image(), lambda document: document["locations"]),
    Shape.IMAGES: ({"images": [image()]},
                   lambda document: document["images"][0]["locations"]),
    Shape.LOCATIONS: (LOCATIONS, lambda document: document),
}


@pytest.mark.parametrize("shape", list(Shape), ids=lambda shape: shape.name)
def test_the_rewriter_orders_the_locations_of_every_shape(shape):
    document, locations_of = SHAPED[shape]
    new = json.loads(rewrite.rewrite_body(body(document), shape, REVERSED))
    assert locations_of(new) == LOCATIONS[::-1]


@pytest.mark.parametrize("shape", list(Shape), ids=lambda shape: shape.name)
def test_the_rewriter_knows_what_hide_locations_sends_for_every_shape(shape):
    document, locations_of = SHAPED[shape]
    unordered = rewrite.hidden_unordered(body(document), shape)
    if shape is Shape.LOCATIONS:
        assert unordered is None  # Glance's list, as it came
    else:
        with pytest.raises(KeyError):
            locations_of(json.loads(unordered))


@pytest.mark.parametrize("shape", [None, "one image", object()],
                         ids=["none", "a-string", "an-object"])
@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
def test_a_shape_without_a_handling_is_unusable(shape, settings):
    with pytest.raises(rewrite.UnusableBody, match="no handling"):
        rewrite.rewrite_body(body(image()), shape, settings)
    with pytest.raises(rewrite.UnusableBody, match="no handling"):
        rewrite.hidden_unordered(body(image()), shape)


def test_the_location_api_answer_is_in_strategy_order_when_hidden_too():
    new = rewrite.rewrite_body(body(LOCATIONS), Shape.LOCATIONS, HIDDEN)
    assert json.loads(new) == LOCATIONS[::-1]


def test_a_location_list_in_order_keeps_the_upstream_bytes():
    in_order = Settings(
        strategy="same",
        order=lambda locations, requester=None: list(locations))
    assert rewrite.rewrite_body(body(LOCATIONS), Shape.LOCATIONS,
                                in_order) is None


@pytest.mark.parametrize("document, reason", [
    ({"locations": LOCATIONS}, "'locations' is not a list"),
    (image(), "'locations' is not a list"),
    ("file:///srv/images/x", "'locations' is not a list"),
    ([FILE_URL], "location 0 has no URL"),
    ([LOCATIONS[0], {"url": 1, "metadata": {}}], "location 1 has no URL"),
    ([LOCATIONS[0], {"metadata": {}}], "location 1 has no URL"),
], ids=["an-object", "an-image", "a-string", "bare-urls", "url-a-number",
        "no-url"])
@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
def test_a_location_list_of_another_shape_is_unusable(document, reason,
                                                      settings):
    with pytest.raises(rewrite.UnusableBody, match=reason):
        rewrite.rewrite_body(body(document), Shape.LOCATIONS, settings)
    with pytest.raises(rewrite.UnusableBody, match=reason):
        rewrite.hidden_unordered(body(document), Shape.LOCATIONS)


def test_a_location_list_that_is_not_strict_json_is_unusable():
    text = body(LOCATIONS).replace(b"{}", b'{"size": NaN}', 1)
    with pytest.raises(rewrite.UnusableBody, match="NaN"):
        rewrite.rewrite_body(text, Shape.LOCATIONS, HIDDEN)


LOCATION_LISTS = st.lists(st.fixed_dictionaries({
    "url": st.text(max_size=8),
    "metadata": st.dictionaries(st.sampled_from(["store", "k"]),
                                st.text(max_size=3), max_size=2)}),
    max_size=6)


@given(locations=LOCATION_LISTS, seed=st.randoms(use_true_random=False),
       hidden=st.booleans())
def test_a_location_list_is_the_strategys_permutation_of_glances(
        locations, seed, hidden):
    def shuffled(given, requester=None):
        ordered = list(given)
        seed.shuffle(ordered)
        return ordered

    settings = Settings(strategy="shuffle", order=shuffled,
                        hide_locations=hidden)
    text = body(locations)
    new = rewrite.rewrite_body(text, Shape.LOCATIONS, settings)
    answer = json.loads(text if new is None else new)
    assert (sorted(map(json.dumps, answer))
            == sorted(map(json.dumps, locations)))


# stores, in a multi-store image.

def located(*stores):
    """Locations, one per store (None: a location naming none)."""
    return [{"url": f"file:///{index}",
             "metadata": {} if store is None else {"store": store}}
            for index, store in enumerate(stores)]


def glance_stores(locations):
    """``stores`` as Glance's ResponseSerializer writes it."""
    stores = [loc["metadata"].get("store") for loc in locations]
    return ",".join(store for store in stores if store)


@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
def test_stores_follow_the_new_order(settings):
    document = {"id": "a", "locations": located("fast", None, "slow"),
                "stores": "fast,slow"}
    new = json.loads(rewrite.rewrite_body(body(document), Shape.IMAGE,
                                          settings))
    assert new["stores"] == "slow,fast"


@pytest.mark.parametrize("stores", [None, "", 7, ["fast", "slow"],
                                    "fast,,slow", "fast,slow,"],
                         ids=["null", "empty", "a-number", "a-list",
                              "an-empty-id", "a-trailing-comma"])
def test_stores_of_no_use_are_left_as_they_are(stores):
    document = {"id": "a", "locations": located("fast", "slow"),
                "stores": stores}
    new = json.loads(rewrite.rewrite_body(body(document), Shape.IMAGE,
                                          REVERSED))
    assert new["stores"] == stores


def test_no_stores_are_added():
    document = {"id": "a", "locations": located("fast", "slow")}
    new = json.loads(rewrite.rewrite_body(body(document), Shape.IMAGE,
                                          REVERSED))
    assert "stores" not in new


@pytest.mark.parametrize("stores, ordered, expected", [
    ("fast,slow", located("slow", "fast"), "slow,fast"),
    ("fast,slow,fast", located("slow", "fast", "fast"), "slow,fast,fast"),
    ("fast,slow,fast", located("fast", "slow", "fast"), "fast,slow,fast"),
    ("fast,slow,gone", located("slow", "fast"), "slow,fast,gone"),
    ("gone,fast,lost,slow", located("slow", "fast"), "slow,fast,gone,lost"),
    ("fast,slow", located("slow", "new", "fast"), "slow,fast"),
    ("fast", located("slow", "fast", "fast"), "fast"),
    ("fast,slow", located(" slow", "fast"), "fast,slow"),
], ids=["reversed", "repeats-as-glance", "repeats-in-place", "unnamed-last",
        "unnamed-last-in-order", "unlisted-not-added", "listed-once",
        "untrimmed-is-another-id"])
def test_ordered_stores(stores, ordered, expected):
    assert locations_mod.ordered_stores(stores, ordered) == expected


STORE_IDS = st.sampled_from(["fast", "slow", "edge", "Fast"])
STORED = st.lists(st.one_of(st.none(), STORE_IDS), max_size=6).map(
    lambda stores: located(*stores))


@given(locations=STORED, seed=st.randoms(use_true_random=False))
def test_glances_stores_follow_any_new_order_as_glance_would_write_them(
        locations, seed):
    ordered = list(locations)
    seed.shuffle(ordered)
    stores = glance_stores(locations)
    new = locations_mod.ordered_stores(stores, ordered)
    assert new == (glance_stores(ordered) or stores)


def is_subsequence(items, sequence):
    rest = iter(sequence)
    return all(item in rest for item in items)


@given(listed=st.lists(STORE_IDS, min_size=1, max_size=6), locations=STORED)
def test_ordered_stores_never_adds_or_drops_an_id(listed, locations):
    new = locations_mod.ordered_stores(",".join(listed), locations).split(",")
    assert sorted(new) == sorted(listed)
    # First the listed ids the locations name, in the locations' order (as
    # often as both have them), then the others, in their listed order.
    named = [loc["metadata"].get("store") for loc in locations]
    both = {store: min(listed.count(store), named.count(store))
            for store in set(listed)}
    head, tail = new[:sum(both.values())], new[sum(both.values()):]
    assert collections.Counter(head) == +collections.Counter(both)
    assert is_subsequence(head, named)
    assert is_subsequence(tail, listed)


# -- direct_url learned from the location API ---------------------------------

def direct_url_only(**extra):
    return {"id": "a", "direct_url": FILE_URL, **extra}


@pytest.mark.parametrize("settings", [REVERSED, HIDDEN],
                         ids=["shown", "hidden"])
@pytest.mark.parametrize("shape", [Shape.IMAGE, Shape.IMAGES])
def test_direct_url_is_the_best_learned_and_no_location_is_added(settings,
                                                                 shape):
    document = (direct_url_only() if shape is Shape.IMAGE
                else {"images": [direct_url_only()]})
    asked = []

    def learn(ids):
        asked.append(ids)
        return {"a": LOCATIONS}

    new = json.loads(rewrite.rewrite_body(body(document), shape, settings,
                                          learn))
    (shown,) = rewrite.images_of(new, shape)
    assert shown == direct_url_only(direct_url=HTTP_URL)
    assert asked == [["a"]]


def test_only_images_with_direct_url_and_no_locations_are_learned():
    document = {"images": [image(), {"id": "b"}, direct_url_only(id="c"),
                           {"id": "d", "direct_url": 3}]}
    asked = []
    rewrite.rewrite_body(body(document), Shape.IMAGES, REVERSED,
                         lambda ids: asked.append(ids) or {})
    assert asked == [["c"]]


@pytest.mark.parametrize("learned", [
    {}, {"b": LOCATIONS}, {"a": []}, {"a": [{"url": 3}]}, {"a": "x"}],
    ids=["nothing", "another-image", "empty", "no-url", "not-a-list"])
def test_nothing_learned_of_the_image_leaves_its_direct_url(learned):
    document = direct_url_only()
    assert rewrite.rewrite_body(body(document), Shape.IMAGE, HIDDEN,
                                lambda ids: learned) is None


def test_a_learned_best_that_is_already_direct_url_changes_nothing():
    document = direct_url_only(direct_url=HTTP_URL)
    assert rewrite.rewrite_body(body(document), Shape.IMAGE, REVERSED,
                                lambda ids: {"a": LOCATIONS}) is None
