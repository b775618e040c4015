import collections
import hashlib
import http.server
import io
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import tracemalloc
import wsgiref.util

from paste import deploy
import pytest
import webob

from loc_strategy_filter_stub import images as images_mod
from loc_strategy_filter_stub import StubImageAPI
from tests.servers import http_server

PATCH = "application/openstack-images-v2.1-json-patch"
OCTET = "application/octet-stream"
A, B, C, D = (f"swift://store/{name}" for name in "abcd")
DATA = bytes(range(100))
UNKNOWN = "4c1e2c9d-0000-4000-8000-000000000000"


@pytest.fixture
def app(tmp_path):
    return StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True,
                        show_image_direct_url=True)


def call(app, method, path, **kwargs):
    return webob.Request.blank(path, method=method, **kwargs).get_response(app)


def create(app, **fields):
    response = call(app, "POST", "/v2/images", json=fields)
    assert response.status_int == 201, response.text
    return response.json


def patch(app, image_id, *changes, content_type=PATCH):
    return call(app, "PATCH", f"/v2/images/{image_id}", json=list(changes),
                content_type=content_type)


def put(app, image_id, data, content_type=OCTET):
    return call(app, "PUT", f"/v2/images/{image_id}/file", body=data,
                content_type=content_type)


def show(app, image_id):
    return call(app, "GET", f"/v2/images/{image_id}").json


def location(url, **metadata):
    return {"url": url, "metadata": metadata}


def urls(image):
    return [loc["url"] for loc in image["locations"]]


def with_locations(app, *location_urls):
    image = create(app)
    response = patch(app, image["id"], {
        "op": "replace", "path": "/locations",
        "value": [location(url) for url in location_urls]})
    assert response.status_int == 200, response.text
    return response.json


def uploaded(app, data=DATA):
    image = create(app, disk_format="raw", container_format="bare")
    assert put(app, image["id"], data).status_int == 204
    return show(app, image["id"])


# Versions and routing

@pytest.mark.parametrize("path, status", [("/", 300), ("/versions", 200)],
                         ids=["root", "versions"])
def test_versions_document(app, path, status):
    response = call(app, "GET", path)
    assert response.status_int == status
    assert response.content_type == "application/json"
    [version] = response.json["versions"]
    assert version["status"] == "CURRENT"
    assert version["links"][0]["href"] == "http://localhost/v2/"


@pytest.mark.parametrize("method, path", [
    ("GET", "/v3/images"),
    ("GET", "/v2/imagesx"),
    ("GET", "/v2/images/x/file/more"),
    ("GET", f"/v2/images/{UNKNOWN}"),
    ("PATCH", f"/v2/images/{UNKNOWN}"),
    ("DELETE", f"/v2/images/{UNKNOWN}"),
    ("GET", f"/v2/images/{UNKNOWN}/file"),
], ids=["other-version", "prefix-only", "too-deep", "show-unknown",
        "update-unknown", "delete-unknown", "download-unknown"])
def test_not_found(app, method, path):
    kwargs = {"json": [], "content_type": PATCH} if method == "PATCH" else {}
    assert call(app, method, path, **kwargs).status_int == 404


@pytest.mark.parametrize("script_name, method, path", [
    ("", "GET", "/images/{id}"),
    ("", "GET", "/images"),
    ("", "PATCH", "/images/{id}"),
    ("", "GET", "/images/{id}/file"),
    ("/v2", "GET", "/v2/images/{id}"),
    ("/v2", "GET", "/"),
    ("/v2", "GET", "/versions"),
], ids=lambda value: value or "root")
def test_images_are_routed_only_below_v2(app, script_name, method, path):
    image = with_locations(app, A)
    kwargs = {"json": [], "content_type": PATCH} if method == "PATCH" else {}
    request = webob.Request.blank(path.format(id=image["id"]), method=method,
                                  base_url=f"http://localhost{script_name}",
                                  **kwargs)
    response = request.get_response(app)
    assert response.status_int == 404
    assert A not in response.text


def test_upload_to_unknown_image_is_404(app):
    assert put(app, UNKNOWN, b"x").status_int == 404


@pytest.mark.parametrize("method, path, allow", [
    ("POST", "/", "GET, HEAD"),
    ("PUT", "/v2/images", "GET, POST, HEAD"),
    ("POST", "/v2/images/x", "DELETE, GET, PATCH, HEAD"),
    ("DELETE", "/v2/images/x/file", "GET, PUT, HEAD"),
    ("POST", "/v2/images/x/locations", "GET, HEAD"),
], ids=["root", "collection", "member", "data", "locations"])
def test_wrong_method_is_405_with_allow(app, method, path, allow):
    response = call(app, method, path)
    assert response.status_int == 405
    assert response.headers["Allow"] == allow


