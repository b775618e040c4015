import pytest

from loc_strategy_filter import rewrite
from loc_strategy_filter.routes import image_call
from loc_strategy_filter.routes import ImageCall
from loc_strategy_filter.routes import images_root
from loc_strategy_filter.routes import location_change
from loc_strategy_filter.routes import Shape


@pytest.mark.parametrize("method, script_name, path, expected", [
    ("GET", "", "/v2/images", ImageCall.LIST),
    ("POST", "", "/v2/images", ImageCall.CREATE),
    ("GET", "", "/v2/images/abc", ImageCall.SHOW),
    ("PATCH", "", "/v2/images/abc", ImageCall.UPDATE),
    ("GET", "/v2", "/images", ImageCall.LIST),
    ("GET", "/glance/v2", "/images/abc", ImageCall.SHOW),
    ("PATCH", "/v2", "/images/abc", ImageCall.UPDATE),
    ("GET", "/prefix", "/v2/images/abc", ImageCall.SHOW),
    ("GET", "", "/v2/images/abc/file", ImageCall.DOWNLOAD),
    ("GET", "/v2", "/images/abc/file", ImageCall.DOWNLOAD),
    ("GET", "", "/v2/images/abc/locations", ImageCall.LOCATIONS),
    ("GET", "/v2", "/images/abc/locations", ImageCall.LOCATIONS),
    ("GET", "", "/v2/images//locations", None),
    ("GET", "", "/v2/images/abc/locations/x", None),
    ("GET", "", "/v2/images/abc/locations/", None),
    ("POST", "", "/v2/images/abc/locations", None),
    ("DELETE", "", "/v2/images/abc/locations", None),
    ("GET", "", "/v2/images//file", None),
    ("GET", "", "/v2/images/abc/file/x", None),
    ("PUT", "", "/v2/images/abc/file", None),
    ("GET", "", "/v2/images/abc/members", None),
    ("PUT", "", "/v2/images/abc/tags/x", None),
    ("DELETE", "", "/v2/images/abc", None),
    ("HEAD", "", "/v2/images/abc", None),
    ("PUT", "", "/v2/images", None),
    ("GET", "", "/v2/images/", None),
    ("GET", "", "/v2/imagesx", None),
    ("GET", "", "/v2/schemas/image", None),
    ("GET", "", "/v1/images/abc", None),
    ("GET", "", "/images/abc", None),
    ("GET", "", "/", None),
    ("GET", "/v2x", "/images", None),
], ids=lambda value: repr(value))
def test_image_call(method, script_name, path, expected):
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": script_name,
               "PATH_INFO": path}
    assert image_call(environ) is expected


def test_every_call_but_a_download_says_where_its_locations_are():
    assert {call: call.shape for call in ImageCall} == {
        ImageCall.SHOW: Shape.IMAGE, ImageCall.CREATE: Shape.IMAGE,
        ImageCall.UPDATE: Shape.IMAGE, ImageCall.LIST: Shape.IMAGES,
        ImageCall.LOCATIONS: Shape.LOCATIONS, ImageCall.DOWNLOAD: None}


def test_the_rewriter_has_a_handling_for_every_shape():
    assert set(rewrite.HANDLINGS) == set(Shape)


def test_a_call_is_logged_by_its_name():
    assert [call.value for call in ImageCall] == [
        "show", "list", "create", "update", "locations", "download"]


@pytest.mark.parametrize("method, script_name, path, expected", [
    ("PATCH", "", "/v2/images/abc", "abc"),
    ("DELETE", "", "/v2/images/abc", "abc"),
    ("POST", "", "/v2/images/abc/locations", "abc"),
    ("DELETE", "/v2", "/images/abc/locations", "abc"),
    ("GET", "", "/v2/images/abc", None),
    ("GET", "", "/v2/images/abc/locations", None),
    ("POST", "", "/v2/images", None),
    ("PUT", "", "/v2/images/abc/file", None),
    ("DELETE", "", "/v2/images/abc/tags/x", None),
    ("PATCH", "", "/v2/images/", None),
    ("DELETE", "", "/images/abc", None),
], ids=lambda value: repr(value))
def test_location_changes(method, script_name, path, expected):
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": script_name,
               "PATH_INFO": path}
    assert location_change(environ) == expected


@pytest.mark.parametrize("path, root", [
    ("/v2/images", "/v2"), ("/v2/images/a/file", "/v2"), ("/images/a", "")])
def test_images_root(path, root):
    assert images_root(path) == root
