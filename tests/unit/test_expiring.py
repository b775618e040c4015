"""The in-process memory of what requests learned of images."""

from loc_strategy_filter.expiring import ExpiringCache


def test_values_expire_and_the_oldest_go_first():
    now = [0.0]
    cache = ExpiringCache(ttl=10, size=2, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None and cache.get("c") == 3
    now[0] = 10
    assert cache.get("b") is None and cache.get("c") is None


def test_forget_drops_the_image_at_once():
    cache = ExpiringCache(ttl=10)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.forget("a")
    assert cache.get("a") is None and cache.get("b") == 2


def test_a_value_learned_while_a_change_passed_is_not_kept():
    cache = ExpiringCache(ttl=10)
    stamp = cache.stamp()
    cache.forget("a")  # a change passes while "a" is being learned
    cache.put("a", "what the change replaced", stamp)
    assert cache.get("a") is None
    cache.put("a", "learned afresh", cache.stamp())
    assert cache.get("a") == "learned afresh"


def test_a_ttl_of_zero_keeps_nothing():
    cache = ExpiringCache(ttl=0)
    cache.put("a", 1)
    assert cache.get("a") is None


def test_what_expired_does_not_stay_in_memory():
    now = [0.0]
    cache = ExpiringCache(ttl=5, clock=lambda: now[0])
    for number in range(1000):
        cache.put(f"image-{number}", "kept")
    now[0] = 3600.0
    cache.put("another", "kept")
    assert len(cache._entries) == 1