def test_mounted_below_a_v2_script_name(app):
    base = "http://localhost/v2"
    created = webob.Request.blank("/images", method="POST", base_url=base,
                                  json={"name": "inner"}).get_response(app)
    assert created.status_int == 201
    shown = webob.Request.blank(f"/images/{created.json['id']}",
                                base_url=base).get_response(app)
    assert shown.json["name"] == "inner"
    assert shown.json["self"] == f"/v2/images/{created.json['id']}"


# Create

def test_create_shows_a_queued_image_like_glance(app):
    response = call(app, "POST", "/v2/images", json={
        "name": "cirros", "disk_format": "qcow2", "container_format": "bare",
        "tags": ["a", "b", "a"], "hw_arch": "x86_64"})
    image = response.json
    assert response.status_int == 201
    assert (response.headers["Content-Type"]
            == "application/json; charset=UTF-8")
    assert response.location.endswith(f"/v2/images/{image['id']}")
    assert image["status"] == "queued" and image["visibility"] == "shared"
    assert image["tags"] == ["a", "b"] and image["hw_arch"] == "x86_64"
    assert image["size"] is image["checksum"] is image["virtual_size"] is None
    assert (image["min_disk"], image["min_ram"]) == (0, 0)
    assert image["protected"] is image["os_hidden"] is False
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        image["created_at"])


def test_create_keeps_a_given_id(app):
    image_id = "7d6f2b1e-4a4b-4d36-9e4c-2f1a5f7c0b11"
    assert create(app, id=image_id)["id"] == image_id
    assert call(app, "GET", f"/v2/images/{image_id}").status_int == 200


def test_create_with_a_taken_id_is_409(app):
    image_id = create(app)["id"]
    response = call(app, "POST", "/v2/images", json={"id": image_id})
    assert response.status_int == 409


@pytest.mark.parametrize("key, word", [
    ("status", "read-only"), ("size", "read-only"), ("checksum", "read-only"),
    ("locations", "read-only"), ("direct_url", "read-only"),
    ("self", "read-only"), ("file", "read-only"), ("schema", "read-only"),
    ("created_at", "read-only"), ("location", "reserved"),
    ("deleted", "reserved"),
])
def test_create_refuses_fields_clients_may_not_set(app, key, word):
    response = call(app, "POST", "/v2/images", json={key: "x"})
    assert response.status_int == 403
    assert f"Attribute '{key}' is {word}" in response.text


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b'{"disk_format": "floppy"}',
    b'{"visibility": "everyone"}', b'{"hw_arch": 64}', b'{"id": "42"}',
    b'{"tags": "a"}', b'{"min_ram": -1}', b'{"protected": "yes"}',
], ids=["malformed", "not-an-object", "disk-format", "visibility",
        "non-string-property", "id-not-uuid", "tags-not-list",
        "negative-min-ram", "protected-not-bool"])
def test_create_rejects_invalid_input(app, body):
    response = call(app, "POST", "/v2/images", body=body,
                    content_type="application/json")
    assert response.status_int == 400
    assert call(app, "GET", "/v2/images").json["images"] == []


# Show, list, delete

def test_head_of_show_has_headers_but_no_body(app):
    image = create(app)
    response = call(app, "HEAD", f"/v2/images/{image['id']}")
    assert response.status_int == 200 and response.body == b""
    assert int(response.headers["Content-Length"]) > 0


def test_list_is_newest_first_with_ties_broken_by_id(app, monkeypatch):
    ids = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 4)]
    for image_id, stamp in zip(ids, ["2024-01-01T00:00:00Z",
                                     "2024-01-02T00:00:00Z",
                                     "2024-01-02T00:00:00Z"]):
        monkeypatch.setattr(images_mod, "now", lambda stamp=stamp: stamp)
        create(app, id=image_id)
    listed = call(app, "GET", "/v2/images").json["images"]
    assert [image["id"] for image in listed] == [ids[2], ids[1], ids[0]]


def test_list_without_params_has_first_and_no_next(app):
    create(app)
    body = call(app, "GET", "/v2/images").json
    assert body["first"] == "/v2/images"
    assert body["schema"] == "/v2/schemas/images"
    assert "next" not in body and len(body["images"]) == 1


