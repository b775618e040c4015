"""The blueprint's own configuration in real Glance 33: users see
``direct_url``, never ``locations``.

Glance runs with ``show_multiple_locations = False`` and
``show_image_direct_url = True``: an image body names one location,
``direct_url``, Glance's first. The filter learns the image's locations from
Glance's location API and points ``direct_url`` at the strategy's best
(``store_id = slow, fast``: the copy in ``slow``), without adding
``locations`` to any body. It learns them in one of two ways:

- as the caller, by a request inside the same glance-api, when the caller
  may read the location API (``X-Roles: service``), on every ``direct_url*``
  server;
- with service credentials, over HTTP to ``service_endpoint``, when the
  caller may not (``member``), on ``direct_url_auth`` only.

A member on a server with no service credentials sees ``direct_url`` as
Glance sent it (the ``fast`` copy). Downloads learn the locations the same
way: a steered one makes Glance read ``slow``, a served one is read from
``slow`` by the filter. Which copy was read is told by the kernel
(``file_watch``); which way the filter learned, by ``service_endpoint``'s
uWSGI request log.
"""

import re

import pytest

from tests.integration.conftest import DATA
from tests.integration.test_location_api import END_USER
from tests.integration.test_location_api import locations
from tests.integration.test_location_api import SERVICE
# Fixtures, used by name.
from tests.integration.test_multistore import copy_to_both_stores  # noqa: F401
from tests.integration.test_multistore import stores_read  # noqa: F401

# The callers for whom the filter learns the locations, and the server.
LEARNING = [
    pytest.param("direct_url", SERVICE, id="service-in-process"),
    pytest.param("direct_url_serve", SERVICE, id="service-in-process-serve"),
    pytest.param("direct_url_auth", SERVICE, id="service-in-process-auth"),
    pytest.param("direct_url_auth", END_USER,
                 id="member-with-service-credentials"),
]
# A member where the filter holds no service credentials.
NOT_LEARNING = [
    pytest.param("direct_url", END_USER, id="member-steer"),
    pytest.param("direct_url_serve", END_USER, id="member-serve"),
]


def as_caller(multistore, server, roles):
    return multistore[server].as_caller(roles)


def image_of(api, copies, call):
    """The image as ``show`` or ``list`` answers it, and the whole answer."""
    if call == "show":
        answer = api.show(copies.image_id)
        assert answer.status_code == 200, answer.text
        return answer.json(), answer
    answer = api.list(name=copies.name)
    assert answer.status_code == 200, answer.text
    [image] = answer.json()["images"]
    return image, answer


def without_direct_url(image):
    return {key: value for key, value in image.items() if key != "direct_url"}


def lookups_of(deployment, image_id, since, expected):
    """The location API calls ``service_endpoint`` answered since
    ``since`` (``expected`` of them, if they come).
    """
    return deployment.servers["service_endpoint"].requests_logged(
        f"GET /v2/images/{image_id}/locations", since, expected)


@pytest.fixture(scope="module")
def unseen(multistore, multistore_deployment):
    """An image no service caller asks the ``direct_url*`` servers about,
    so no location of it the filter learned can be in their cache.
    """
    return copy_to_both_stores(multistore, multistore_deployment)


@pytest.fixture
def fresh(multistore, multistore_deployment):
    """An image the filter has never looked up."""
    return copy_to_both_stores(multistore, multistore_deployment)


def test_glance_alone_shows_its_first_location_only(multistore, copies):
    image = multistore["service_endpoint"].show(copies.image_id).json()

    assert "locations" not in image
    assert image["direct_url"] == copies.url("fast")


@pytest.mark.parametrize("call", ["show", "list"])
@pytest.mark.parametrize("server, roles", LEARNING)
def test_direct_url_is_the_preferred_store(multistore, copies, server, roles,
                                           call):
    glance_image, _ = image_of(multistore["service_endpoint"], copies, call)
    image, answer = image_of(as_caller(multistore, server, roles), copies,
                             call)

    assert image["direct_url"] == copies.url("slow")
    assert '"locations"' not in answer.text
    assert without_direct_url(image) == without_direct_url(glance_image)


