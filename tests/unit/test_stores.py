import pytest

from loc_strategy_filter import stores
from loc_strategy_filter.stores.file import FileReader
from loc_strategy_filter.stores.http import HttpReader


def test_the_registered_readers_by_entry_point_name():
    assert stores.reader_classes() == {"file": FileReader, "http": HttpReader}


@pytest.mark.parametrize("reader_class", [FileReader, HttpReader])
def test_a_readers_defaults_live_in_its_options_alone(reader_class):
    for opt in reader_class.OPTIONS:
        others = {other.dest: other.default for other in reader_class.OPTIONS
                  if other is not opt}
        with pytest.raises(TypeError, match=opt.dest):
            reader_class(**others)


def test_a_reader_built_without_values_has_its_options_defaults():
    reader = stores.build_reader(HttpReader)
    assert (reader._connect_timeout, reader._read_timeout,
            reader._deadline) == (5.0, 30.0, (60.0, 1024, 30.0))
    assert not reader.allows("http://127.0.0.1/img")
    assert stores.build_reader(FileReader).dirs == ()


def test_load_readers_by_scheme_with_values_by_reader_name(tmp_path):
    readers = stores.load_readers({"file": {"file_dirs": [str(tmp_path)]}})
    assert sorted(readers) == ["file", "filesystem", "http", "https"]
    assert readers["file"] is readers["filesystem"]
    assert readers["file"].dirs == (str(tmp_path),)
    assert readers["http"] is readers["https"]


def test_load_readers_refuses_values_for_no_reader():
    with pytest.raises(ValueError, match="'rdb'"):
        stores.load_readers({"rdb": {"pool": "images"}})


def test_a_bad_value_fails_in_the_reader_naming_option_and_value():
    with pytest.raises(stores.InvalidReaderOption) as raised:
        stores.build_reader(HttpReader, http_allowed_hosts=[
            "mirror.example.com", "mirror.example.com/images"])
    assert isinstance(raised.value, ValueError)
    assert (raised.value.option, raised.value.value) == (
        "http_allowed_hosts", "mirror.example.com, mirror.example.com/images")
    assert str(raised.value).startswith(
        "Invalid value 'mirror.example.com, mirror.example.com/images' for "
        "option http_allowed_hosts: 'mirror.example.com/images': ")


class _Claims:
    def __init__(self, *schemes):
        self.schemes = schemes


def test_two_readers_of_one_scheme_are_a_packaging_mistake():
    first, second = _Claims("s3", "S3+HTTPS"), _Claims("s3+https")
    assert stores.by_scheme([first]) == {"s3": first, "s3+https": first}
    with pytest.raises(ValueError, match="'s3\\+https'"):
        stores.by_scheme([first, second])


@pytest.mark.parametrize("url, scheme", [
    ("file:///srv/images/x", "file"),
    ("HTTP://mirror/x", "http"),
    ("rbd://fsid/pool/image/snap", None),
    ("no scheme", None),
    (None, None),
], ids=["file", "scheme-case", "no-reader", "no-scheme", "not-a-string"])
def test_reader_for_a_url(url, scheme):
    readers = {"file": "file reader", "http": "http reader"}
    assert stores.reader_for(readers, url) == readers.get(scheme)
