import logging

import pytest

from loc_strategy_filter import locations
from loc_strategy_filter.redaction import RedactingFilter
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


@pytest.fixture(params=["file", "http"])
def allowed(request, tmp_path):
    """A reader, and a URL its allow-list admits."""
    if request.param == "file":
        (tmp_path / "img").write_bytes(b"image")
        return (stores.build_reader(FileReader, file_dirs=[str(tmp_path)]),
                f"file://{tmp_path}/img")
    # Port 9 (discard): a read that got through would fail, not be refused.
    return (stores.build_reader(HttpReader,
                                http_allowed_hosts=["127.0.0.1:9"]),
            "http://127.0.0.1:9/img")


# Spellings of an allowed URL that ``locations.scheme_of`` (so
# ``reader_for``) may still read as the reader's scheme, or that
# urllib.parse would quietly clean up (it strips leading C0 controls and
# space, and drops every tab and newline): refused, with no I/O.
ODD_SPELLINGS = {
    "leading-space": lambda url: f" {url}",
    "leading-tab": lambda url: f"\t{url}",
    "leading-newline": lambda url: f"\n{url}",
    "leading-nul": lambda url: f"\x00{url}",
    "leading-no-break-space": lambda url: f"\u00a0{url}",
    "trailing-space": lambda url: f"{url} ",
    "space-before-colon": lambda url: url.replace("://", " ://", 1),
    "space-before-colon-one-slash": lambda url: url.replace("://", " :/", 1),
    "tab-in-scheme": lambda url: f"{url[:2]}\t{url[2:]}",
    "tab-after-scheme": lambda url: url.replace("://", "://\t", 1),
}


@pytest.mark.parametrize("spelling", ODD_SPELLINGS.values(),
                         ids=ODD_SPELLINGS.keys())
def test_odd_spellings_of_an_allowed_url_are_refused(allowed, spelling):
    reader, url = allowed
    assert reader.allows(url)
    assert not reader.allows(spelling(url))
    with pytest.raises(stores.ReadRefused):
        reader.open(spelling(url))


def test_load_readers_by_scheme_with_values_by_reader_name(tmp_path):
    readers = stores.load_readers({"file": {"file_dirs": [str(tmp_path)]}})
    assert sorted(readers) == ["file", "filesystem", "http", "https"]
    assert readers["file"] is readers["filesystem"]
    assert readers["file"].dirs == (str(tmp_path),)
    assert readers["http"] is readers["https"]


@pytest.fixture
def unredacted(monkeypatch):
    """urllib3's loggers and ours, without the redaction earlier tests put
    on them.
    """
    names = [name for name in logging.Logger.manager.loggerDict
             if name.partition(".")[0] in ("urllib3", "loc_strategy_filter")]
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        monkeypatch.setattr(logger, "filters", [
            f for f in logger.filters if not isinstance(f, RedactingFilter)])
    return loggers


def test_load_readers_puts_the_log_redaction_on(unredacted, caplog):
    assert unredacted  # urllib3 and the readers' modules are imported
    stores.load_readers()
    for logger in unredacted:
        assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            "Starting new HTTP connection (1): %s",
            "http://user:secret@mirror/x")
    assert "secret" not in caplog.text and "mirror/x" in caplog.text


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
    (" http://mirror/x", "http"),
    ("\thttp://mirror/x", "http"),
    ("http :/mirror/x", "http"),
    ("rbd://fsid/pool/image/snap", None),
    ("no scheme", None),
    (None, None),
], ids=["file", "scheme-case", "leading-space", "leading-tab",
        "space-before-colon", "no-reader", "no-scheme", "not-a-string"])
def test_reader_for_a_url(url, scheme):
    """The reader of the scheme ``locations.scheme_of`` reads, as the store
    type does; whether it may read the URL is its ``allows``.
    """
    readers = {"file": "file reader", "http": "http reader"}
    assert stores.reader_for(readers, url) == readers.get(scheme)
    if scheme is not None:
        assert locations.store_type_of(url) == scheme
