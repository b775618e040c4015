import sys

import pytest

from loc_strategy_filter import upstream
from loc_strategy_filter.upstream import HeldResponse

JSON = [("Content-Type", "application/json")]


class Body(list):
    """A WSGI body that records being closed."""

    closed = False

    def close(self):
        self.closed = True


class Server:
    """A start_response that keeps what it was given, and a write()."""

    def __init__(self):
        self.calls = []
        self.written = []

    def __call__(self, status, headers, exc_info=None):
        self.calls.append((status, headers, exc_info))
        return self.written.append


def eager(body, status="200 OK", headers=JSON):
    def app(environ, start_response):
        start_response(status, headers)
        return body
    return app


def lazy(*chunks, status="200 OK"):
    def app(environ, start_response):
        start_response(status, JSON)
        yield from chunks
    return app


def error_info():
    try:
        raise RuntimeError("the upstream broke")
    except RuntimeError:
        return sys.exc_info()


def test_forward_hands_back_the_upstream_iterable_itself():
    body = Body([b"one"])
    server = Server()
    held = HeldResponse(eager(body), {})
    assert held.forward(server) is body
    assert server.calls == [("200 OK", JSON, None)]


@pytest.mark.parametrize("app, expected", [
    (eager([b"one", b"two"]), b"onetwo"),
    (lazy(b"one", b"two"), b"onetwo"),
    (lazy(b"", b"one"), b"one"),
    (lazy(), b""),
], ids=["eager", "lazy", "lazy-empty-first-chunk", "lazy-no-body"])
def test_status_and_body_whenever_start_response_is_called(app, expected):
    held = HeldResponse(app, {})
    assert held.status_code == 200
    assert held.header("content-type") == "application/json"
    assert b"".join(held.forward(Server())) == expected


def test_a_lazy_application_is_iterated_only_up_to_its_status():
    pulled = []

    def app(environ, start_response):
        start_response("200 OK", JSON)
        for chunk in (b"one", b"two"):
            pulled.append(chunk)
            yield chunk

    held = HeldResponse(app, {})
    assert pulled == [b"one"]
    assert list(held.chunks()) == [b"one", b"two"]


def test_an_application_yielding_before_its_status_is_read_up_to_it():
    def app(environ, start_response):
        yield b""
        start_response("201 Created", JSON)
        yield b"one"

    held = HeldResponse(app, {})
    assert held.status == "201 Created"
    assert held.read() == b"one"


def test_an_application_never_calling_start_response_is_closed_refused():
    closed = []

    def app(environ, start_response):
        try:
            yield b""
        finally:
            closed.append(True)

    with pytest.raises(RuntimeError, match="did not call start_response"):
        HeldResponse(app, {})
    assert closed == [True]


def test_written_bytes_come_before_the_returned_body():
    def app(environ, start_response):
        write = start_response("200 OK", JSON)
        write(b"one")
        return [b"two"]

    held = HeldResponse(app, {})
    assert held.read() == b"onetwo"


def test_written_bytes_are_forwarded_too():
    def app(environ, start_response):
        start_response("200 OK", JSON)(b"one")
        return Body([b"two"])

    assert b"".join(HeldResponse(app, {}).forward(Server())) == b"onetwo"


def test_read_closes_the_body():
    body = Body([b"one"])
    assert HeldResponse(eager(body), {}).read() == b"one"
    assert body.closed


def test_header_values_in_order_and_any_case():
    held = HeldResponse(eager([], headers=[("Vary", "a"), ("vary", "b")]), {})
    assert held.header_values("VARY") == ["a", "b"]
    assert held.header("Vary") == "a"
    assert held.header("ETag") is None


def test_an_error_answered_while_called_replaces_the_answer_and_goes_on():
    info = error_info()

    def app(environ, start_response):
        start_response("200 OK", JSON)
        start_response("500 Internal Server Error", [], info)
        return [b"sorry"]

    server = Server()
    held = HeldResponse(app, {})
    assert (held.status, held.exc_info) == ("500 Internal Server Error", info)
    assert b"".join(held.forward(server)) == b"sorry"
    assert server.calls == [("500 Internal Server Error", [], info)]


def test_an_error_after_written_bytes_is_raised_as_a_server_would():
    def app(environ, start_response):
        start_response("200 OK", JSON)(b"half")
        start_response("500 Internal Server Error", [], error_info())
        return []

    with pytest.raises(RuntimeError, match="the upstream broke"):
        HeldResponse(app, {})


def test_an_error_part_way_through_a_held_body_is_raised_not_read():
    def app(environ, start_response):
        start_response("200 OK", JSON)
        yield b'{"id": '
        start_response("500 Internal Server Error", [], error_info())
        yield b"sorry"

    held = HeldResponse(app, {})
    with pytest.raises(RuntimeError, match="the upstream broke"):
        held.read()
    assert held.status == "200 OK"


def test_start_response_twice_without_exc_info_once_held_is_an_error():
    def app(environ, start_response):
        start_response("200 OK", JSON)
        yield b"one"
        start_response("200 OK", JSON)
        yield b"two"

    with pytest.raises(AssertionError, match="second time"):
        HeldResponse(app, {}).read()


def test_once_forwarded_start_response_and_write_go_to_the_server():
    info = error_info()

    def app(environ, start_response):
        write = start_response("200 OK", JSON)
        yield b"one"
        start_response("500 Internal Server Error", [], info)
        write(b"two")
        yield b"three"

    server = Server()
    body = HeldResponse(app, {}).forward(server)
    assert list(body) == [b"one", b"three"]
    assert server.calls == [("200 OK", JSON, None),
                            ("500 Internal Server Error", [], info)]
    assert server.written == [b"two"]


def test_closing_a_forwarded_lazy_body_closes_the_upstream_unread():
    closed = []

    def app(environ, start_response):
        start_response("200 OK", JSON)
        try:
            yield b"one"
            yield b"two"
        finally:
            closed.append(True)

    HeldResponse(app, {}).forward(Server()).close()
    assert closed == [True]


def test_without_headers_ignores_case_and_keeps_order():
    headers = [("Content-Length", "3"), ("X-A", "1"), ("ETag", "e"),
               ("X-B", "2")]
    dropped = upstream.FRAMING_HEADERS | upstream.CONTENT_HEADERS
    assert upstream.without_headers(headers, dropped) == [("X-A", "1"),
                                                          ("X-B", "2")]