@pytest.mark.parametrize("call", ["show", "list"])
@pytest.mark.parametrize("server, roles", NOT_LEARNING)
def test_without_service_credentials_a_member_sees_glances_direct_url(
        multistore, unseen, server, roles, call):
    glance_image, _ = image_of(multistore["service_endpoint"], unseen, call)
    image, answer = image_of(as_caller(multistore, server, roles), unseen,
                             call)

    assert image == glance_image
    assert image["direct_url"] == unseen.url("fast")
    assert '"locations"' not in answer.text


def test_what_a_service_caller_taught_the_filter_is_not_shown_to_a_member(
        multistore, fresh):
    """The filter holds no credentials: the member's ``direct_url`` is
    Glance's, even just after a service caller's show of the same image
    (whose locations the filter may keep for a while).
    """
    served = as_caller(multistore, "direct_url", SERVICE).show(fresh.image_id)
    member = as_caller(multistore, "direct_url", END_USER).show(fresh.image_id)

    assert served.json()["direct_url"] == fresh.url("slow")
    assert member.json()["direct_url"] == fresh.url("fast")


@pytest.mark.parametrize("roles, over_http", [
    pytest.param(END_USER, 1, id="member-with-the-service-credentials"),
    pytest.param(SERVICE, 0, id="service-in-process"),
])
def test_how_the_filter_learns(multistore, multistore_deployment, fresh,
                               roles, over_http):
    """A caller who may read the location API is looked up in process;
    another, over HTTP with the service credentials.
    """
    since = multistore_deployment.servers["service_endpoint"].log_end()

    image = as_caller(multistore, "direct_url_auth", roles).show(
        fresh.image_id).json()

    assert image["direct_url"] == fresh.url("slow")
    assert lookups_of(multistore_deployment, fresh.image_id, since,
                      over_http) == over_http


@pytest.mark.parametrize("server", ["direct_url", "direct_url_auth"])
def test_the_location_api_answers_a_service_in_strategy_order(
        multistore, copies, server):
    answer = locations(multistore[server], copies.image_id, SERVICE)

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {"url": copies.url(store), "metadata": {"store": store}}
        for store in ("slow", "fast")]


@pytest.mark.parametrize("server", ["direct_url", "direct_url_auth"])
def test_the_filters_credentials_never_serve_a_members_location_api_call(
        multistore, copies, server):
    answer = locations(multistore[server], copies.image_id, END_USER)

    assert answer.status_code == 403
    assert "file://" not in answer.text


def download(multistore, multistore_deployment, image, server, roles):
    """The download of ``image`` through ``server`` as a caller of
    ``roles``: the answer, the stores read, and what the server logged.
    """
    log_start = multistore_deployment.servers[server].log_end()
    answer, read = stores_read(image, lambda: as_caller(
        multistore, server, roles).download(image.image_id))
    assert answer.status_code == 200
    assert answer.content == DATA
    return read, multistore_deployment.servers[server].log(since=log_start)


@pytest.mark.parametrize("server, roles", [
    pytest.param("direct_url", SERVICE, id="service-steer"),
    pytest.param("direct_url_auth", SERVICE, id="service-auto"),
    pytest.param("direct_url_auth", END_USER,
                 id="member-with-service-credentials-auto"),
])
def test_a_steered_download_reads_the_preferred_store(
        multistore, multistore_deployment, copies, server, roles):
    read, log = download(multistore, multistore_deployment, copies, server,
                         roles)

    assert read == {"slow"}
    assert "Download steered to store slow" in log


def test_a_served_download_is_read_from_the_preferred_store(
        multistore, multistore_deployment, copies):
    read, log = download(multistore, multistore_deployment, copies,
                         "direct_url_serve", SERVICE)

    assert read == {"slow"}
    assert re.search(rf"Image {copies.image_id}: (bytes \d+ to \d+ )?"
                     r"served by location \d+ \(file store\)", log)


@pytest.mark.parametrize("server, roles", NOT_LEARNING)
def test_without_service_credentials_a_members_download_is_glances(
        multistore, multistore_deployment, unseen, server, roles):
    read, log = download(multistore, multistore_deployment, unseen, server,
                         roles)

    assert read == {"fast"}
    assert "Download steered" not in log