def test_list_pages_follow_next_links(app):
    created = {create(app, name=str(n))["id"] for n in range(5)}
    everything = [image["id"] for image in
                  call(app, "GET", "/v2/images").json["images"]]
    pages, link = [], "/v2/images?limit=2"
    while link:
        body = call(app, "GET", link).json
        pages.append([image["id"] for image in body["images"]])
        link = body.get("next")
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sum(pages, []) == everything and set(everything) == created


def test_list_shows_images_as_show_does(app):
    image = with_locations(app, A, B)
    assert call(app, "GET", "/v2/images").json["images"] == [image]


@pytest.mark.parametrize("query", [
    "limit=-1", "limit=many", f"marker={UNKNOWN}",
], ids=["negative-limit", "word-limit", "unknown-marker"])
def test_list_rejects_bad_paging(app, query):
    create(app)
    assert call(app, "GET", f"/v2/images?{query}").status_int == 400


def test_delete_removes_the_image_and_its_data(app, tmp_path):
    image = uploaded(app)
    data_file = tmp_path / image["id"]
    assert data_file.exists()
    assert call(app, "DELETE", f"/v2/images/{image['id']}").status_int == 204
    assert call(app, "GET", f"/v2/images/{image['id']}").status_int == 404
    assert not data_file.exists()


def test_protected_image_cannot_be_deleted(app):
    image = create(app, protected=True)
    assert call(app, "DELETE", f"/v2/images/{image['id']}").status_int == 403
    assert call(app, "GET", f"/v2/images/{image['id']}").status_int == 200


# PATCH of properties

def test_patch_adds_replaces_and_removes_properties(app):
    image_id = create(app, name="before")["id"]
    changed = patch(app, image_id,
                    {"op": "add", "path": "/hw_arch", "value": "x86_64"},
                    {"op": "replace", "path": "/name", "value": "after"},
                    {"op": "add", "path": "/a~1b", "value": "slash"})
    assert changed.status_int == 200
    assert changed.json["hw_arch"] == "x86_64"
    assert changed.json["a/b"] == "slash"
    assert changed.json["name"] == "after"
    removed = patch(app, image_id, {"op": "remove", "path": "/hw_arch"}).json
    assert "hw_arch" not in removed
    assert show(app, image_id) == removed


@pytest.mark.parametrize("change, status", [
    ({"op": "replace", "path": "/status", "value": "active"}, 403),
    ({"op": "replace", "path": "/id", "value": "x"}, 403),
    ({"op": "add", "path": "/checksum", "value": "x"}, 403),
    ({"op": "add", "path": "/deleted", "value": "x"}, 403),
    ({"op": "remove", "path": "/name"}, 403),
    ({"op": "replace", "path": "/missing", "value": "x"}, 409),
    ({"op": "remove", "path": "/missing"}, 409),
    ({"op": "add", "path": "/a/b", "value": "x"}, 400),
    ({"op": "move", "path": "/name", "value": "x"}, 400),
    ({"op": "add", "path": "/name"}, 400),
    ({"op": "add", "path": "name", "value": "x"}, 400),
    ({"op": "replace", "path": "/visibility", "value": "everyone"}, 400),
    ({"op": "add", "path": "/hw_arch", "value": 64}, 400),
], ids=["read-only-status", "read-only-id", "read-only-checksum",
        "reserved", "remove-base-property", "replace-missing",
        "remove-missing", "nested-path", "unknown-op", "no-value",
        "relative-path", "bad-visibility", "non-string-property"])
def test_patch_refusals(app, change, status):
    image = create(app)
    assert patch(app, image["id"], change).status_int == status
    assert show(app, image["id"]) == image


@pytest.mark.parametrize("body", [b"[{", b'{"op": "add"}'],
                         ids=["malformed", "not-a-list"])
def test_patch_document_must_be_a_json_list(app, body):
    image = create(app)
    response = call(app, "PATCH", f"/v2/images/{image['id']}", body=body,
                    content_type=PATCH)
    assert response.status_int == 400


def test_failed_patch_changes_nothing(app):
    image = create(app, name="kept")
    response = patch(app, image["id"],
                     {"op": "replace", "path": "/name", "value": "lost"},
                     {"op": "replace", "path": "/status", "value": "active"})
    assert response.status_int == 403
    assert show(app, image["id"])["name"] == "kept"


@pytest.mark.parametrize("content_type", ["application/json",
                                          "application/json-patch+json"])
