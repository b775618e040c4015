"""``verify_checksums``, each value the README offers, inside the real Glance.

Servers of the single-store deployment that serve downloads themselves
(``download_mode = serve``, ``store_type = http, file``, the mirror
readable), one per value: ``serve`` (the session's, which leaves the
default, ``strongest``), and this module's ``verify_all``, ``verify_true``,
``verify_false`` and ``verify_off``. Each image has Glance's file (its
upload, location 0) and a mirror path (location 1, the best). Glance
records both digests of every upload (the MD5 ``checksum`` and the SHA-512
``os_hash_value``).

A mirror path published ``corrupt`` sends the right number of wrong bytes
(Glance's HEAD, which checks a new location, gets the truth). What is
checked decides the download: ``strongest``, ``all`` and ``true`` find it
at the end, when all but the last chunk went out, so the body ends short and
glance-api's log names the digest that did not match (``strongest`` the
SHA-512, ``all`` the MD5, the first it compares); ``off`` and ``false``
check the size only, and the wrong bytes go out as a success: what ``off``
means. A mirror path that serves the image is read, and its bytes sent,
under every value.

Not tested here: ``strongest`` falling back to MD5 for a record without a
multihash. Glance 33 cannot make one: an upload records both digests, and
a location's ``validation_data`` must carry ``os_hash_algo`` and
``os_hash_value`` (the checksum alone is refused by its schema, and the new
location API takes no checksum at all). The functional tests cover it.
"""

import hashlib
import uuid

import pytest
import requests

from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.conftest import READ_THE_MIRRORS
from tests.integration.conftest import SERVE
from tests.integration.conftest import STORE_TYPE
from tests.integration import glance_api
from tests.integration.image_api import ImageApi
from tests.integration.test_download import filter_gets
from tests.integration.test_download import make_image

WRONG_BYTES = bytes(255 - byte for byte in DATA)  # the mirror's "corrupt"
# Each verify_checksums value, and the server that has it.
SERVERS = {"strongest": "serve", "all": "verify_all", "true": "verify_true",
           "false": "verify_false", "off": "verify_off"}
SERVED_BY_THE_MIRROR = (f"bytes 0 to {len(DATA)} served by location 1 "
                        "(http store) after 0 failover(s)")


def verifying(value):
    return glance_api.merge_sections(
        STORE_TYPE, READ_THE_MIRRORS, SERVE,
        {"location_strategy_filter": {"verify_checksums": value}})


@pytest.fixture(scope="module")
def verifiers(glance_deployment):
    """The server of each ``verify_checksums`` value, by value."""
    configs = {server: {"operator_config": verifying(value)}
               for value, server in SERVERS.items() if server != "serve"}
    try:
        with glance_deployment.servers_for_a_while(configs):
            yield {value: glance_deployment.servers[server]
                   for value, server in SERVERS.items()}
    except glance_api.StartError as exc:
        pytest.fail(str(exc), pytrace=False)


def published(mirror, behaviour):
    path = f"/verification/{behaviour}/{uuid.uuid4()}"
    return path, mirror.publish(path, DATA, behaviour)


def image_at(glance, mirror, behaviour):
    """A new image whose best location is a mirror path of ``behaviour``;
    its record as Glance alone shows it, and the path.
    """
    path, url = published(mirror, behaviour)
    image_id = make_image(glance["bare"], url)
    image = glance["bare"].show(image_id).json()
    assert image["locations"][1]["url"] == url
    assert image["checksum"] and image["os_hash_algo"] == "sha512"
    return image, path


def logged_download(server, image_id):
    """The answer (whose body was read), and what ``server`` logged."""
    log_start = server.log_end()
    answer = ImageApi(server.url, server.headers).download(image_id)
    return answer, server.log(since=log_start)


@pytest.mark.parametrize("value", SERVERS)
def test_the_mirrors_right_bytes_are_served_under_every_value(
        glance, verifiers, mirror, value):
    image, path = image_at(glance, mirror, "ok")
    since = len(mirror.requests)

    answer, log = logged_download(verifiers[value], image["id"])

    assert answer.status_code == 200
    assert hashlib.sha512(answer.content).hexdigest() == image["os_hash_value"]
    assert hashlib.md5(answer.content).hexdigest() == image["checksum"]
    assert_same_download(answer, glance["bare"].download(image["id"]))
    assert len(filter_gets(mirror, path, since)) == 1
    assert f"Image {image['id']}: {SERVED_BY_THE_MIRROR}" in log


# The digest each checking value names when the bytes are wrong.
MISMATCH = {"strongest": "sha512 os_hash_value mismatch",
            "all": "md5 checksum mismatch", "true": "md5 checksum mismatch"}


@pytest.mark.filter_errors("is not the image's", "VerificationFailed")
@pytest.mark.parametrize("value", MISMATCH)
def test_wrong_bytes_of_the_right_size_break_the_download(
        glance, verifiers, mirror, value):
    image, path = image_at(glance, mirror, "corrupt")
    since = len(mirror.requests)
    log_start = verifiers[value].log_end()

    with pytest.raises(requests.exceptions.RequestException):
        logged_download(verifiers[value], image["id"])

    log = verifiers[value].log(since=log_start)
    assert len(filter_gets(mirror, path, since)) == 1
    refusal = next(line for line in log.splitlines()
                   if f"Image {image['id']}: data read from location(s) 1 "
                      "is not the image's" in line)
    assert MISMATCH[value] in refusal
    assert SERVED_BY_THE_MIRROR not in log


@pytest.mark.parametrize("value", ["off", "false"])
def test_off_checks_the_size_only(glance, verifiers, mirror, value):
    image, path = image_at(glance, mirror, "corrupt")
    since = len(mirror.requests)

    answer, log = logged_download(verifiers[value], image["id"])

    assert answer.status_code == 200
    assert answer.content == WRONG_BYTES
    assert hashlib.md5(answer.content).hexdigest() != image["checksum"]
    assert answer.headers["Content-Length"] == str(len(DATA))
    assert len(filter_gets(mirror, path, since)) == 1
    assert f"Image {image['id']}: {SERVED_BY_THE_MIRROR}" in log
