"""Glance's location API and ``stores`` through the filter, in real Glance 33.

``GET /v2/images/{id}/locations`` (API 2.17+) is how services read an
image's locations; the filter answers it in strategy order, with
``hide_locations`` too, and Glance's own policy still decides who may call
it. In a multi-store image, ``stores`` follows the strategy's order.
"""

import pytest


SERVICE = {"X-Roles": "service"}
END_USER = {"X-Roles": "member,reader"}


def locations(api, image_id, headers=None):
    return api.call("GET", f"/v2/images/{image_id}/locations",
                    headers=headers or {})


def urls(located):
    return [location["url"] for location in located]


def canonical(located):
    return sorted(map(repr, located))


# Single store: the original test case (a file upload, then an http mirror).

def test_glance_alone_answers_in_its_own_order(glance, original_case):
    answer = locations(glance["bare"], original_case.image_id)

    assert answer.status_code == 200, answer.text
    assert urls(answer.json()) == [original_case.file_url,
                                   original_case.mirror_url]


@pytest.mark.parametrize("server", ["store_type", "hidden"])
def test_the_location_api_follows_the_strategy(glance, original_case, server):
    glance_answer = locations(glance["bare"], original_case.image_id).json()
    answer = locations(glance[server], original_case.image_id)

    assert answer.status_code == 200, answer.text
    assert urls(answer.json()) == [original_case.mirror_url,
                                   original_case.file_url]
    assert canonical(answer.json()) == canonical(glance_answer)
    assert int(answer.headers["Content-Length"]) == len(answer.content)


def test_location_order_answers_as_glance_does(glance, original_case):
    glance_answer = locations(glance["bare"], original_case.image_id)
    answer = locations(glance["location_order"], original_case.image_id)

    assert answer.content == glance_answer.content


def test_hidden_show_points_at_the_first_location_services_read(
        glance, original_case):
    shown = glance["hidden"].show(original_case.image_id).json()
    answer = locations(glance["hidden"], original_case.image_id).json()

    assert "locations" not in shown
    assert shown["direct_url"] == answer[0]["url"]


def test_an_unknown_image_is_glances_404(glance):
    unknown = "4c1e2c9d-0000-4000-8000-000000000000"
    glance_answer = locations(glance["bare"], unknown)
    answer = locations(glance["hidden"], unknown)

    assert glance_answer.status_code == answer.status_code == 404


# Multi-store: uploaded to fast, copied to slow; store_id prefers slow.

@pytest.mark.parametrize("roles", [SERVICE, {"X-Roles": "admin"}],
                         ids=["service", "admin"])
@pytest.mark.parametrize("server, order", [
    ("bare", ["fast", "slow"]),
    ("location_order", ["fast", "slow"]),
    ("store_id", ["slow", "fast"]),
    ("store_id_hidden", ["slow", "fast"]),
])
def test_services_read_the_stores_in_strategy_order(multistore, copies,
                                                    roles, server, order):
    answer = locations(multistore[server], copies.image_id, roles)

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {"url": copies.url(store), "metadata": {"store": store}}
        for store in order]


@pytest.mark.parametrize("server", ["bare", "store_id", "store_id_hidden"])
def test_an_end_user_is_refused_by_glances_policy(multistore, copies, server):
    answer = locations(multistore[server], copies.image_id, END_USER)

    assert answer.status_code == 403
    assert "file://" not in answer.text


def test_glance_lists_the_stores_in_its_location_order(multistore, copies):
    assert multistore["bare"].show(copies.image_id).json()["stores"] == (
        "fast,slow")


@pytest.mark.parametrize("server", ["store_id", "store_id_hidden"])
@pytest.mark.parametrize("call", ["show", "list"])
def test_stores_follow_the_strategy(multistore, copies, server, call):
    api = multistore[server]
    if call == "show":
        image = api.show(copies.image_id).json()
    else:
        [image] = api.list(name=copies.name).json()["images"]

    assert image["stores"] == "slow,fast"
    assert image["direct_url"] == copies.url("slow")
    assert ("locations" in image) is (server == "store_id")
    if server == "store_id":
        assert urls(image["locations"]) == [copies.url("slow"),
                                            copies.url("fast")]