def test_patch_needs_the_glance_patch_media_type(app, content_type):
    image = create(app)
    response = patch(app, image["id"],
                     {"op": "replace", "path": "/name", "value": "x"},
                     content_type=content_type)
    assert response.status_int == 415


# PATCH of locations

def test_adding_a_location_activates_a_queued_image(app):
    image = create(app)
    response = patch(app, image["id"], {"op": "add", "path": "/locations/-",
                                        "value": location(A, store="s")})
    assert response.status_int == 200
    assert response.json["status"] == "active"
    assert response.json["size"] is None
    assert response.json["locations"] == [location(A, store="s")]


@pytest.mark.parametrize("change, expected", [
    ({"op": "add", "path": "/locations/-", "value": location(D)},
     [A, B, C, D]),
    ({"op": "add", "path": "/locations/0", "value": location(D)},
     [D, A, B, C]),
    ({"op": "add", "path": "/locations/3", "value": location(D)},
     [A, B, C, D]),
    ({"op": "replace", "path": "/locations/1", "value": location(D)},
     [A, D, C]),
    ({"op": "remove", "path": "/locations/1"}, [A, C]),
    ({"op": "remove", "path": "/locations/0"}, [B, C]),
    ({"op": "replace", "path": "/locations",
      "value": [location(D), location(A)]}, [D, A]),
], ids=["append", "insert-first", "insert-at-end", "replace-at",
        "remove-at", "remove-first", "replace-all"])
def test_location_changes(app, change, expected):
    image = with_locations(app, A, B, C)
    changed = patch(app, image["id"], change).json
    assert urls(changed) == expected
    assert changed["direct_url"] == expected[0]
    assert show(app, image["id"]) == changed


@pytest.mark.parametrize("change", [
    {"op": "add", "path": "/locations/-", "value": {"url": 5, "metadata": {}}},
    {"op": "add", "path": "/locations/-", "value": {"url": D}},
    {"op": "add", "path": "/locations/-", "value": {"url": D, "metadata": []}},
    {"op": "add", "path": "/locations/-", "value": location("no-scheme")},
    {"op": "add", "path": "/locations/-", "value": D},
    {"op": "add", "path": "/locations/-", "value": location(A)},
    {"op": "replace", "path": "/locations",
     "value": [location(D), location(D)]},
    {"op": "replace", "path": "/locations", "value": location(D)},
    {"op": "add", "path": "/locations/3", "value": location(D)},
    {"op": "replace", "path": "/locations/-", "value": location(D)},
    {"op": "remove", "path": "/locations/2"},
    {"op": "remove", "path": "/locations"},
    {"op": "add", "path": "/locations/0/url", "value": D},
], ids=["url-not-string", "no-metadata", "metadata-not-object", "no-scheme",
        "not-an-object", "duplicate-add", "duplicate-in-list", "list-expected",
        "add-past-end", "replace-at-dash", "remove-past-end", "remove-all",
        "too-deep"])
def test_invalid_location_changes_are_400(app, change):
    image = with_locations(app, A, B)
    assert patch(app, image["id"], change).status_int == 400
    assert urls(show(app, image["id"])) == [A, B]


@pytest.mark.parametrize("change", [
    {"op": "remove", "path": "/locations/0"},
    {"op": "replace", "path": "/locations", "value": []},
], ids=["remove", "replace-with-none"])
def test_last_location_of_an_active_image_stays(app, change):
    image = with_locations(app, A)
    response = patch(app, image["id"], change)
    assert response.status_int == 403
    assert "last location" in response.text


def test_location_changes_are_refused_when_locations_are_hidden(tmp_path):
    app = StubImageAPI(data_dir=str(tmp_path))
    image = create(app)
    response = patch(app, image["id"], {"op": "add", "path": "/locations/-",
                                        "value": location(A)})
    assert response.status_int == 403
    assert show(app, image["id"])["status"] == "queued"


# Show switches

@pytest.mark.parametrize("multiple, direct, shows_locations, shows_direct", [
    (False, False, False, False),
    (True, False, True, False),
    (False, True, False, True),
    (True, True, True, True),
], ids=["neither", "locations", "direct-url", "both"])
def test_show_switches(tmp_path, multiple, direct, shows_locations,
                       shows_direct):
    app = StubImageAPI(data_dir=str(tmp_path),
                       show_multiple_locations=multiple,
                       show_image_direct_url=direct)
    image_id = app.create_image(name="x")["id"]
    app.add_location(image_id, A)
    app.add_location(image_id, B)
    for shown in (show(app, image_id),
                  call(app, "GET", "/v2/images").json["images"][0]):
        assert ("locations" in shown) is shows_locations
        assert ("direct_url" in shown) is shows_direct
        if shows_locations:
            assert urls(shown) == [A, B]
        if shows_direct:
            assert shown["direct_url"] == A


