from hypothesis import given
from hypothesis import strategies as st
import pytest

from loc_strategy_filter.download.ranges import ByteRange
from loc_strategy_filter.download.ranges import content_range
from loc_strategy_filter.download.ranges import MultiRange
from loc_strategy_filter.download.ranges import parse_range
from loc_strategy_filter.download.ranges import Unsatisfiable
from loc_strategy_filter.download.ranges import WholeBody


@pytest.mark.parametrize("header, size, expected", [
    ("bytes=0-4", 10, ByteRange(0, 5, 10)),
    ("bytes=2-", 10, ByteRange(2, 10, 10)),
    ("bytes=-3", 10, ByteRange(7, 10, 10)),
    ("bytes=0-0", 10, ByteRange(0, 1, 10)),
    ("bytes=-1", 10, ByteRange(9, 10, 10)),
    ("bytes=9-9", 10, ByteRange(9, 10, 10)),
    ("bytes=0-", 10, ByteRange(0, 10, 10)),
    ("bytes=5-100", 10, ByteRange(5, 10, 10)),
    ("bytes=-100", 10, ByteRange(0, 10, 10)),
    ("bytes=-10", 10, ByteRange(0, 10, 10)),
    ("bytes=0-0", 1, ByteRange(0, 1, 1)),
    ("bytes=007-008", 10, ByteRange(7, 9, 10)),
    ("bytes=3-" + "9" * 30, 10, ByteRange(3, 10, 10)),
    ("bytes=-" + "9" * 5000, 10, ByteRange(0, 10, 10)),
], ids=["first-last", "open-ended", "suffix", "first-byte", "last-byte",
        "last-byte-by-position", "all-from-zero", "last-clamped",
        "suffix-longer-than-object", "suffix-exactly-object",
        "one-byte-object", "leading-zeros", "huge-last", "huge-suffix"])
def test_single_satisfiable_range(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize("header, size", [
    ("bytes=10-", 10),
    ("bytes=10-20", 10),
    ("bytes=" + "9" * 5000 + "-", 10),
    ("bytes=-0", 10),
    ("bytes=0-0", 0),
    ("bytes=0-", 0),
    ("bytes=-1", 0),
], ids=["start-at-end", "start-past-end", "huge-start", "empty-suffix",
        "first-byte-of-empty", "open-ended-of-empty", "suffix-of-empty"])
def test_unsatisfiable_range(header, size):
    assert parse_range(header, size) == Unsatisfiable(size)


@pytest.mark.parametrize("header", [
    None, "", "bytes", "bytes=", "bytes=-", "bytes=,", "bytes=5-4",
    "bytes=a-b", "bytes=1-2-3", "bytes=+1-2", "bytes=1.0-2", "bytes=0x1-2",
    "bytes=١-٢", "bytes 0-4", "=0-4", "items=0-4", "none", "bytes=0-4,5-4",
], ids=["absent", "empty", "no-equals", "no-ranges", "dash-only",
        "empty-elements-only", "last-before-first", "letters",
        "three-numbers", "plus-sign", "decimal", "hex", "non-ascii-digits",
        "no-equals-space", "no-unit", "other-unit", "none-unit",
        "one-invalid-of-two"])
def test_ignored_header_means_whole_body(header):
    assert parse_range(header, 10) == WholeBody()


@pytest.mark.parametrize("header", [
    "bytes=0-1,5-6", "bytes=0-1, -2", "bytes=0-,0-", "bytes=20-30,40-",
], ids=["two-ranges", "with-suffix", "overlapping", "none-satisfiable"])
def test_several_ranges_are_left_to_the_upstream(header):
    assert parse_range(header, 10) == MultiRange()


@pytest.mark.parametrize("header", [
    " bytes=0-4 ", "Bytes=0-4", "BYTES=0-4", "bytes = 0 - 4", "\tbytes=0-4\t",
    "bytes=,0-4", "bytes=0-4, ,", "bytes=0-4 ,",
], ids=["padded", "capitalised", "upper-case", "spaces-inside", "tabs",
        "leading-empty-element", "trailing-empty-elements", "space-comma"])
def test_tolerant_spelling(header):
    assert parse_range(header, 10) == ByteRange(0, 5, 10)


@pytest.mark.parametrize("result, expected", [
    (ByteRange(0, 5, 10), "bytes 0-4/10"),
    (ByteRange(9, 10, 10), "bytes 9-9/10"),
], ids=["range", "last-byte"])
def test_content_range(result, expected):
    assert result.content_range == expected
    assert content_range(result.start, result.stop, result.size) == expected


def test_length():
    assert ByteRange(3, 10, 10).length == 7


@pytest.mark.parametrize("byte_range, whole", [
    (ByteRange(0, 10, 10), True), (ByteRange(0, 9, 10), False),
    (ByteRange(1, 10, 10), False), (ByteRange(0, 0, 0), True),
], ids=["whole", "short", "from-byte-1", "empty"])
def test_whole(byte_range, whole):
    assert byte_range.whole is whole


def test_results_are_frozen():
    with pytest.raises(AttributeError):
        ByteRange(0, 5, 10).start = 1


# -- Against a model written from the RFC's words ---------------------------

def model(first, last, size):
    """``(start, stop)``, "416" or "200" for one range spec."""
    if first is not None and last is not None and last < first:
        return "200"
    if size == 0:
        return "416"
    if first is None:
        wanted = range(size)[-last:] if last else range(0)
    else:
        wanted = range(size)[first:last + 1 if last is not None else None]
    if not wanted:
        return "416"
    return wanted.start, wanted.stop


positions = st.integers(min_value=0, max_value=300)
specs = st.one_of(
    st.tuples(positions, positions),
    st.tuples(positions, st.none()),
    st.tuples(st.none(), positions),
)


def spell(first, last, blank):
    numbers = ["" if n is None else str(n) for n in (first, last)]
    first, last = numbers
    return f"{blank}bytes{blank}={blank}{first}{blank}-{blank}{last}"


@given(size=st.integers(min_value=0, max_value=200), spec=specs,
       blank=st.sampled_from(["", " ", "\t"]))
def test_any_single_range_matches_the_model(size, spec, blank):
    result = parse_range(spell(*spec, blank), size)
    expected = model(*spec, size)
    if expected == "200":
        assert result == WholeBody()
    elif expected == "416":
        assert result == Unsatisfiable(size)
    else:
        assert (result.start, result.stop, result.size) == (*expected, size)
        assert 0 <= result.start < result.stop <= size


@given(size=st.integers(min_value=0, max_value=200),
       header=st.one_of(st.none(), st.text(max_size=30),
                        st.text(alphabet="bytes=0123456789-, \t",
                                max_size=30)))
def test_any_header_gives_a_window_within_the_object(size, header):
    result = parse_range(header, size)
    assert isinstance(result, (WholeBody, ByteRange, Unsatisfiable,
                               MultiRange))
    if isinstance(result, ByteRange):
        assert 0 <= result.start < result.stop <= size == result.size
