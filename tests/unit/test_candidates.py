import pytest

from loc_strategy_filter.download.candidates import Candidate
from loc_strategy_filter.download.candidates import planned
from loc_strategy_filter.download.candidates import readable
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.record import RecordedBytes

RECORDED = RecordedBytes(10, "0" * 32)


class Reader:
    """Allows every URL but those it is told to refuse."""

    def __init__(self, refused=()):
        self.refused = refused

    def allows(self, url):
        return url not in self.refused


FILE, HTTP = Reader(), Reader()
READERS = {"file": FILE, "http": HTTP}


def image(*urls, status="active", **fields):
    return {"id": "x", "status": status,
            "locations": [{"url": url, "metadata": {}} for url in urls],
            **fields}


def reversed_order(locations):
    return locations[::-1]


def candidates(image, order, readers, memory=None, recorded=None):
    """What a download reads: the readable ones, in the order tried."""
    memory = FailureMemory(0) if memory is None else memory
    return readable(planned(image, order, memory, recorded).tried, readers)


def best_location(image, order, memory=None):
    """The location a download tries first, readable or not."""
    memory = FailureMemory(0) if memory is None else memory
    return next((location for _, location
                 in planned(image, order, memory, None).tried), None)


def found(image, order=list, readers=READERS, **kwargs):
    return [(candidate.index, candidate.url)
            for candidate in candidates(image, order, readers, **kwargs)]


def test_candidates_carry_their_place_in_the_image_and_their_reader():
    shown = image("file:///a", "http://b/x")
    assert candidates(shown, reversed_order, READERS) == [
        Candidate(1, shown["locations"][1], HTTP),
        Candidate(0, shown["locations"][0], FILE)]


@pytest.mark.parametrize("status", ["deactivated", "queued", "importing",
                                    None])
def test_only_active_images_have_candidates(status):
    assert found(image("file:///a", status=status)) == []
    assert best_location(image("file:///a", status=status), list) is None


def test_a_location_without_a_reader_is_no_candidate():
    assert found(image("rbd://pool/a", "http://b/x")) == [(1, "http://b/x")]


def test_a_location_its_reader_refuses_is_no_candidate():
    readers = {"file": Reader(refused=("file:///a",))}
    assert found(image("file:///a", "file:///b"), readers=readers) == [
        (1, "file:///b")]


def test_the_direct_url_is_the_one_location_of_an_image_without_locations():
    shown = {"id": "x", "status": "active", "direct_url": "file:///a"}
    assert found(shown) == [(0, "file:///a")]


def test_recently_failed_locations_go_last_and_wrong_bytes_are_left_out():
    memory = FailureMemory(60)
    memory.failed("file:///a")
    memory.failed("file:///b", RECORDED)
    shown = image("file:///a", "file:///b", "file:///c")
    assert found(shown, memory=memory, recorded=RECORDED) == [
        (2, "file:///c"), (0, "file:///a")]
    # Wrong bytes are about one image's record: another's still reads b.
    assert found(shown, memory=memory, recorded=RecordedBytes(10)) == [
        (1, "file:///b"), (2, "file:///c"), (0, "file:///a")]


def test_without_a_memory_the_strategys_order_stands():
    shown = image("file:///a", "file:///b")
    assert found(shown, order=reversed_order) == [(1, "file:///b"),
                                                  (0, "file:///a")]


def test_the_best_location_need_not_be_readable():
    shown = image("rbd://pool/a", "file:///b")
    assert best_location(shown, list) == shown["locations"][0]


def test_the_best_location_follows_the_failure_memory():
    memory = FailureMemory(60)
    memory.failed("rbd://pool/a")
    shown = image("rbd://pool/a", "file:///b")
    assert best_location(shown, list, memory) == shown["locations"][1]


def test_one_ranking_gives_the_best_location_and_the_candidates():
    """The filter ranks once: memory and readers apply to that ranking."""
    memory = FailureMemory(60)
    memory.failed("file:///b")
    shown = image("rbd://pool/a", "file:///b", "file:///c")
    ranking, recalled, tried = planned(shown, reversed_order, memory,
                                       RECORDED)
    assert [index for index, _ in ranking] == [2, 1, 0]
    assert recalled.recently_failed("file:///b")
    assert [index for index, _ in tried] == [2, 0, 1]
    assert [(c.index, c.url) for c in readable(tried, READERS)] == [
        (2, "file:///c"), (1, "file:///b")]
