import logging
import string

from hypothesis import given
from hypothesis import strategies as st
import pytest
import urllib3

from loc_strategy_filter.redaction import redact_logs_of
from loc_strategy_filter.redaction import redact_text
from loc_strategy_filter.redaction import redact_url
from loc_strategy_filter.redaction import RedactingFilter
from tests.log_doubles import capturing_root
from tests.log_doubles import colonless_header_server


@pytest.mark.parametrize("url, expected", [
    ("http://host/path", "http://host/path"),
    ("swift+https://user:secret@keystone/v3/c/o",
     "swift+https://***@keystone/v3/c/o"),
    ("swift+https://tenant:user:se/cr@et@keystone/c/o",
     "swift+https://***@keystone/c/o"),
    ("s3://AKIA:ab/cd+ef@s3.example.com/bucket/key",
     "s3://***@s3.example.com/bucket/key"),
    ("rbd://fsid/pool/image/snap", "rbd://fsid/pool/image/snap"),
    ("file:///srv/images/x", "file:///srv/images/x"),
    ("not a url@all", "not a url@all"),
    ("https://s3.example.com/b/k?X-Amz-Signature=abc&X-Amz-Credential=d",
     "https://s3.example.com/b/k?***"),
    ("swift+https://u:p@sw/v1/c/o?temp_url_sig=abc",
     "swift+https://***@sw/v1/c/o?***"),
    ("https://h/b/k?sig=abc@def", "https://***"),
], ids=["plain", "userinfo", "slash-and-at-in-secret", "s3-key",
        "rbd", "file", "no-scheme", "presigned-query", "userinfo-and-query",
        "at-in-query"])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("secret, expected", [
    ("p@ss/w:rd", "http://***@host/x?***"),
    ("pa?ss", "http://***"),
    ("p?a@s/s#", "http://***"),
], ids=["at-slash-colon", "question-mark", "all"])
def test_redacted_url_never_contains_the_secret(secret, expected):
    redacted = redact_url(f"http://user:{secret}@host/x?sig=1")
    assert redacted == expected
    assert "user" not in redacted


@pytest.mark.parametrize("text, expected", [
    ('127.0.0.1:80 "GET /image?X-Amz-Signature=s HTTP/1.1" 200 5',
     '127.0.0.1:80 "GET /image?*** HTTP/1.1" 200 5'),
    ("Failed to parse headers (url=http://h:1/image?sig=s): defect",
     "Failed to parse headers (url=http://h:1/image?*** defect"),
    ("failed: {'url': 'https://u:p@h/x?sig=1'}",
     "failed: {'url': 'https://***@h/x?***"),
    ("nonnumeric port: 's3cr3t@127.0.0.1'", "nonnumeric port: ***@127.0.0.1'"),
    ("location 1 (http://***@h:1/image?***) failed: "
     "http://***@h:1/image?***: HTTP 500",
     "location 1 (http://***@h:1/image?***) failed: "
     "http://***@h:1/image?***: HTTP 500"),
    ("(***@host/x?***)", "(***@host/x?***)"),
    ("Upstream refused ?prefer=fast (400)",
     "Upstream refused ?prefer=fast (400)"),
    ("why? because", "why? because"),
    ("no secrets here", "no secrets here"),
], ids=["request-line", "header-warning", "repr-of-dict", "netloc-in-error",
        "already-redacted", "already-redacted-bare", "bare-query-word",
        "question", "plain"])
def test_redact_text(text, expected):
    assert redact_text(text) == expected
    assert redact_text(expected) == expected


URL_CHARS = string.ascii_letters + string.digits + string.punctuation


@given(st.text(URL_CHARS, max_size=12), st.text(URL_CHARS, max_size=12),
       st.sampled_from(["{}", "({})", "'{}'", "url={},", "x {} y"]))
def test_a_secret_never_survives_redaction(middle, other, context):
    secret = f"s3cr3t{middle}s3cr3t"
    for url in (f"http://user:{secret}@h/x?sig={other}",
                f"http://h/x?sig={secret}&a={other}",
                f"swift+https://{other}:{secret}@h/x?sig={secret}"):
        assert "s3cr3t" not in redact_url(url)
        assert "s3cr3t" not in redact_text(context.format(url))


@pytest.fixture
def captured():
    with capturing_root() as handler:
        yield handler


def test_filter_redacts_message_args_and_traceback(captured):
    logger = logging.getLogger("tests.redaction.module")
    redact_logs_of("tests.redaction")
    try:
        raise ValueError("netloc 'user:s3cr3t@h' is bad")
    except ValueError:
        logger.exception("GET %s failed", "/x?sig=s3cr3t")
    logger.info("%d%% of %s", 50, "nothing secret")
    assert "s3cr3t" not in "".join(captured.texts)
    assert "GET /x?*** failed" in captured.texts[0]
    assert "ValueError: netloc ***@h' is bad" in captured.texts[0]
    assert captured.texts[1].endswith("50% of nothing secret")


def test_filter_keeps_records_without_secrets_untouched():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", ("a",),
                               None)
    assert RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("%s", ("a",))


def test_filter_is_installed_once_on_every_child():
    redact_logs_of("urllib3")
    redact_logs_of("urllib3")
    for name in ("urllib3", "urllib3.connectionpool", "urllib3.connection",
                 "urllib3.response"):
        filters = logging.getLogger(name).filters
        assert len([f for f in filters if isinstance(f, RedactingFilter)]) == 1


@pytest.fixture
def colonless_server():
    server = colonless_header_server(b"ok")
    yield server.port
    server.stop()


def test_urllib3_request_line_and_header_warning_are_redacted(
        captured, colonless_server):
    redact_logs_of("urllib3")
    pool = urllib3.HTTPConnectionPool("127.0.0.1", colonless_server,
                                      retries=False)
    response = pool.urlopen("GET", "/image?X-Amz-Signature=s3cr3tsig",
                            preload_content=True)
    pool.close()
    assert response.status == 200
    text = "\n".join(captured.texts)
    assert "Failed to parse headers" in text, text
    assert '"GET /image?*** HTTP/1.1" 200' in text, text
    assert "s3cr3t" not in text


@pytest.mark.parametrize("text", [
    "b'GET /x HTTP/1.1 | Authorization: Basic dXNlcjpzM2NyM3Q= | Via: 1.1'",
    "{'Authorization': 'Basic dXNlcjpzM2NyM3Q='}",
    "proxy-authorization=dXNlcjpzM2NyM3Q=",
], ids=["echoed request", "header dict", "proxy"])
def test_a_quoted_authorization_header_is_redacted(text):
    redacted = redact_text(text)
    assert "dXNlcjpzM2NyM3Q=" not in redacted
    assert "***" in redacted and redact_text(redacted) == redacted
