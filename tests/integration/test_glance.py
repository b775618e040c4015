"""The filter inside the real Glance image API: image records, as its
users see them.

Servers (see conftest): ``bare`` is Glance without the filter;
``location_order``, ``store_type`` (``store_type_preference = http, file``)
and ``hidden`` (the same, with ``hide_locations = true``) have the filter.
All serve the same images. Downloads: ``test_download.py``.
"""

import re
import time
import uuid

import pytest

from tests.integration import conftest
from tests.integration.conftest import DATA
from tests.integration.conftest import headers_of
from tests.integration.conftest import sdk_connection
from tests.integration.conftest import unique_name
from tests.integration import glance_api


def urls(image):
    return [location["url"] for location in image["locations"]]


def best_url(case, which):
    return {"file": case.file_url, "mirror": case.mirror_url}[which]


# --- What Glance itself does (the ground the filter stands on) ---------------

def test_glance_puts_the_uploaded_file_first(glance, original_case):
    image = glance["bare"].show(original_case.image_id).json()

    assert urls(image) == [original_case.file_url, original_case.mirror_url]
    assert image["direct_url"] == original_case.file_url


def test_glance_checks_a_new_http_location_with_one_head(original_case):
    assert original_case.mirror_requests == ["HEAD"]


# --- The original test case --------------------------------------------------

ORIGINAL_CASE = pytest.mark.parametrize("server, best", [
    ("location_order", "file"),
    ("store_type", "mirror"),
])


@ORIGINAL_CASE
def test_show_points_direct_url_at_the_best_location(glance, original_case,
                                                     server, best):
    image = glance[server].show(original_case.image_id).json()

    assert image["direct_url"] == best_url(original_case, best)
    assert urls(image)[0] == best_url(original_case, best)
    assert sorted(urls(image)) == sorted([original_case.file_url,
                                          original_case.mirror_url])


@ORIGINAL_CASE
def test_list_agrees_with_show(glance, original_case, server, best):
    listed = glance[server].list(name=original_case.name).json()["images"]
    shown = glance[server].show(original_case.image_id).json()

    assert [image["id"] for image in listed] == [original_case.image_id]
    assert listed[0]["direct_url"] == best_url(original_case, best)
    assert urls(listed[0]) == urls(shown)


def test_update_answer_follows_the_strategy(original_case):
    image = original_case.located.json()

    assert urls(image) == [original_case.mirror_url, original_case.file_url]
    assert image["direct_url"] == original_case.mirror_url


def test_create_answer_has_no_locations_to_order(original_case):
    image = original_case.created.json()

    assert image["locations"] == []
    assert "direct_url" not in image


# --- hide_locations ----------------------------------------------------------

def test_hidden_show_gives_direct_url_without_locations(glance, original_case):
    image = glance["hidden"].show(original_case.image_id).json()

    assert "locations" not in image
    assert image["direct_url"] == original_case.mirror_url


def test_hidden_list_gives_direct_url_without_locations(glance, original_case):
    images = glance["hidden"].list(name=original_case.name).json()["images"]

    assert ["locations" in image for image in images] == [False]
    assert images[0]["direct_url"] == original_case.mirror_url


# --- Transparency ------------------------------------------------------------

def assert_same_answer(answer, glance_answer):
    assert answer.status_code == glance_answer.status_code
    assert (answer.headers.get("Content-Type")
            == glance_answer.headers.get("Content-Type"))
    assert answer.content == glance_answer.content


@pytest.mark.parametrize("call", ["show", "list", "list by name"])
def test_location_order_answers_as_glance_does(glance, original_case, call):
    """Same image, same Glance, with and without the filter: same bytes."""
    def ask(api):
        if call == "show":
            return api.show(original_case.image_id)
        if call == "list":
            return api.list()
        return api.list(name=original_case.name)

    assert_same_answer(ask(glance["location_order"]), ask(glance["bare"]))


def _normalized(answer, image_id):
    """The body with what differs between two images of one history
    (their id and timestamps) made alike.
    """
    body = answer.content.replace(image_id.encode(), b"<image id>")
    return re.sub(rb'"(created_at|updated_at)": "[^"]*"', rb'"\1": "<time>"',
                  body)


def _history(api, name, mirror_url):
    """The same calls, in order, on a new image: (image id, {step: answer})."""
    answers = {"create": api.create(name=name)}
    image_id = answers["create"].json()["id"]
    answers["upload"] = api.upload(image_id, DATA)
    answers["add http location"] = api.add_location(image_id, mirror_url)
    answers["refused file location"] = api.add_location(
        image_id, "file:///etc/hostname")
    answers["rename"] = api.patch(image_id, {
        "op": "replace", "path": "/name", "value": name + "-renamed"})
    answers["show"] = api.show(image_id)
    answers["download"] = api.download(image_id)
    answers["upload again"] = api.upload(image_id, DATA)
    answers["delete"] = api.delete(image_id)
    answers["show deleted"] = api.show(image_id)
    return image_id, answers


# Each step, with the status Glance answers it with.
TWIN_STEPS = {
    "create": 201, "upload": 204, "add http location": 200,
    "refused file location": 400, "rename": 200, "show": 200,
    "download": 200, "upload again": 409, "delete": 204, "show deleted": 404,
}


