import json

import pytest

from loc_strategy_filter import rewrite
from loc_strategy_filter.routes import ImageCall
from loc_strategy_filter.settings import Settings

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"
REVERSED = Settings(strategy="reverse", order=lambda locations: locations[::-1])
HIDDEN = Settings(strategy="reverse", order=lambda locations: locations[::-1],
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
@pytest.mark.parametrize("settings", [REVERSED, HIDDEN], ids=["shown", "hidden"])
def test_a_body_that_is_not_strict_json_is_unusable(text, reason, settings):
    with pytest.raises(rewrite.UnusableBody, match=reason):
        rewrite.rewrite_body(text, ImageCall.SHOW, settings)


@pytest.mark.parametrize("settings", [REVERSED, HIDDEN], ids=["shown", "hidden"])
def test_a_number_beyond_a_float_is_never_written_as_infinity(settings):
    text = body(image()).replace(b'"id"', b'"size": 1e400, "id"')
    with pytest.raises(rewrite.UnusableBody, match="beyond a float"):
        rewrite.rewrite_body(text, ImageCall.SHOW, settings)


def test_a_number_beyond_a_float_needs_no_rewrite_when_nothing_changes():
    text = b'{"id": "a", "size": 1e400}'
    assert rewrite.rewrite_body(text, ImageCall.SHOW, REVERSED) is None


def test_a_rewritten_body_is_strict_json():
    new = rewrite.rewrite_body(body(image(min_ram=0.5)), ImageCall.SHOW,
                               REVERSED)
    document = json.loads(new, parse_constant=pytest.fail)
    assert document["direct_url"] == HTTP_URL


def test_a_body_nested_too_deeply_to_write_is_unusable():
    deep = []
    for _ in range(100000):
        deep = [deep]

    def nesting(locations):
        return [{"url": HTTP_URL, "metadata": {"deep": deep}}]

    with pytest.raises(rewrite.UnusableBody, match="too deeply to write"):
        rewrite.rewrite_body(body(image()), ImageCall.SHOW,
                             Settings(strategy="nesting", order=nesting))


@pytest.mark.parametrize("call, document, reason", [
    (ImageCall.LIST, {"images": {"a": image()}}, "'images' is not a list"),
    (ImageCall.LIST, {"images": [[image()]]}, "not a JSON object"),
    (ImageCall.LIST, {"images": [image(), "b"]}, "not a JSON object"),
    (ImageCall.LIST, [image()], "'images' is not a list"),
    (ImageCall.SHOW, [image()], "not a JSON object"),
    (ImageCall.UPDATE, "an image", "not a JSON object"),
], ids=["images-an-object", "list-of-lists", "an-image-a-string",
        "list-body-a-list", "show-body-a-list", "update-body-a-string"])
@pytest.mark.parametrize("settings", [REVERSED, HIDDEN], ids=["shown", "hidden"])
def test_a_body_of_another_shape_is_unusable(call, document, reason, settings):
    with pytest.raises(rewrite.UnusableBody, match=reason):
        rewrite.rewrite_body(body(document), call, settings)
    if settings.hide_locations:
        with pytest.raises(rewrite.UnusableBody, match=reason):
            rewrite.without_locations(body(document), call)


@pytest.mark.parametrize("call, document", [
    (ImageCall.SHOW, image(nested={"locations": LOCATIONS})),
    (ImageCall.SHOW, {"id": "a", "image": image()}),
    (ImageCall.LIST, {"images": [image()], "extra": [image()]}),
    (ImageCall.LIST, {"images": [{"id": "a", "x": [image()]}]}),
], ids=["inside-an-image", "show-without-own-locations", "beside-the-images",
        "inside-a-listed-image"])
def test_hidden_locations_where_no_image_is_expected_are_unusable(call,
                                                                  document):
    with pytest.raises(rewrite.UnusableBody, match="no image is expected"):
        rewrite.rewrite_body(body(document), call, HIDDEN)
    with pytest.raises(rewrite.UnusableBody, match="no image is expected"):
        rewrite.without_locations(body(document), call)


def test_hidden_locations_leave_only_the_best_direct_url():
    new = rewrite.rewrite_body(body({"images": [image(), {"id": "b"}]}),
                               ImageCall.LIST, HIDDEN)
    assert json.loads(new)["images"] == [{"id": "a", "direct_url": HTTP_URL},
                                         {"id": "b"}]


def test_hiding_keeps_the_upstream_bytes_when_no_image_shows_locations():
    text = body({"id": "a", "name": "locations"})
    assert rewrite.rewrite_body(text, ImageCall.SHOW, HIDDEN) is None


def test_without_locations_strips_every_listed_image():
    new = rewrite.without_locations(body({"images": [image(), image()]}),
                                    ImageCall.LIST)
    assert json.loads(new) == {"images": [{"id": "a", "direct_url": FILE_URL}] * 2}