def test_no_direct_url_without_locations(app):
    assert "direct_url" not in create(app)


# The location API

SERVICE = {"X-Roles": "service"}


def located_with(app, *location_urls, **metadata):
    image_id = app.create_image(name="x")["id"]
    for url in location_urls:
        app.add_location(image_id, url, dict(metadata))
    return image_id


def locations_of(app, image_id, headers=SERVICE):
    return call(app, "GET", f"/v2/images/{image_id}/locations",
                headers=headers)


@pytest.mark.parametrize("multiple, direct", [
    (False, False), (True, False), (False, True), (True, True),
], ids=["neither", "locations", "direct-url", "both"])
def test_the_location_api_shows_every_location_whatever_the_switches(
        tmp_path, multiple, direct):
    app = StubImageAPI(data_dir=str(tmp_path),
                       show_multiple_locations=multiple,
                       show_image_direct_url=direct)
    image_id = located_with(app, A, B, store="s")
    response = locations_of(app, image_id)
    assert response.status_int == 200
    assert response.content_type == "application/json"
    assert response.json == [location(A, store="s"), location(B, store="s")]


def test_the_location_api_of_an_image_without_locations_is_empty(app):
    assert locations_of(app, create(app)["id"]).json == []


@pytest.mark.parametrize("roles", [
    "service", "admin", "member,service", " Service ", "reader, ADMIN"])
def test_the_location_api_answers_services_and_admins(app, roles):
    image_id = located_with(app, A)
    assert locations_of(app, image_id, {"X-Roles": roles}).json == [
        location(A)]


@pytest.mark.parametrize("headers", [
    {}, {"X-Roles": ""}, {"X-Roles": "member,reader"},
    {"X-Roles": "services"}, {"X-Service-Roles": "service"}],
    ids=["no-roles", "empty", "member", "services", "service-roles-header"])
def test_the_location_api_refuses_other_callers(app, headers):
    response = locations_of(app, located_with(app, A), headers)
    assert response.status_int == 403
    assert "fetch_image_location" in response.text
    assert A not in response.text


@pytest.mark.parametrize("headers", [{}, SERVICE], ids=["user", "service"])
def test_the_location_api_of_an_unknown_image_is_404_first(app, headers):
    assert locations_of(app, UNKNOWN, headers).status_int == 404


# stores (multi-store)

def test_a_multi_store_image_lists_its_stores_in_location_order(tmp_path):
    app = StubImageAPI(data_dir=str(tmp_path), multi_store=True)
    image_id = app.create_image(name="x")["id"]
    for url, metadata in ((A, {"store": "fast"}), (B, {}),
                          (C, {"store": "slow"}), (D, {"store": "fast"})):
        app.add_location(image_id, url, metadata)
    assert show(app, image_id)["stores"] == "fast,slow,fast"
    assert call(app, "GET", "/v2/images").json["images"][0]["stores"] == (
        "fast,slow,fast")


@pytest.mark.parametrize("multi_store, metadata", [
    (False, {"store": "fast"}), (True, {}), (True, {"store": ""}),
    (True, {"store": 7})], ids=["single-store", "no-store", "empty-store",
                                "store-not-a-string"])
def test_no_stores_without_a_store_to_list(tmp_path, multi_store, metadata):
    app = StubImageAPI(data_dir=str(tmp_path), multi_store=multi_store)
    image_id = app.create_image(name="x")["id"]
    app.add_location(image_id, A, metadata)
    assert "stores" not in show(app, image_id)


# Upload

def test_upload_records_size_hashes_and_a_file_location(app, tmp_path):
    data = os.urandom(200_000)
    image = uploaded(app, data)
    assert image["status"] == "active" and image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    stored = pathlib.Path(os.path.realpath(tmp_path)) / image["id"]
    assert image["locations"] == [location(stored.as_uri())]
    assert image["direct_url"] == stored.as_uri()
    assert stored.read_bytes() == data


def test_upload_in_multi_store_mode_names_the_store(tmp_path):
    app = StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True,
                       multi_store=True)
    image = uploaded(app)
    assert image["locations"][0]["metadata"] == {"store": "local"}
    assert image["stores"] == "local"