@pytest.fixture(scope="module")
def twin_histories(glance, mirror):
    """The same history made once through ``bare`` and once through
    ``location_order``: {server: (image id, {step: answer})}.
    """
    mirror_url = mirror.publish("/twins", DATA)
    name = unique_name("twin")
    return {server: _history(glance[server], name, mirror_url)
            for server in ("bare", "location_order")}


def test_glance_answers_the_twin_steps_as_expected(twin_histories):
    _, answers = twin_histories["bare"]

    assert {step: answer.status_code
            for step, answer in answers.items()} == TWIN_STEPS


@pytest.mark.parametrize("step", TWIN_STEPS)
def test_location_order_history_matches_glance(twin_histories, step):
    bare_id, bare_answers = twin_histories["bare"]
    filtered_id, filtered_answers = twin_histories["location_order"]
    bare, filtered = bare_answers[step], filtered_answers[step]

    assert filtered.status_code == bare.status_code
    assert (filtered.headers.get("Content-Type")
            == bare.headers.get("Content-Type"))
    assert _normalized(filtered, filtered_id) == _normalized(bare, bare_id)


def test_location_order_download_headers_match_glance(twin_histories):
    """Under location_order the twin's file location is the best, which
    the filter serves itself (test_download shows that it does), with
    Glance's headers.
    """
    bare = twin_histories["bare"][1]["download"]
    filtered = twin_histories["location_order"][1]["download"]

    assert headers_of(filtered) == headers_of(bare)
    assert bare.headers.get("Content-MD5") is not None


def store_type_rewrite(image, case):
    """What the docs say ``store_type`` (http, file) does to this image."""
    by_url = {location["url"]: location for location in image["locations"]}
    return {**image, "direct_url": case.mirror_url,
            "locations": [by_url[case.mirror_url], by_url[case.file_url]]}


# With orjson (the integration venv has the fast-json extra) and without it
# (hidden from the server): the same answers, written each its own way.
STORE_TYPE_SERVERS = pytest.mark.parametrize(
    "server", ["store_type", "store_type_stdlib_json"])
HIDDEN_SERVERS = pytest.mark.parametrize(
    "server", ["hidden", "hidden_stdlib_json"])


@pytest.mark.parametrize("server, written", [
    ("store_type", b'"locations":['),
    ("store_type_stdlib_json", b'"locations": ['),
])
def test_each_json_backend_is_the_one_in_use(glance, original_case, server,
                                             written):
    assert written in glance[server].show(original_case.image_id).content


@STORE_TYPE_SERVERS
def test_store_type_show_changes_only_locations_and_direct_url(
        glance, original_case, server):
    glance_answer = glance["bare"].show(original_case.image_id)
    answer = glance[server].show(original_case.image_id)

    assert answer.status_code == glance_answer.status_code == 200
    assert (answer.headers["Content-Type"]
            == glance_answer.headers["Content-Type"])
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    assert answer.json() == store_type_rewrite(glance_answer.json(),
                                               original_case)


@STORE_TYPE_SERVERS
def test_store_type_list_changes_only_locations_and_direct_url(
        glance, original_case, server):
    glance_answer = glance["bare"].list(name=original_case.name).json()
    answer = glance[server].list(name=original_case.name).json()

    assert answer == {**glance_answer, "images": [
        store_type_rewrite(image, original_case)
        for image in glance_answer["images"]]}


@HIDDEN_SERVERS
def test_hidden_show_changes_only_locations_and_direct_url(
        glance, original_case, server):
    glance_image = glance["bare"].show(original_case.image_id).json()
    image = glance[server].show(original_case.image_id).json()

    expected = store_type_rewrite(glance_image, original_case)
    del expected["locations"]
    assert image == expected


@HIDDEN_SERVERS
def test_hidden_list_changes_only_locations_and_direct_url(
        glance, original_case, server):
    glance_answer = glance["bare"].list(name=original_case.name).json()
    answer = glance[server].list(name=original_case.name).json()

    expected = [store_type_rewrite(image, original_case)
                for image in glance_answer["images"]]
    for image in expected:
        del image["locations"]
    assert answer == {**glance_answer, "images": expected}


@pytest.mark.parametrize("server", ["location_order", "store_type", "hidden"])
def test_errors_pass_through(glance, server):
    missing = str(uuid.uuid4())

    assert_same_answer(glance[server].show(missing),
                       glance["bare"].show(missing))


# --- Through openstacksdk ----------------------------------------------------

@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@ORIGINAL_CASE
def test_sdk_user_sees_the_best_location(glance, original_case, server, best):
    image = sdk_connection(glance[server]).image.get_image(
        original_case.image_id)

    assert image.direct_url == best_url(original_case, best)
    assert image.locations[0]["url"] == best_url(original_case, best)


# --- Configuration mistakes --------------------------------------------------

def test_unknown_store_type_stops_glance_api(glance_deployment):
    """A typo in glance-api.conf stops glance-api, and its log says why."""
    typo = {"store_type_location_strategy": {
        "store_type_preference": "http, fiel"}}
    server = glance_deployment.add(
        "typo", glance_api.merge_sections(conftest.STORE_TYPE, typo))
    server.start()

    with pytest.raises(glance_api.StartError) as failure:
        server.wait_ready(time.monotonic() + 60)

    assert ("Invalid value 'fiel' for option [store_type_location_strategy] "
            "store_type_preference" in str(failure.value))
