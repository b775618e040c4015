"""The location lookup: as the caller, then the service, bounded, cached."""

import json
import logging
import threading
import time

import pytest
import webob
import webob.dec

from loc_strategy_filter.location_lookup import LocationLookup
from loc_strategy_filter.settings import Settings
from loc_strategy_filter.user_request import UserRequest

LOCATIONS = [{"url": "file:///srv/x", "metadata": {}},
             {"url": "http://127.0.0.1/x", "metadata": {}}]


def settings(**values):
    return Settings(strategy="location_order", order=list, **values)


def user_request(path="/v2/images", script_name=""):
    return UserRequest(webob.Request.blank(
        path, environ={"SCRIPT_NAME": script_name},
        headers={"X-Roles": "member"}).environ)


class Upstream:
    """Answers the location API with ``status`` and ``body``; records paths."""

    def __init__(self, status=200, body=json.dumps(LOCATIONS), delay=0):
        self.status, self.body, self.delay = status, body, delay
        self.asked = []
        self.running = self.most = 0
        self._lock = threading.Lock()

    @webob.dec.wsgify
    def __call__(self, req):
        with self._lock:
            self.asked.append((req.script_name, req.path_info,
                               req.headers.get("X-Roles"), req.method,
                               req.body))
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.delay)
            return webob.Response(status=self.status, body=self.body.encode(),
                                  content_type="application/json")
        finally:
            with self._lock:
                self.running -= 1


class Service:
    def __init__(self, status=200, body=json.dumps(LOCATIONS).encode()):
        self.status, self.body = status, body
        self.asked = []

    def get_locations(self, image_id):
        self.asked.append(image_id)
        if isinstance(self.status, Exception):
            raise self.status
        return self.status, self.body


def test_the_caller_is_asked_first_under_the_same_prefix():
    upstream = Upstream()
    lookup = LocationLookup(upstream, settings())
    assert lookup.learn_one(user_request("/images/a", "/v2"), "a") == LOCATIONS
    assert upstream.asked == [("/v2", "/images/a/locations", "member", "GET",
                               b"")]


def test_a_request_with_a_body_is_asked_again_without_it():
    upstream = Upstream()
    req = webob.Request.blank("/v2/images", method="POST", json={"x": 1})
    LocationLookup(upstream, settings()).learn(UserRequest(req.environ), ["a"])
    assert upstream.asked[0][1:] == ("/v2/images/a/locations", None, "GET",
                                     b"")


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_caller_falls_back_to_the_service(status):
    service = Service()
    lookup = LocationLookup(Upstream(status=status), settings(), service)
    assert lookup.learn_one(user_request(), "a") == LOCATIONS
    assert service.asked == ["a"]


@pytest.mark.parametrize("status", [404, 500])
def test_other_refusals_do_not_ask_the_service(status):
    service = Service()
    lookup = LocationLookup(Upstream(status=status), settings(), service)
    assert lookup.learn_one(user_request(), "a") is None
    assert service.asked == []


@pytest.mark.parametrize("answer", [
    Service(status=403), Service(body=b"{"), Service(body=b"[]"),
    Service(body=b'[{"url": 3}]'), Service(body=b'{"url": "x"}'),
    Service(status=ConnectionError("refused")),
], ids=["refused", "not-json", "empty", "no-url", "not-a-list", "error"])
def test_every_failure_learns_nothing(answer):
    lookup = LocationLookup(Upstream(status=403), settings(), answer)
    assert lookup.learn(user_request(), ["a"]) == {}


def test_no_service_credentials_learns_nothing_and_says_so_once(caplog):
    lookup = LocationLookup(Upstream(status=403), settings())
    with caplog.at_level(logging.DEBUG, "loc_strategy_filter"):
        for _ in range(3):
            assert lookup.learn_one(user_request(), "a") is None
    levels = [record.levelno for record in caplog.records]
    assert levels == [logging.INFO, logging.DEBUG, logging.DEBUG]
    assert "no service credentials" in caplog.records[0].getMessage()


@pytest.mark.parametrize("image_id", [
    "a/b", "..", "a?b", "", None, 3, "x" * 200, "a b"])
def test_an_id_that_could_leave_the_images_path_is_not_looked_up(image_id):
    upstream = Upstream()
    assert LocationLookup(upstream, settings()).learn(
        user_request(), [image_id]) == {}
    assert upstream.asked == []


def test_lookups_run_concurrently_within_the_bound():
    upstream = Upstream(delay=0.1)
    lookup = LocationLookup(upstream, settings(location_lookup_concurrency=4))
    started = time.monotonic()
    learned = lookup.learn(user_request(), [f"i{n}" for n in range(12)])
    assert len(learned) == 12
    assert upstream.most == 4
    assert time.monotonic() - started < 0.9


def test_a_slow_lookup_costs_the_timeout_only():
    upstream = Upstream(delay=1)
    lookup = LocationLookup(upstream, settings(location_lookup_timeout=0.2))
    started = time.monotonic()
    assert lookup.learn(user_request(), ["a", "b"]) == {}
    assert time.monotonic() - started < 0.6


def test_what_was_learned_is_kept_and_forgotten():
    upstream = Upstream()
    lookup = LocationLookup(upstream, settings(), Service())
    lookup.learn(user_request(), ["a", "b"])
    lookup.learn(user_request(), ["a", "b", "a"])
    assert len(upstream.asked) == 2
    lookup.forget("a")
    lookup.learn(user_request(), ["a", "b"])
    assert [path for _, path, *_ in upstream.asked].count(
        "/v2/images/a/locations") == 2


def test_without_service_credentials_nothing_is_kept():
    """One caller's lookup never decides another's direct_url."""
    upstream = Upstream()
    lookup = LocationLookup(upstream, settings())
    lookup.learn_one(user_request(), "a")
    lookup.learn_one(user_request(), "a")
    assert len(upstream.asked) == 2


def test_a_ttl_of_zero_keeps_nothing():
    upstream = Upstream()
    lookup = LocationLookup(upstream, settings(location_cache_ttl=0),
                            Service())
    lookup.learn_one(user_request(), "a")
    lookup.learn_one(user_request(), "a")
    assert len(upstream.asked) == 2


@pytest.mark.parametrize("service", [None, Service()],
                         ids=["no-credentials", "credentials"])
def test_a_refused_caller_is_not_asked_again_for_the_same_answer(service):
    # Glance refuses the location API by caller: a list of many images
    # costs the caller one refusal per worker, not one per image.
    upstream = Upstream(status=403, delay=0.01)
    lookup = LocationLookup(upstream, settings(location_lookup_concurrency=2),
                            service)
    ids = [f"image-{n}" for n in range(40)]
    learned = lookup.learn(user_request(), ids)
    assert len(upstream.asked) <= 2
    assert learned == ({} if service is None
                       else {image_id: LOCATIONS for image_id in ids})