def raw_put(app, image_id, stream, length):
    """A PUT whose body is read as a server hands it over: not seekable."""
    request = webob.Request.blank(f"/v2/images/{image_id}/file", method="PUT",
                                  content_type=OCTET)
    request.environ.update(
        {"wsgi.input": stream, "CONTENT_LENGTH": str(length)})
    request.environ.pop("webob.is_body_seekable", None)
    return request.get_response(app)


def test_upload_reads_up_to_content_length(app):
    data = os.urandom(1_000_000)
    image = create(app)
    stream = io.BytesIO(data + b"not part of the body")
    assert raw_put(app, image["id"], stream, len(data)).status_int == 204
    assert show(app, image["id"])["size"] == len(data)
    assert call(app, "GET", f"/v2/images/{image['id']}/file").body == data


def test_upload_never_holds_the_whole_body_in_memory(app):
    data = os.urandom(16_000_000)
    image = create(app)
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        assert raw_put(app, image["id"], stream, len(data)).status_int == 204
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(data) // 4


def test_truncated_upload_is_400_and_leaves_the_image_queued(app, tmp_path):
    image = create(app)
    response = raw_put(app, image["id"], io.BytesIO(b"short"), 100)
    assert response.status_int == 400
    assert show(app, image["id"])["status"] == "queued"
    assert os.listdir(tmp_path) == []


def test_upload_to_an_image_with_data_is_409(app):
    image = uploaded(app)
    assert put(app, image["id"], b"again").status_int == 409


def test_upload_to_an_image_with_a_location_is_409(app):
    image = with_locations(app, A)
    assert put(app, image["id"], b"data").status_int == 409


class BlockingInput(io.RawIOBase):
    """A body that stalls on its first read until released."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()

    def readable(self):
        return True

    def readinto(self, buffer):
        self.started.set()
        self.release.wait(10)
        return 0


def test_a_second_upload_during_the_first_is_409(app):
    image = create(app)
    stream, results = BlockingInput(), []
    first = threading.Thread(target=lambda: results.append(
        raw_put(app, image["id"], stream, 10).status_int))
    first.start()
    try:
        assert stream.started.wait(10)
        shown = show(app, image["id"])
        assert shown["status"] == "saving"
        assert put(app, image["id"], b"second").status_int == 409
    finally:
        stream.release.set()
        first.join(10)
    assert results == [400]  # the stalled body ended short


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_upload_needs_octet_stream(app, content_type):
    image = create(app)
    assert put(app, image["id"], b"x", content_type).status_int == 415


# Download

def test_download_sends_the_data_with_its_checksum(app):
    image = uploaded(app)
    response = call(app, "GET", f"/v2/images/{image['id']}/file")
    assert response.status_int == 200
    assert response.content_type == OCTET
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert response.body == DATA


def test_download_hands_a_local_file_to_the_servers_file_wrapper(app):
    image = uploaded(app)
    wrapped = []

    def file_wrapper(filelike, block_size):
        wrapped.append(filelike)
        return wsgiref.util.FileWrapper(filelike, block_size)

    request = webob.Request.blank(f"/v2/images/{image['id']}/file",
                                  environ={"wsgi.file_wrapper": file_wrapper})
    status, headers, body = request.call_application(app)
    assert b"".join(body) == DATA
    body.close()
    assert status.startswith("200") and wrapped[0].closed


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-0", 0, 0), ("bytes=-1", 99, 99), ("bytes=10-19", 10, 19),
    ("bytes=90-", 90, 99), ("bytes=-10", 90, 99), ("bytes=95-200", 95, 99),
    ("bytes=-500", 0, 99),
], ids=["first-byte", "last-byte", "middle", "open-end", "suffix",
        "end-past-size", "suffix-past-size"])
def test_download_a_range(app, header, start, end):
    image = uploaded(app)
    response = call(app, "GET", f"/v2/images/{image['id']}/file",
                    headers={"Range": header})
    assert response.status_int == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/100"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert "Content-MD5" not in response.headers
    assert response.body == DATA[start:end + 1]


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-105", "bytes=-0"],
                         ids=["start-at-size", "all-past-end", "empty-suffix"])
def test_unsatisfiable_range_is_416(app, header):
    image = uploaded(app)
    response = call(app, "GET", f"/v2/images/{image['id']}/file",
                    headers={"Range": header})
    assert response.status_int == 416
    assert response.headers["Content-Range"] == "bytes */100"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=5-2", "items=0-1"],
                         ids=["multi-range", "backwards", "other-unit"])
def test_unusable_range_sends_everything(app, header):
    image = uploaded(app)
    response = call(app, "GET", f"/v2/images/{image['id']}/file",
                    headers={"Range": header})
    assert response.status_int == 200 and response.body == DATA


def test_download_without_data_is_204(app):
    image = create(app)
    response = call(app, "GET", f"/v2/images/{image['id']}/file")
    assert response.status_int == 204 and response.body == b""


def test_download_falls_back_to_the_second_location(app, tmp_path):
    (tmp_path / "present").write_bytes(b"second")
    image = with_locations(app, (tmp_path / "missing").as_uri(),
                           (tmp_path / "present").as_uri())
    response = call(app, "GET", f"/v2/images/{image['id']}/file")
    assert response.status_int == 200 and response.body == b"second"


def test_download_skips_schemes_it_cannot_read(app, tmp_path):
    (tmp_path / "present").write_bytes(b"local")
    image = with_locations(app, "rbd://fsid/pool/image/snap",
                           (tmp_path / "present").as_uri())
    assert call(app, "GET", f"/v2/images/{image['id']}/file").body == b"local"


def test_download_never_reads_a_file_outside_the_data_dir(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret").write_bytes(b"secret")
    (tmp_path / "data" / "link").symlink_to(tmp_path / "secret")
    app = StubImageAPI(data_dir=str(tmp_path / "data"),
                       show_multiple_locations=True)
    image = with_locations(app, (tmp_path / "secret").as_uri(),
                           (tmp_path / "data" / "link").as_uri())
    response = call(app, "GET", f"/v2/images/{image['id']}/file")
    assert response.status_int == 204 and b"secret" not in response.body


Origin = collections.namedtuple("Origin", "files url")


@pytest.fixture
def origin(monkeypatch):
    """An http server on 127.0.0.1 serving ``files`` by path."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    files = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in files:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(files[self.path])))
            self.end_headers()
            self.wfile.write(files[self.path])

        def log_message(self, *args):
            pass

    with http_server(Handler) as server:
        yield Origin(files, server.url())


