import pytest

from loc_strategy_filter.redaction import redact_url


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
], ids=["plain", "userinfo", "slash-and-at-in-secret", "s3-key",
        "rbd", "file", "no-scheme", "presigned-query", "userinfo-and-query"])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("secret", ["p@ss/w:rd", "pa?ss", "p?a@s/s#"])
def test_redacted_url_never_contains_the_secret(secret):
    redacted = redact_url(f"http://user:{secret}@host/x?sig=1")
    assert redacted == "http://***@host/x?***"
    assert "user" not in redacted
