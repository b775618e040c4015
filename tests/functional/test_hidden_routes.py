"""With hide_locations, no route of the served stub shows locations to
users; the location API shows them, ordered, to services alone.
"""

import pytest

from loc_strategy_filter import cmd
from loc_strategy_filter.cmd import serve
from tests.functional.conftest import call

BASE_URL = "http://127.0.0.1:9292"


@pytest.fixture(params=["built-in", "paste-sample"])
def hidden(request, tmp_path, load_pipeline):
    """A pipeline with hide_locations and the demo image: (app, image id)."""
    if request.param == "built-in":
        args = cmd.build_parser().parse_args(
            ["serve", "--hide-locations", "--data-dir", str(tmp_path)])
        app = serve.build_pipeline(args)
    else:
        app = load_pipeline(hide_locations="true")
    return app, serve.create_demo_image(app, BASE_URL)


@pytest.mark.parametrize("method, path", [
    ("GET", "/images/{id}"),
    ("GET", "/images"),
    ("PATCH", "/images/{id}"),
    ("GET", "/images/{id}/file"),
    ("GET", "/images/{id}/locations"),
    ("GET", "/v2/images/{id}/locations/"),
    ("GET", "/v2/images/{id}/"),
    ("GET", "/v2//images/{id}"),
    ("GET", "/V2/images/{id}"),
    ("GET", "/v2.1/images/{id}"),
    ("GET", "/v2/v2/images/{id}"),
], ids=lambda value: value)
def test_no_image_route_outside_v2(hidden, method, path):
    app, image_id = hidden
    kwargs = {"json": [], "content_type": "application/"
              "openstack-images-v2.1-json-patch"} if method == "PATCH" else {}
    response = call(app, method, path.format(id=image_id), **kwargs)
    assert response.status_int == 404
    assert "file://" not in response.text


@pytest.mark.parametrize("path", ["/v2/images/{id}", "/v2/images"])
def test_image_routes_show_only_the_best_location(hidden, path):
    app, image_id = hidden
    response = call(app, "GET", path.format(id=image_id))
    assert response.status_int == 200
    assert "locations" not in response.text
    assert response.text.count("://") == 1  # direct_url, the best location


def test_the_location_api_refuses_users(hidden):
    app, image_id = hidden
    response = call(app, "GET", f"/v2/images/{image_id}/locations")
    assert response.status_int == 403
    assert "://" not in response.text


def test_the_location_api_shows_services_every_location_best_first(hidden):
    app, image_id = hidden
    best = call(app, "GET", f"/v2/images/{image_id}").json["direct_url"]
    response = call(app, "GET", f"/v2/images/{image_id}/locations",
                    headers={"X-Roles": "service"})
    assert response.status_int == 200
    assert response.json[0]["url"] == best
    assert response.text.count("://") == len(response.json) > 1