def test_download_from_an_http_location(app, origin):
    origin.files["/image"] = DATA
    image = with_locations(app, f"{origin.url}/missing", f"{origin.url}/image")
    response = call(app, "GET", f"/v2/images/{image['id']}/file")
    assert response.status_int == 200 and response.body == DATA
    assert response.headers["Content-Length"] == "100"


def test_range_of_an_http_location(app, origin):
    origin.files["/image"] = DATA
    image = with_locations(app, f"{origin.url}/image")
    response = call(app, "GET", f"/v2/images/{image['id']}/file",
                    headers={"Range": "bytes=40-49"})
    assert response.status_int == 206 and response.body == DATA[40:50]


# Construction

def test_factory_reads_its_own_keys_and_ignores_the_rest(tmp_path):
    app = StubImageAPI.factory(
        {"here": "/etc", "__file__": "/etc/api-paste.ini",
         "location_strategy": "store_type", "show_multiple_locations": "false",
         "data_dir": "/nonexistent"},
        data_dir=str(tmp_path), show_multiple_locations="true",
        show_image_direct_url="yes", multi_store="1")
    image = uploaded(app)
    assert image["locations"][0]["metadata"] == {"store": "local"}
    assert image["direct_url"].startswith(pathlib.Path(
        os.path.realpath(tmp_path)).as_uri())


def test_paste_deploy_loads_the_factory(tmp_path):
    ini = tmp_path / "api-paste.ini"
    ini.write_text("[app:main]\n"
                   "paste.app_factory = "
                   "loc_strategy_filter_stub:StubImageAPI.factory\n"
                   "show_image_direct_url = false\n"
                   f"data_dir = {tmp_path}\n")
    app = deploy.loadapp(f"config:{ini}",
                         global_conf={"location_strategy": "store_type"})
    image = uploaded(app)
    assert "direct_url" not in image and "locations" not in image


def test_default_data_dir_is_a_new_temporary_directory():
    first, second = StubImageAPI(), StubImageAPI()
    try:
        assert first.data_dir.root != second.data_dir.root
        assert os.listdir(first.data_dir.root) == []
    finally:
        shutil.rmtree(first.data_dir.root)
        shutil.rmtree(second.data_dir.root)


