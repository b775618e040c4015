import copy
import dataclasses
import threading

import pytest

from hypothesis import given
from hypothesis import strategies as st

from loc_strategy_filter.download.failures import digest
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.locations import url_of


def failed_lately(memory, url, recorded=None):
    """What one download recalling ``url`` would know."""
    return memory.recall([url], recorded).recently_failed(url)


def deprioritised(memory, locations, recorded=None):
    return memory.recall([url_of(location) for location in locations],
                         recorded).deprioritised(locations)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def location(url):
    return {"url": url, "metadata": {}}


def test_a_failure_is_remembered_for_the_ttl():
    clock = Clock()
    memory = FailureMemory(30, clock=clock)
    memory.failed("file:///a")
    clock.now += 29.9
    assert failed_lately(memory, "file:///a")
    clock.now += 0.1
    assert not failed_lately(memory, "file:///a")


def test_other_urls_have_not_failed():
    memory = FailureMemory(30)
    memory.failed("file:///a")
    assert not failed_lately(memory, "file:///b")


def test_failing_again_restarts_the_ttl():
    clock = Clock()
    memory = FailureMemory(30, clock=clock)
    memory.failed("file:///a")
    clock.now += 20
    memory.failed("file:///a")
    clock.now += 20
    assert failed_lately(memory, "file:///a")


def test_recently_failed_locations_go_last_in_their_order():
    memory = FailureMemory(30)
    locations = [location(u) for u in "abcde"]
    memory.failed("d")
    memory.failed("b")
    ordered = deprioritised(memory, locations)
    assert [loc["url"] for loc in ordered] == ["a", "c", "e", "b", "d"]


def test_deprioritised_leaves_its_input_alone():
    memory = FailureMemory(30)
    memory.failed("a")
    locations = [location("a"), location("b")]
    before = copy.deepcopy(locations)
    ordered = deprioritised(memory, locations)
    assert locations == before
    assert ordered is not locations
    assert ordered[1] is locations[0]


def test_expired_failures_no_longer_deprioritise():
    clock = Clock()
    memory = FailureMemory(30, clock=clock)
    memory.failed("a")
    clock.now += 30
    locations = [location("a"), location("b")]
    assert deprioritised(memory, locations) == locations


def test_locations_without_a_url_are_kept_in_place():
    memory = FailureMemory(30)
    memory.failed("a")
    locations = [location("a"), {"metadata": {}}, "junk"]
    assert deprioritised(memory, locations) == [{"metadata": {}}, "junk",
                                                location("a")]


def test_expired_entries_are_forgotten():
    clock = Clock()
    memory = FailureMemory(30, clock=clock)
    for url in "abc":
        memory.failed(url)
    clock.now += 15
    memory.failed("d")
    assert len(memory) == 4
    clock.now += 15
    assert len(memory) == 1


def test_the_oldest_entries_go_beyond_the_cap():
    memory = FailureMemory(30, max_entries=3)
    for url in "abcd":
        memory.failed(url)
    memory.failed("b")  # b is now the newest
    memory.failed("e")
    assert len(memory) == 3
    assert [failed_lately(memory, u) for u in "abcde"] == [
        False, True, False, True, True]


def test_a_zero_ttl_remembers_nothing():
    memory = FailureMemory(0)
    memory.failed("a")
    assert not failed_lately(memory, "a")
    assert len(memory) == 0


def test_concurrent_failures_stay_within_the_cap():
    memory = FailureMemory(30, max_entries=50)
    errors = []

    def fail_many(prefix):
        try:
            for n in range(2000):
                memory.failed(f"{prefix}{n}")
                failed_lately(memory, f"{prefix}{n // 2}")
                deprioritised(memory, [location(f"{prefix}{n}")])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=fail_many, args=(f"t{i}-",))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(memory) == 50


@given(urls=st.lists(st.sampled_from("abcdef"), max_size=12),
       failed=st.sets(st.sampled_from("abcdef")))
def test_deprioritised_is_a_stable_partition(urls, failed):
    memory = FailureMemory(30)
    for url in failed:
        memory.failed(url)
    locations = [location(u) for u in urls]
    ordered = deprioritised(memory, locations)
    assert ordered == ([loc for loc in locations if loc["url"] not in failed]
                       + [loc for loc in locations if loc["url"] in failed])


# -- Keyed by what failed -----------------------------------------------------

RECORD = RecordedBytes(1024, "a" * 32, "sha512", "b" * 128)
OTHER_RECORD = RecordedBytes(1024, "c" * 32, "sha512", "d" * 128)


def test_wrong_bytes_count_for_that_record_only():
    memory = FailureMemory(30)
    memory.failed("http://mirror/shared", RECORD)
    assert failed_lately(memory, "http://mirror/shared", RECORD)
    assert not failed_lately(memory, "http://mirror/shared", OTHER_RECORD)
    assert not failed_lately(memory, "http://mirror/shared")


def test_a_failed_read_counts_for_every_record():
    memory = FailureMemory(30)
    memory.failed("http://mirror/shared")
    assert failed_lately(memory, "http://mirror/shared", RECORD)
    assert failed_lately(memory, "http://mirror/shared", OTHER_RECORD)


@pytest.mark.parametrize("field, value", [
    ("size", 1025), ("checksum", None), ("hash_algo", "sha256"),
    ("hash_value", "e" * 128)], ids=lambda value: str(value)[:8])
def test_every_recorded_field_is_part_of_the_key(field, value):
    memory = FailureMemory(30)
    memory.failed("u", RECORD)
    assert not failed_lately(
        memory, "u", dataclasses.replace(RECORD, **{field: value}))


def test_wrong_bytes_leave_the_location_out_for_that_record_only():
    memory = FailureMemory(30)
    locations = [location(u) for u in "abc"]
    memory.failed("a", RECORD)
    memory.failed("b")
    assert [loc["url"] for loc in deprioritised(memory, locations, RECORD)] \
        == ["c", "b"]
    assert [loc["url"] for loc in deprioritised(memory, locations,
                                                OTHER_RECORD)] == [
        "a", "c", "b"]
    assert [loc["url"] for loc in deprioritised(memory, locations)] == [
        "a", "c", "b"]


def test_wrong_bytes_expire_too():
    clock = Clock()
    memory = FailureMemory(30, clock=clock)
    memory.failed("a", RECORD)
    clock.now += 30
    assert not failed_lately(memory, "a", RECORD)
    assert len(memory) == 0


def test_no_url_is_kept_only_its_digest():
    secret_url = "http://user:s3cret@mirror/image"
    memory = FailureMemory(30)
    memory.failed(secret_url)
    memory.failed(secret_url, RECORD)
    assert "s3cret" not in repr(vars(memory))
    assert digest("read", secret_url) in vars(memory)["_failed_at"]


def test_a_digest_tells_its_parts_apart():
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("a", None) == digest("a", "")
    assert len(digest("x")) == 64 and digest("x") == digest("x")
