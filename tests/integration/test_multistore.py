"""The filter in front of a multi-store Glance: ``store_id`` and steering.

The image is uploaded to store ``fast`` (the default) and copied to ``slow``
by Glance's own ``copy-image`` import, so Glance lists the fast copy first,
each location naming its store in ``metadata["store"]``. The ``store_id``
server prefers ``slow, fast`` and steers downloads: it asks Glance for
``?prefer=slow``, and Glance reads the slow copy itself.

Which copy Glance read is told by the kernel: the two copies are files in
the two stores' directories, and ``file_watch`` sees which one was read. The
same watch shows Glance alone reading the fast copy, so a read of the slow
one is the filter's doing.
"""

import dataclasses
import hashlib

import pytest

from tests.integration.conftest import assert_same_download
from tests.integration.conftest import DATA
from tests.integration.conftest import headers_of
from tests.integration.conftest import unique_name
from tests.integration.file_watch import FileWatch


def urls(image):
    return [location["url"] for location in image["locations"]]


@dataclasses.dataclass
class Copies:
    """An image in both stores."""

    image_id: str
    name: str
    paths: dict  # store -> the path of its copy

    def url(self, store):
        return f"file://{self.paths[store]}"


def copy_to_both_stores(multistore, multistore_deployment):
    """A new image, uploaded to ``fast`` and copied to ``slow``."""
    api = multistore["bare"]
    name = unique_name("multistore")
    created = api.create(name=name)
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = api.upload(image_id, DATA, store="fast")
    assert uploaded.status_code == 204, uploaded.text
    copying = api.copy_to_stores(image_id, "slow")
    assert copying.status_code == 202, copying.text
    api.wait_for_stores(image_id, "fast", "slow")
    return Copies(image_id, name, {
        store: multistore_deployment.store_dir(store) / image_id
        for store in ("fast", "slow")})


def stores_read(copies, download):
    """``download()``'s answer, and the stores whose copy it read."""
    with FileWatch(copies.paths.values()) as watch:
        answer = download()
    read = watch.read()
    return answer, {store for store, path in copies.paths.items()
                    if str(path) in read}


def test_glance_lists_the_upload_then_the_copy(multistore, copies):
    image = multistore["bare"].show(copies.image_id).json()

    assert image["locations"] == [
        {"url": copies.url("fast"), "metadata": {"store": "fast"}},
        {"url": copies.url("slow"), "metadata": {"store": "slow"}}]
    assert image["direct_url"] == copies.url("fast")


def test_store_id_puts_the_preferred_store_first(multistore, copies):
    image = multistore["store_id"].show(copies.image_id).json()

    assert urls(image) == [copies.url("slow"), copies.url("fast")]
    assert image["direct_url"] == copies.url("slow")


def test_store_id_list_agrees_with_show(multistore, copies):
    shown = multistore["store_id"].show(copies.image_id).json()
    listed = multistore["store_id"].list(name=copies.name).json()["images"]

    assert [(image["id"], urls(image), image["direct_url"])
            for image in listed] == [
        (copies.image_id, urls(shown), shown["direct_url"])]


def test_glance_alone_reads_the_first_store(multistore, copies):
    answer, read = stores_read(
        copies, lambda: multistore["bare"].download(copies.image_id))

    assert answer.status_code == 200
    assert answer.content == DATA
    assert read == {"fast"}


def test_steered_download_is_read_from_the_preferred_store(multistore, copies):
    checksum = multistore["bare"].show(copies.image_id).json()["checksum"]

    answer, read = stores_read(
        copies, lambda: multistore["store_id"].download(copies.image_id))

    assert answer.status_code == 200
    assert answer.content == DATA
    assert (hashlib.md5(answer.content).hexdigest() == checksum
            == answer.headers["Content-MD5"])
    assert read == {"slow"}


def test_steered_download_has_glances_headers(multistore, copies):
    glance_answer = multistore["bare"].download(copies.image_id)
    answer = multistore["store_id"].download(copies.image_id)

    assert headers_of(answer) == headers_of(glance_answer)


@pytest.mark.parametrize("call", ["show", "list", "download"])
def test_location_order_answers_as_glance_does(multistore,
                                               multistore_deployment, copies,
                                               call):
    """The image is in its upload order already: the filter changes
    nothing, and its steered download (``?prefer=fast``, the best
    location's store) reads what Glance alone reads.
    """
    def answer(server):
        api = multistore[server]
        if call == "list":
            return api.list(name=copies.name)
        return getattr(api, call)(copies.image_id)

    glance_answer = answer("bare")
    server = multistore_deployment.servers["location_order"]
    log_start = server.log_end()
    filtered, read = stores_read(copies, lambda: answer("location_order"))

    assert glance_answer.status_code == 200
    assert_same_download(filtered, glance_answer)
    assert read == ({"fast"} if call == "download" else set())
    assert (("Download steered to store fast" in server.log(since=log_start))
            == (call == "download"))


def test_the_users_own_preference_wins(multistore, copies):
    answer, read = stores_read(copies, lambda: multistore["store_id"].download(
        copies.image_id, prefer="fast"))

    assert answer.status_code == 200
    assert answer.content == DATA
    assert read == {"fast"}