def test_helpers_seed_an_image_seen_over_http(app, origin):
    image_id = app.create_image(name="demo", disk_format="raw",
                                container_format="bare")["id"]
    app.upload(image_id, io.BytesIO(b"demo bytes"))
    seeded = app.add_location(image_id, f"{origin.url}/demo", {"store": "web"})
    assert show(app, image_id) == seeded
    assert seeded["size"] == 10 and seeded["locations"][1] == location(
        f"{origin.url}/demo", store="web")


def test_helpers_apply_the_http_rules(app):
    image_id = app.create_image()["id"]
    app.add_location(image_id, A)
    with pytest.raises(webob.exc.HTTPBadRequest):
        app.add_location(image_id, A)
    with pytest.raises(webob.exc.HTTPConflict):
        app.upload(image_id, b"late")


# A test double, not production

NOT_THE_STUB = """
import contextlib, importlib, io, pkgutil, sys
import loc_strategy_filter
from loc_strategy_filter.cmd import main

def walk(package):
    prefix = package.__name__ + "."
    for found in pkgutil.iter_modules(package.__path__, prefix):
        module = importlib.import_module(found.name)
        if found.ispkg:
            walk(module)

walk(loc_strategy_filter)
for command in ("download", "order", "serve"):
    with contextlib.redirect_stdout(io.StringIO()):
        with contextlib.suppress(SystemExit):
            main([command, "--help"])
print(sorted(name for name in sys.modules
             if name.startswith("loc_strategy_filter_stub")))
"""


def test_the_filter_never_imports_the_stub():
    """Every module a Glance process may load, the command's included
    (``download``, ``order``; ``serve`` until it runs the stub), and each
    command's ``--help``, leave the stub unimported.
    """
    ran = subprocess.run([sys.executable, "-c", NOT_THE_STUB], check=True,
                         capture_output=True, text=True)
    assert ran.stdout.strip() == "[]"


# Glance's ?prefer= store selection

def test_prefer_is_refused_in_single_store_mode(app, tmp_path):
    (tmp_path / "one").write_bytes(b"one")
    image = with_locations(app, (tmp_path / "one").as_uri())
    response = call(app, "GET", f"/v2/images/{image['id']}/file?prefer=fast")
    assert response.status_int == 400


@pytest.mark.parametrize("prefer, body", [
    ("slow", b"slow"), ("fast", b"fast"), ("unknown", b"slow"),
    (None, b"slow"),
], ids=["prefers-first-store", "prefers-second-store",
        "unknown-store-keeps-order", "no-preference"])
def test_prefer_reads_that_stores_locations_first(tmp_path, prefer, body):
    app = StubImageAPI(data_dir=str(tmp_path), show_multiple_locations=True,
                       multi_store=True)
    for name in ("slow", "fast"):
        (tmp_path / name).write_bytes(name.encode())
    image = create(app)
    patch(app, image["id"], {"op": "replace", "path": "/locations", "value": [
        location((tmp_path / "slow").as_uri(), store="slow"),
        location((tmp_path / "fast").as_uri(), store="fast")]})
    query = f"?prefer={prefer}" if prefer else ""
    response = call(app, "GET", f"/v2/images/{image['id']}/file{query}")
    assert response.status_int == 200 and response.body == body


def test_a_missing_data_dir_is_created(tmp_path):
    app = StubImageAPI(data_dir=str(tmp_path / "new" / "dir"))
    assert uploaded(app)["size"] == len(DATA)


def test_a_location_urllib_cannot_split_is_a_400_that_quotes_no_secret(app):
    image = create(app, name="x")
    response = patch(app, image["id"], {
        "op": "add", "path": "/locations/-",
        "value": location("http://us\u00e9r:p\u2100ssw0rd@host/x")})
    assert response.status_int == 400
    assert "ssw0rd" not in response.text


def test_an_unreadable_location_is_logged_without_its_credentials(
        app, tmp_path, caplog):
    image = create(app, name="x", disk_format="raw", container_format="bare")
    assert put(app, image["id"], DATA).status_int == 204
    stored = show(app, image["id"])["locations"]
    assert patch(app, image["id"], {
        "op": "replace", "path": "/locations",
        "value": [location("http://user:pa/ss-s3cr3t@127.0.0.1/x"),
                  *stored]}).status_int == 200
    caplog.set_level("DEBUG")

    response = call(app, "GET", f"/v2/images/{image['id']}/file")

    assert response.body == DATA
    assert "location 0 is unreadable" in caplog.text
    assert "pa" not in caplog.text.split("unreadable:")[1].split("\n")[0]
    assert "s3cr3t" not in caplog.text
