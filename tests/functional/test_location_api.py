"""The location API and ``stores`` through the paste sample, in front of the
stub image API.
"""

import pytest

from tests.functional.conftest import call
from tests.functional.conftest import create_image
from tests.functional.conftest import FILE_URL
from tests.functional.conftest import HTTP_URL
from tests.functional.conftest import patch
from tests.functional.conftest import set_locations

STORE_TYPE_HTTP_FIRST = {"location_strategy": "store_type",
                         "store_type_preference": "http, file"}
SERVICE = {"X-Roles": "service"}


def locations(app, image_id, headers=SERVICE):
    return call(app, "GET", f"/v2/images/{image_id}/locations",
                headers=headers)


def urls(located):
    return [location["url"] for location in located]


@pytest.mark.parametrize("hide", ["false", "true"], ids=["shown", "hidden"])
def test_the_location_api_answers_in_strategy_order(load_pipeline, hide):
    app = load_pipeline(hide_locations=hide, **STORE_TYPE_HTTP_FIRST)
    image_id = create_image(app)["id"]
    set_locations(app, image_id, [FILE_URL, HTTP_URL])

    response = locations(app, image_id)
    assert response.status_int == 200
    assert urls(response.json) == [HTTP_URL, FILE_URL]


def test_the_location_api_agrees_with_show(load_pipeline):
    app = load_pipeline(**STORE_TYPE_HTTP_FIRST)
    image_id = create_image(app)["id"]
    set_locations(app, image_id, [FILE_URL, HTTP_URL])

    shown = call(app, "GET", f"/v2/images/{image_id}").json
    assert locations(app, image_id).json == shown["locations"]


def test_location_order_keeps_glances_order(load_pipeline):
    app = load_pipeline(location_strategy="location_order")
    image_id = create_image(app)["id"]
    set_locations(app, image_id, [HTTP_URL, FILE_URL])
    assert urls(locations(app, image_id).json) == [HTTP_URL, FILE_URL]


@pytest.mark.parametrize("hide", ["false", "true"], ids=["shown", "hidden"])
def test_an_end_user_is_refused_as_the_image_api_refuses(load_pipeline, hide):
    app = load_pipeline(hide_locations=hide, **STORE_TYPE_HTTP_FIRST)
    image_id = create_image(app)["id"]
    set_locations(app, image_id, [FILE_URL, HTTP_URL])

    response = locations(app, image_id, {"X-Roles": "member,reader"})
    assert response.status_int == 403
    assert "://" not in response.text


def test_hidden_show_and_the_services_list_agree_on_the_best(load_pipeline):
    app = load_pipeline(hide_locations="true", **STORE_TYPE_HTTP_FIRST)
    image_id = create_image(app)["id"]
    set_locations(app, image_id, [FILE_URL, HTTP_URL])

    shown = call(app, "GET", f"/v2/images/{image_id}").json
    assert "locations" not in shown
    assert shown["direct_url"] == locations(app, image_id).json[0]["url"]


@pytest.mark.parametrize("hide", ["false", "true"], ids=["shown", "hidden"])
def test_stores_follow_the_strategy_in_a_multi_store_image(load_pipeline,
                                                           hide):
    app = load_pipeline(multi_store="true", hide_locations=hide,
                        location_strategy="store_id",
                        store_id_preference="slow, fast")
    image_id = create_image(app)["id"]
    response = patch(app, image_id, {
        "op": "replace", "path": "/locations", "value": [
            {"url": FILE_URL, "metadata": {"store": "fast"}},
            {"url": HTTP_URL, "metadata": {"store": "slow"}}]})
    assert response.status_int == 200, response.text

    for image in (response.json,
                  call(app, "GET", f"/v2/images/{image_id}").json,
                  call(app, "GET", "/v2/images").json["images"][0]):
        assert image["stores"] == "slow,fast"
        assert image["direct_url"] == HTTP_URL
    assert urls(locations(app, image_id).json) == [HTTP_URL, FILE_URL]
