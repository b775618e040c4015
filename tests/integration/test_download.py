"""Image downloads through the filter, in the real Glance image API.

The original test case's image has a file location (its upload) and a
mirror location. Under ``store_type`` (http, file) the mirror is the best,
and that server may read it (``http_allowed_hosts = 127.0.0.1``): once Glance
has answered the user's own download with 200 or 206, the filter sends the
mirror's bytes instead. Under ``location_order`` the file is the best, and
the filter reads it from Glance's file store directory (the default
``file_dirs``). Either way the user gets what Glance itself sends.

Who read the bytes is told by what the user cannot see: the mirror's access
log (the filter's GET says ``Via: 1.1 loc-strategy-filter``; Glance only
ever sent its HEAD), the files the kernel saw opened (``file_watch``), or
glance-api's log.
"""

import hashlib
import uuid

import pytest

from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.conftest import sdk_connection
from tests.integration.conftest import served_by
from tests.integration.conftest import unique_name
from tests.integration.file_watch import FileWatch


def filter_gets(mirror, path, since):
    """The filter's GETs of ``path`` from the ``since``-th mirror request
    on; anything else the mirror saw there fails the test.
    """
    seen = mirror.seen(path, since)
    assert all(request.method == "GET" and request.from_filter
               for request in seen), seen
    return seen


def make_image(api, mirror_url=None, metadata=None):
    """A new image, uploaded through ``api``, with a mirror location."""
    created = api.create(name=unique_name("download"))
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = api.upload(image_id, DATA)
    assert uploaded.status_code == 204, uploaded.text
    if mirror_url is not None:
        located = api.add_location(image_id, mirror_url, metadata)
        assert located.status_code == 200, located.text
    return image_id


def whole_download_log(glance, deployment, server_name, image_id):
    """Download the whole image through ``server_name``, check that the user
    got what Glance alone sends, and return what that server logged.
    """
    server = deployment.servers[server_name]
    log_start = server.log_end()

    answer = glance[server_name].download(image_id)

    assert answer.status_code == 200
    assert answer.content == DATA
    assert_same_download(answer, glance["bare"].download(image_id))
    return server.log(since=log_start)


# --- The best location is the mirror -----------------------------------------

def test_store_type_download_comes_from_the_mirror(glance, original_case,
                                                   mirror):
    image = glance["bare"].show(original_case.image_id).json()
    since = len(mirror.requests)
    glance_answer = glance["bare"].download(original_case.image_id)

    answer = glance["store_type"].download(original_case.image_id)

    assert answer.status_code == 200
    assert answer.content == DATA
    assert (hashlib.md5(answer.content).hexdigest() == image["checksum"]
            == answer.headers["Content-MD5"])
    assert_same_download(answer, glance_answer)
    assert len(filter_gets(mirror, original_case.mirror_path, since)) == 1
    glance_head = mirror.seen(original_case.mirror_path)[0]
    assert (glance_head.method, glance_head.from_filter) == ("HEAD", False)


def test_download_fails_over_to_the_file_when_the_mirror_is_down(
        glance, glance_deployment, doomed_mirror):
    api = glance["store_type"]
    mirror_url = doomed_mirror.publish("/doomed", DATA)
    image_id = make_image(api, mirror_url)
    assert api.show(image_id).json()["direct_url"] == mirror_url
    doomed_mirror.stop()

    log = whole_download_log(glance, glance_deployment, "store_type", image_id)

    # The filter tried the mirror first, then served Glance's file itself
    # (glance-api's log says so; Glance alone would not mention either).
    assert (f"Image {image_id}: location 1 (http store, {mirror_url}) "
            "failed at byte 0" in log)
    assert served_by(log, image_id, 0, "file")


RANGES = {"bytes=0-0": slice(0, 1), "bytes=-1": slice(-1, None),
          "bytes=10-99": slice(10, 100)}


