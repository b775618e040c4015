import builtins
import os

import pytest

from loc_strategy_filter.stores.file import FileReader
from loc_strategy_filter.stores import InvalidReaderOption
from loc_strategy_filter.stores import ReadFailed
from loc_strategy_filter.stores import ReadRefused

DATA = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable
SECRET = b"outside the allowed dirs"


@pytest.fixture
def tree(tmp_path):
    """An allowed root ``images`` beside a forbidden ``outside``."""
    root = tmp_path / "images"
    outside = tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "img").write_bytes(DATA)
    (root / "sub" / "nested").write_bytes(b"nested")
    (outside / "secret").write_bytes(SECRET)
    (root / "link-in").symlink_to(root / "img")
    (root / "link-out").symlink_to(outside / "secret")
    (root / "dir-link").symlink_to(outside)
    (root / "relative-link").symlink_to("../outside/secret")
    os.mkfifo(root / "fifo")
    return tmp_path


@pytest.fixture
def reader(tree):
    return FileReader(file_dirs=[str(tree / "images")], chunk_size=1000)


@pytest.fixture
def no_open(monkeypatch):
    """Make any open of a file fail the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"opened {args[0]!r}")
    monkeypatch.setattr(os, "open", forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)


def read_all(source):
    try:
        return b"".join(source.chunks())
    finally:
        source.close()


REFUSED = {
    "outside-dir": "file://{tree}/outside/secret",
    "dot-dot": "file://{tree}/images/../outside/secret",
    "dot-dot-nested": "file://{tree}/images/sub/../../outside/secret",
    "dot-dot-staying-inside": "file://{tree}/images/sub/../img",
    "symlink-out": "file://{tree}/images/link-out",
    "relative-symlink-out": "file://{tree}/images/relative-link",
    "through-dir-symlink": "file://{tree}/images/dir-link/secret",
    "localhost": "file://localhost{tree}/images/img",
    "remote-host": "file://evil.example{tree}/images/img",
    "userinfo": "file://user@{tree}/images/img",
    "relative-glance-style": "file://images/img",
    "relative-path": "file:images/img",
    "single-slash": "file:{tree}/images/img",
    "nul-byte": "file://{tree}/images/img\x00.txt",
    "newline": "file://{tree}/images/img\n",
    "trailing-space": "file://{tree}/images/img ",
    "query": "file://{tree}/images/img?x=1",
    "fragment": "file://{tree}/images/img#x",
    "parameter": "file://{tree}/images/img;x",
    "directory": "file://{tree}/images/sub",
    "root-itself": "file://{tree}/images/",
    "fifo": "file://{tree}/images/fifo",
    "other-scheme": "http://{tree}/images/img",
    "prefix-sibling": "file://{tree}/images-other/img",
}


@pytest.mark.parametrize("url", REFUSED.values(), ids=REFUSED.keys())
def test_refused_without_opening(reader, tree, no_open, url):
    (tree / "images-other").mkdir(exist_ok=True)
    with pytest.raises(ReadRefused):
        reader.open(url.format(tree=tree))


def test_character_device_refused(no_open):
    reader = FileReader(file_dirs=["/dev"])
    with pytest.raises(ReadRefused):
        reader.open("file:///dev/zero")


def test_no_file_dirs_refuses_everything(tree, no_open):
    with pytest.raises(ReadRefused):
        FileReader(file_dirs=[]).open(f"file://{tree}/images/img")


def test_relative_file_dir_fails_at_start_up():
    with pytest.raises(InvalidReaderOption) as raised:
        FileReader(file_dirs=["/srv/images", "images"])
    assert isinstance(raised.value, ValueError)
    assert (raised.value.option, raised.value.value) == ("file_dirs", "images")


@pytest.mark.parametrize("url, expected", [
    ("file://{tree}/images/img", DATA),
    ("filesystem://{tree}/images/img", DATA),
    ("FILE://{tree}/images/img", DATA),
    ("file://{tree}/images/link-in", DATA),
    ("file://{tree}/images/sub/nested", b"nested"),
    ("file://{tree}//images/./sub/nested", b"nested"),
], ids=["file", "filesystem", "scheme-case", "symlink-inside",
        "nested", "redundant-separators"])
def test_reads_allowed_file(reader, tree, url, expected):
    assert read_all(reader.open(url.format(tree=tree))) == expected


def test_allowed_dir_given_through_a_symlink(tree):
    (tree / "alias").symlink_to(tree / "images")
    reader = FileReader(file_dirs=[str(tree / "alias")])
    assert read_all(reader.open(f"file://{tree}/alias/img")) == DATA


def test_percent_encoding_is_a_literal_name(reader, tree):
    literal = tree / "images" / "%2e%2e" / "outside"
    literal.mkdir(parents=True)
    (literal / "secret").write_bytes(b"literal")
    url = f"file://{tree}/images/%2e%2e/outside/secret"
    assert read_all(reader.open(url)) == b"literal"


@pytest.mark.parametrize("path", [
    "%2e%2e/outside/secret", "%2E%2E%2Foutside%2Fsecret",
    "..%2f..%2foutside/secret", "img%00",
], ids=["dot-dot", "dot-dot-slash-upper", "encoded-slash", "encoded-nul"])
def test_percent_encoding_cannot_escape(reader, tree, path):
    with pytest.raises(ReadFailed, match="No such file"):
        reader.open(f"file://{tree}/images/{path}")


@pytest.mark.parametrize("start, stop", [
    (0, None), (0, 1), (0, 1000), (0, 1001), (1, 2), (999, 2001),
    (10239, None), (10239, 10240), (5000, None), (10240, None),
    (10240, 10240), (7, 7),
], ids=lambda value: str(value))
def test_ranges_are_exact(reader, tree, start, stop):
    source = reader.open(f"file://{tree}/images/img", start, stop)
    chunks = list(source.chunks())
    source.close()
    assert b"".join(chunks) == DATA[start:stop]
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)
    assert source.size == len(DATA)


@pytest.mark.parametrize("start, stop", [(10241, None), (0, 10241),
                                         (10241, 10242)],
                         ids=["start-past-end", "stop-past-end", "both"])
def test_range_beyond_the_file_fails(reader, tree, start, stop):
    with pytest.raises(ReadFailed):
        reader.open(f"file://{tree}/images/img", start, stop)


@pytest.mark.parametrize("start, stop", [(-1, None), (5, 4)],
                         ids=["negative", "reversed"])
def test_bad_range_is_a_programming_error(reader, tree, start, stop):
    with pytest.raises(ValueError):
        reader.open(f"file://{tree}/images/img", start, stop)


def test_file_object_is_positioned_for_sendfile(reader, tree):
    source = reader.open(f"file://{tree}/images/img", 100, 300)
    try:
        assert os.lseek(source.file_object.fileno(), 0, os.SEEK_CUR) == 100
        assert source.file_object.read(200) == DATA[100:300]
    finally:
        source.close()
    assert source.file_object.closed


def test_truncated_mid_stream_fails(reader, tree):
    source = reader.open(f"file://{tree}/images/img")
    chunks = source.chunks()
    assert next(chunks) == DATA[:1000]
    os.truncate(tree / "images" / "img", 1500)
    assert next(chunks) == DATA[1000:1500]
    with pytest.raises(ReadFailed, match="truncated"):
        next(chunks)
    source.close()


def test_growing_file_serves_only_the_size_at_open(reader, tree):
    source = reader.open(f"file://{tree}/images/img")
    with open(tree / "images" / "img", "ab") as grow:
        grow.write(b"appended")
    assert read_all(source) == DATA


def test_missing_file_fails(reader, tree):
    with pytest.raises(ReadFailed):
        reader.open(f"file://{tree}/images/missing")


def swap_after_check(monkeypatch, swap):
    """Run ``swap`` after the path is checked, just before it is opened."""
    real_open = os.open

    def swap_then_open(*args, **kwargs):
        monkeypatch.setattr(os, "open", real_open)
        swap()
        return real_open(*args, **kwargs)
    monkeypatch.setattr(os, "open", swap_then_open)


def test_file_swapped_for_symlink_after_check_fails(reader, tree,
                                                    monkeypatch):
    img = tree / "images" / "img"

    def swap():
        img.unlink()
        img.symlink_to(tree / "outside" / "secret")
    swap_after_check(monkeypatch, swap)
    with pytest.raises(ReadFailed):
        reader.open(f"file://{img}")


def test_directory_swapped_for_symlink_after_check_fails(reader, tree,
                                                         monkeypatch):
    (tree / "outside" / "nested").write_bytes(SECRET)
    sub = tree / "images" / "sub"

    def swap():
        sub.rename(tree / "moved")
        sub.symlink_to(tree / "outside")
    swap_after_check(monkeypatch, swap)
    with pytest.raises(ReadFailed):
        reader.open(f"file://{sub}/nested")


def test_fifo_swapped_in_after_check_does_not_hang(reader, tree,
                                                   monkeypatch):
    img = tree / "images" / "img"

    def swap():
        img.unlink()
        os.mkfifo(img)
    swap_after_check(monkeypatch, swap)
    with pytest.raises(ReadFailed, match="non-regular"):
        reader.open(f"file://{img}")


def test_close_twice_is_safe(reader, tree):
    source = reader.open(f"file://{tree}/images/img")
    source.close()
    source.close()


@pytest.mark.parametrize("name, allowed", [
    ("images/img", True), ("images/sub/nested", True),
    ("images/link-out", True), ("outside/secret", False),
    ("images/../outside/secret", False), ("imagesX/img", False),
], ids=["file", "nested", "link-is-lexically-inside", "outside", "dot-dot",
        "sibling-prefix"])
def test_allows_is_lexical_and_touches_no_file(tree, reader, monkeypatch,
                                               name, allowed):
    def touched(*args, **kwargs):
        raise AssertionError(f"file system touched: {args[0]!r}")

    for function in ("lstat", "stat", "open", "readlink"):
        monkeypatch.setattr(os, function, touched)
    assert reader.allows(f"file://{tree}/{name}") is allowed


def test_a_link_allowed_lexically_is_still_refused_by_open(tree, reader):
    assert reader.allows(f"file://{tree}/images/link-out")
    with pytest.raises(ReadRefused):
        reader.open(f"file://{tree}/images/link-out")


@pytest.mark.parametrize("url", [
    "file://host/etc/passwd", "http://example.com/x", "file:relative"])
def test_allows_refuses_urls_that_are_not_local_paths(reader, url):
    assert reader.allows(url) is False
