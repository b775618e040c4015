"""Mirrors that misbehave, as the best location inside the real Glance.

Glance checks a new http location with a HEAD, which always gets the truth;
the filter's GETs get the misbehaviour. Each download ends in the exact
image (from Glance's file, or from Glance's own download where the filter
may read no file), or in a visible failure: never wrong bytes delivered as
a success. ``serve`` may read Glance's file; ``mirror_only`` may not, and
gives up on a slow mirror within a second or two.
"""

import time
import uuid

import pytest
import requests

from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.conftest import served_by
from tests.integration.test_download import filter_gets
from tests.integration.test_download import make_image


def hostile_image(glance, mirror, server, behaviour):
    path = f"/hostile/{behaviour}/{uuid.uuid4()}"
    url = mirror.publish(path, DATA, behaviour)
    image_id = make_image(glance[server], url)
    assert glance[server].show(image_id).json()["direct_url"] == url
    return image_id, path


def logged_download(glance, deployment, server, image_id):
    """The answer (whose body was read), and what ``server`` logged."""
    log_start = deployment.servers[server].log_end()
    answer = glance[server].download(image_id)
    return answer, deployment.servers[server].log(since=log_start)


# Refused at open, the file (its first download, so verified) streams
# through the filter; broken mid-stream, the rest of it does.
SERVED_BY_THE_FILE = {
    "gzip": f"bytes 0 to {len(DATA)} served by location 0 (file store) "
            "after 1 failover(s)",
    "dies": f"bytes 0 to {len(DATA)} served by location 0 (file store) "
            "after 1 failover(s)"}


@pytest.mark.parametrize("behaviour", SERVED_BY_THE_FILE)
def test_a_mirror_that_misbehaves_fails_over_to_the_file(
        glance, glance_deployment, mirror, behaviour):
    image_id, path = hostile_image(glance, mirror, "serve", behaviour)
    since = len(mirror.requests)

    answer, log = logged_download(glance, glance_deployment, "serve",
                                  image_id)

    assert_same_download(answer, glance["bare"].download(image_id))
    assert answer.content == DATA
    assert len(filter_gets(mirror, path, since)) == 1
    assert f"Image {image_id}: location 1 (" in log
    assert f"Image {image_id}: {SERVED_BY_THE_FILE[behaviour]}" in log


@pytest.mark.filter_errors("is not the image's", "VerificationFailed")
def test_a_corrupt_mirror_fails_once_then_is_not_read_for_that_image(
        glance, glance_deployment, mirror):
    image_id, path = hostile_image(glance, mirror, "serve", "corrupt")
    since = len(mirror.requests)

    # The first download cannot be saved: the wrong bytes are found at the
    # end, when all but the last chunk went out. The body ends short.
    with pytest.raises(requests.exceptions.RequestException):
        glance["serve"].download(image_id)
    answer, log = logged_download(glance, glance_deployment, "serve",
                                  image_id)

    assert answer.status_code == 200
    assert answer.content == DATA
    assert_same_download(answer, glance["bare"].download(image_id))
    assert len(filter_gets(mirror, path, since)) == 1, "read once, not twice"
    assert served_by(log, image_id, 0, "file")


def test_a_mirror_dying_mid_stream_continues_from_glances_download(
        glance, glance_deployment, mirror):
    image_id, path = hostile_image(glance, mirror, "mirror_only", "dies")
    since = len(mirror.requests)

    answer, log = logged_download(glance, glance_deployment, "mirror_only",
                                  image_id)

    assert answer.status_code == 200
    assert answer.content == DATA
    assert_same_download(answer, glance["bare"].download(image_id))
    assert len(filter_gets(mirror, path, since)) == 1
    assert (f"Image {image_id}: no location left; bytes {mirror.die_after} "
            f"to {len(DATA)} continue from the upstream's own download"
            in log)


def test_a_slow_mirror_is_given_up_then_not_waited_for_again(
        glance, glance_deployment, mirror):
    image_id, path = hostile_image(glance, mirror, "mirror_only", "slow")
    since = len(mirror.requests)

    started = time.monotonic()
    answer, log = logged_download(glance, glance_deployment, "mirror_only",
                                  image_id)
    first = time.monotonic() - started

    assert answer.content == DATA
    assert_same_download(answer, glance["bare"].download(image_id))
    assert f"Image {image_id}: location 1 (" in log
    assert first < 10, "the deadline ends a slow mirror"

    started = time.monotonic()
    answer, log = logged_download(glance, glance_deployment, "mirror_only",
                                  image_id)
    second = time.monotonic() - started

    assert answer.content == DATA
    assert len(filter_gets(mirror, path, since)) == 1, "not read again"
    assert (f"Image {image_id}: every location the filter may read failed "
            in log)
    assert second < first