@pytest.mark.parametrize("byte_range", RANGES)
def test_range_from_the_mirror_is_glances_range(glance, original_case, mirror,
                                                byte_range):
    glance_answer = glance["bare"].download(original_case.image_id,
                                            byte_range)
    since = len(mirror.requests)

    answer = glance["store_type"].download(original_case.image_id, byte_range)

    assert glance_answer.status_code == 206
    assert_same_download(answer, glance_answer)
    assert answer.content == DATA[RANGES[byte_range]]
    assert len(filter_gets(mirror, original_case.mirror_path, since)) == 1


# --- The best location is Glance's own file ----------------------------------

def file_opens(path, download):
    """``download()``'s answer, and how often it had ``path`` opened."""
    with FileWatch([path]) as watch:
        answer = download()
    return answer, watch.counts()[str(path)]["close"]


def test_location_order_download_is_served_from_the_file(glance, original_case,
                                                         mirror):
    """Glance alone opens the image file once. Through the filter it is
    opened twice: by Glance, for the user's own request (the filter holds
    Glance's answer until it says 200, then drops it unread), and by the
    filter, which sends the file.
    """
    image_id, path = original_case.image_id, original_case.file_path
    since = len(mirror.requests)
    glance_answer, glance_opens = file_opens(
        path, lambda: glance["bare"].download(image_id))

    answer, opens = file_opens(
        path, lambda: glance["location_order"].download(image_id))

    assert answer.status_code == 200
    assert answer.content == DATA
    assert_same_download(answer, glance_answer)
    assert (glance_opens, opens) == (1, 2)
    assert mirror.seen(original_case.mirror_path, since) == []


@pytest.mark.parametrize("byte_range", RANGES)
def test_range_from_the_file_is_glances_range(glance, original_case,
                                              byte_range):
    image_id, path = original_case.image_id, original_case.file_path
    glance_answer, glance_opens = file_opens(
        path, lambda: glance["bare"].download(image_id, byte_range))

    answer, opens = file_opens(
        path, lambda: glance["location_order"].download(image_id, byte_range))

    assert glance_answer.status_code == 206
    assert_same_download(answer, glance_answer)
    assert answer.content == DATA[RANGES[byte_range]]
    assert (glance_opens, opens) == (1, 2)


# --- What the filter leaves to Glance ----------------------------------------

@pytest.mark.parametrize("server", ["location_order", "store_type"])
def test_missing_image_download_is_glances_404(glance, mirror, server):
    missing = str(uuid.uuid4())
    glance_answer = glance["bare"].download(missing)
    since = len(mirror.requests)

    answer = glance[server].download(missing)

    assert glance_answer.status_code == 404
    assert_same_download(answer, glance_answer)
    assert mirror.requests[since:] == []


def test_steer_gets_the_plain_download_when_glance_refuses_prefer(
        glance, glance_deployment, mirror):
    """A location naming a store, in a single-store Glance: the filter asks
    Glance for ``?prefer=mirror``, Glance refuses (400), and the user gets
    the plain download.
    """
    api = glance["steer"]
    mirror_url = mirror.publish(f"/steer/{uuid.uuid4()}", DATA)
    image_id = make_image(api, mirror_url, metadata={"store": "mirror"})
    best = api.show(image_id).json()["locations"][0]
    assert best == {"url": mirror_url, "metadata": {"store": "mirror"}}
    refused = glance["bare"].download(image_id, prefer="mirror")
    assert refused.status_code == 400, refused.text

    log = whole_download_log(glance, glance_deployment, "steer", image_id)

    assert ("Upstream refused ?prefer=mirror (400 Bad Request); "
            "plain download" in log)


# --- Through openstacksdk ----------------------------------------------------

@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_sdk_download_comes_from_the_mirror(glance, original_case, mirror):
    """openstacksdk checks the bytes against the image's hash itself."""
    since = len(mirror.requests)

    answer = sdk_connection(glance["store_type"]).image.download_image(
        original_case.image_id)

    assert answer.content == DATA
    assert hashlib.md5(answer.content).hexdigest() == answer.headers[
        "Content-MD5"]
    assert len(filter_gets(mirror, original_case.mirror_path, since)) == 1
