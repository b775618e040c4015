"""orjson as the rewriter's fast path: the outcome of every body is the
standard library's, and without orjson the standard library does it all.
"""

import importlib
import json
import sys

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
import pytest

from loc_strategy_filter import json_codec
from loc_strategy_filter import rewrite
from loc_strategy_filter.routes import Shape
from loc_strategy_filter.settings import Settings

from tests.json_backends import BACKENDS  # noqa: F401

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"


def reverse(locations, requester=None):
    return locations[::-1]


SHOWN = Settings(strategy="reverse", order=reverse)
HIDDEN = Settings(strategy="reverse", order=reverse, hide_locations=True)
IMAGE = ('{"id": "a", "direct_url": "%s", "locations": [{"url": "%s", '
         '"metadata": {}}, {"url": "%s", "metadata": {}}]' % (
             FILE_URL, FILE_URL, HTTP_URL))


def image_with(extra):
    """An image body with the JSON text ``extra`` as its "x" member."""
    return (IMAGE + ', "x": ' + extra + "}").encode()


def nested(depth):
    """Lists ``depth`` deep: in an image, one more."""
    return "[" * depth + "]" * depth


# Bodies orjson reads otherwise than the standard library, or not at all.
EDGES = {
    "beyond a float": image_with("1e400"),
    "beyond a float, negative": image_with("-1e400"),
    "below a float": image_with("1e-400"),
    "largest float": image_with("1.7976931348623157e308"),
    "2**64": image_with(str(2 ** 64)),
    "2**64 - 1": image_with(str(2 ** 64 - 1)),
    "-2**63 - 1": image_with(str(-2 ** 63 - 1)),
    "-2**63": image_with(str(-2 ** 63)),
    "18 digits": image_with(str(10 ** 18 - 1)),
    "18 digits, negative": image_with(str(1 - 10 ** 18)),
    "30 digits": image_with("1" * 30),
    "5000 digits": image_with("1" * 5000),
    "19 digits in a list": image_with("[1, " + "9" * 19 + "]"),
    "19 digits without spaces": image_with('{"n":' + "9" * 19 + "}"),
    "19 hex digits in a string": image_with('"' + "1" * 19 + 'abc"'),
    "a long integer alone": str(2 ** 70).encode(),
    "duplicate keys": image_with('{"k": 1, "j": 2, "k": 3}'),
    "duplicate locations": (IMAGE + ', "locations": [{"url": "%s", '
                            '"metadata": {}}]}' % HTTP_URL).encode(),
    "lone high surrogate": image_with(r'"\ud800"'),
    "lone low surrogate": image_with(r'"\udc00x"'),
    "a surrogate pair": image_with(r'"\ud83d\ude00"'),
    "an encoded surrogate": image_with('"').rstrip(b"}") + b'\xed\xa0\x80"}',
    "non-ASCII": image_with('"\u00e9\u20ac\U0001f600"'),
    "a line separator": image_with('"\u2028"'),
    "byte-order mark": b"\xef\xbb\xbf" + image_with("1"),
    "UTF-16": image_with("1").decode().encode("utf-16"),
    "UTF-16-LE": image_with("1").decode().encode("utf-16-le"),
    "UTF-32": image_with("1").decode().encode("utf-32"),
    "NaN": image_with("NaN"),
    "Infinity": image_with("-Infinity"),
    "trailing data": image_with("1") + b" {}",
    "a control character": image_with('"a\x01"'),
    "nested 254": image_with(nested(253)),
    "nested 255": image_with(nested(254)),
    "nested 900": image_with(nested(899)),
    "nested 1024": image_with(nested(1023)),
    "nested 1025": image_with(nested(1024)),
    "escaped locations key": image_with('{"\\u006cocations": []}'),
    "minus zero": image_with("[-0, -0.0, 0.1, 1E5, 1e16, 5e-324]"),
    "empty": b"",
    "a number alone": b"7",
}
SETTINGS = {"shown": SHOWN, "hidden": HIDDEN}


def outcome(call):
    """What ``call()`` gives, comparable between backends: the document
    of the body it returns (None for none), or the error it raises.
    """
    try:
        new_body = call()
    except rewrite.UnusableBody as exc:
        return "unusable", str(exc)
    except (TypeError, KeyError) as exc:
        return type(exc).__name__, str(exc)
    if new_body is None:
        return None
    return "body", repr(json.loads(new_body, parse_constant=pytest.fail))


def outcomes(body, shape, settings, monkeypatch):
    """The outcomes of rewrite_body and hidden_unordered with each
    backend.
    """
    results = {}
    for backend in BACKENDS:
        with monkeypatch.context() as patched:
            if backend == "stdlib":
                patched.setattr(json_codec, "orjson", None)
            results[backend] = (
                outcome(lambda: rewrite.rewrite_body(body, shape, settings)),
                outcome(lambda: rewrite.hidden_unordered(body, shape)))
    return results


@pytest.mark.parametrize("name", EDGES)
@pytest.mark.parametrize("hide", SETTINGS)
def test_both_backends_give_every_edge_the_same_outcome(name, hide,
                                                        monkeypatch):
    if not json_codec.available():
        pytest.skip("orjson is not installed")
    results = outcomes(EDGES[name], Shape.IMAGE, SETTINGS[hide], monkeypatch)
    assert results["orjson"] == results["stdlib"]


@pytest.mark.parametrize("name", [
    "beyond a float", "beyond a float, negative", "2**64", "-2**63 - 1",
    "2**64 - 1", "-2**63", "18 digits, negative",  # 19 with the sign
    "30 digits", "5000 digits", "19 digits in a list",
    "19 digits without spaces", "a long integer alone",
    "lone high surrogate", "lone low surrogate", "an encoded surrogate",
    "byte-order mark", "UTF-16", "UTF-16-LE", "UTF-32", "NaN", "Infinity",
    "nested 255", "nested 900", "nested 1024", "nested 1025", "empty"])
def test_orjson_leaves_what_it_reads_otherwise_to_the_standard_library(name):
    if not json_codec.available():
        pytest.skip("orjson is not installed")
    assert json_codec.document_of(EDGES[name]) is None


@pytest.mark.parametrize("name", [
    "below a float", "largest float", "18 digits",
    "19 hex digits in a string", "duplicate keys", "a surrogate pair",
    "non-ASCII", "nested 254", "minus zero", "escaped locations key"])
def test_orjson_reads_what_it_reads_as_the_standard_library(name):
    if not json_codec.available():
        pytest.skip("orjson is not installed")
    body = EDGES[name]
    assert repr(json_codec.document_of(body)) == repr(json.loads(body))


def test_a_document_the_decoder_has_no_room_for_here_is_left_to_it(
        monkeypatch):
    if not json_codec.available():
        pytest.skip("orjson is not installed")
    body = image_with(nested(100))
    assert json_codec.document_of(body) is not None
    monkeypatch.setattr(sys, "getrecursionlimit", lambda: 300)
    assert json_codec.document_of(body) is None


# Whatever orjson reads is what the standard library reads.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False)
    | st.integers() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
    | st.text(), lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12)


@given(value=JSON_VALUES, ensure_ascii=st.booleans(), compact=st.booleans())
@hypothesis_settings(max_examples=300)
def test_orjson_reads_any_json_as_the_standard_library_or_not_at_all(
        value, ensure_ascii, compact):
    text = json.dumps(value, ensure_ascii=ensure_ascii,
                      separators=(",", ":") if compact else None)
    body = text.encode("utf-8", "surrogatepass")
    document = json_codec.document_of(body)
    if document is not None:
        assert repr(document) == repr(json.loads(text))


@given(digits=st.text("0123456789-.eE+", min_size=1, max_size=30))
def test_orjson_reads_any_number_as_the_standard_library_or_not_at_all(
        digits):
    body = f'{{"n": {digits}}}'.encode()
    try:
        expected = repr(json.loads(body))
    except ValueError:
        expected = None
    document = json_codec.document_of(body)
    if document is not None:
        assert repr(document) == expected


def test_a_strategys_own_objects_are_written_by_the_standard_library(
        json_backend):
    def infinite(locations, requester=None):
        return [{"url": HTTP_URL, "metadata": {"size": float("inf")}}]

    for hide in (False, True):
        settings = Settings(strategy="infinite", order=infinite,
                            hide_locations=hide)
        body = (IMAGE + "}").encode()
        if hide:  # the location is hidden, direct_url is the strategy's
            new = json.loads(rewrite.rewrite_body(body, Shape.IMAGE,
                                                  settings))
            assert new["direct_url"] == HTTP_URL
        else:  # never written as null
            with pytest.raises(rewrite.UnusableBody, match="beyond a float"):
                rewrite.rewrite_body(body, Shape.IMAGE, settings)
        with pytest.raises(rewrite.UnusableBody, match="beyond a float"):
            rewrite.rewrite_body(b"[" + IMAGE.split('"locations": [')[1]
                                 .rsplit("]", 1)[0].encode() + b"]",
                                 Shape.LOCATIONS, settings)


def test_the_backend_switch_is_real(json_backend):
    new = rewrite.rewrite_body((IMAGE + "}").encode(), Shape.IMAGE, SHOWN)
    assert json.loads(new)["direct_url"] == HTTP_URL
    # orjson writes compact JSON, the standard library spaced.
    assert (b'"id":"a"' in new) is (json_backend == "orjson")
    assert (b'"id": "a"' in new) is (json_backend == "stdlib")


def test_hidden_locations_are_looked_for_as_each_backend_writes_them(
        json_backend):
    body = ('{"id": "a", "x": [%s}]}' % IMAGE).encode()
    with pytest.raises(rewrite.UnusableBody, match="no image is expected"):
        rewrite.rewrite_body(body, Shape.IMAGE, HIDDEN)


@pytest.fixture
def without_orjson(monkeypatch):
    """json_codec imported where orjson cannot be imported."""
    monkeypatch.setitem(sys.modules, "orjson", None)
    yield importlib.reload(json_codec)
    monkeypatch.undo()
    importlib.reload(json_codec)


def test_without_orjson_the_standard_library_reads_and_writes(without_orjson):
    assert without_orjson.orjson is None and not without_orjson.available()
    body = (IMAGE + "}").encode()
    assert without_orjson.document_of(body) is None
    assert without_orjson.bytes_of({"a": 1}) is None
    new = rewrite.rewrite_body(body, Shape.IMAGE, SHOWN)
    assert json.loads(new)["direct_url"] == HTTP_URL
    assert b'"id": "a"' in new  # the standard library's format
