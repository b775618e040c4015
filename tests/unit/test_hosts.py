import pytest

from loc_strategy_filter.stores.hosts import (
    HostAllowList, canonical_host, split_host_port)

LOOPBACK_SPELLINGS = {
    "dotted": "127.0.0.1",
    "decimal": "2130706433",
    "hex": "0x7f000001",
    "hex-upper": "0X7F000001",
    "hex-first-part": "0x7f.0.0.1",
    "octal": "0177.0.0.1",
    "octal-padded": "0177.0000.0000.0001",
    "short": "127.1",
    "three-part": "127.0.1",
    "trailing-dot": "127.0.0.1.",
    "other-loopback": "127.0.0.2",
    "ipv6": "[::1]",
    "ipv6-bare": "::1",
    "ipv6-long": "[0:0:0:0:0:0:0:1]",
    "ipv6-padded": "[0000::0001]",
    "ipv4-mapped": "[::ffff:127.0.0.1]",
    "ipv4-mapped-hex": "[::ffff:7f00:1]",
    "unspecified": "0.0.0.0",
    "unspecified-zero": "0",
    "unspecified-ipv6": "[::]",
}


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("10.0x10.258", "10.16.1.2"),
    ("0", "0.0.0.0"),
    ("127.0.0.1.", "127.0.0.1"),
    ("[::1]", "::1"),
    ("[0:0:0:0:0:0:0:1]", "::1"),
    ("[::FFFF:127.0.0.1]", "127.0.0.1"),
    ("[2001:DB8::0001]", "2001:db8::1"),
    ("Images.Example.COM.", "images.example.com"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("store_1", "store_1"),
], ids=["dotted", "decimal", "hex", "hex-part", "octal", "short",
        "mixed-bases", "zero", "trailing-dot", "ipv6", "ipv6-long",
        "ipv4-mapped", "ipv6-case", "name-case-and-dot", "punycode",
        "underscore"])
def test_canonical_host(host, expected):
    assert canonical_host(host) == expected


@pytest.mark.parametrize("host", [
    "", ".", "a..b", "256.0.0.1", "1.2.3.4.5", "127.0.0.0x", "08.0.0.1",
    "0x+7f.0.0.1", "1_0.0.0.1", "127.16777216", "example.123",
    "[fe80::1%25eth0]", "fe80::1%eth0", "[::1", "[not-ipv6]", "bücher.de",
    "ho st", "host/path", "a" * 64 + ".example",
], ids=["empty", "dot", "empty-label", "octet-too-big", "five-parts",
        "bare-0x", "bad-octal", "signed-hex", "underscore-number",
        "short-too-big", "numeric-tld", "zone-id", "zone-id-bare",
        "unclosed-bracket", "bracketed-name", "non-ascii", "space",
        "slash", "label-too-long"])
def test_canonical_host_refuses(host):
    with pytest.raises(ValueError):
        canonical_host(host)


@pytest.mark.parametrize("text, expected", [
    ("host", ("host", None)),
    ("host:8080", ("host", 8080)),
    ("[::1]", ("[::1]", None)),
    ("[::1]:443", ("[::1]", 443)),
    ("::1", ("::1", None)),
], ids=["host", "host-port", "ipv6", "ipv6-port", "bare-ipv6"])
def test_split_host_port(text, expected):
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["host:", "host:0", "host:65536",
                                  "host:http", "[::1]:", "[::1]x"])
def test_split_host_port_refuses_bad_ports(text):
    with pytest.raises(ValueError):
        split_host_port(text)


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS.values(),
                         ids=LOOPBACK_SPELLINGS.keys())
def test_loopback_allowed_in_every_spelling(spelling):
    assert HostAllowList(["127.0.0.1"]).allows(spelling, 80)


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS.values(),
                         ids=LOOPBACK_SPELLINGS.keys())
def test_loopback_refused_in_every_spelling(spelling):
    allowed = HostAllowList(["images.example.com", "10.0.0.1", "[::2]"])
    assert not allowed.allows(spelling, 80)


@pytest.mark.parametrize("entry", ["[::1]", "::1", "2130706433", "localhost"])
def test_any_loopback_entry_allows_loopback_addresses(entry):
    allowed = HostAllowList([entry])
    assert allowed.allows("127.0.0.1", 80) == (entry != "localhost")


@pytest.mark.parametrize("host, port, expected", [
    ("images.example.com", 80, True),
    ("IMAGES.example.com.", 1234, True),
    ("other.example.com", 80, False),
    ("images.example.com.evil", 80, False),
    ("store.example.com", 8080, True),
    ("store.example.com", 80, False),
    ("10.0.0.1", 9292, True),
    ("167772161", 9292, True),
    ("[::ffff:10.0.0.1]", 9292, True),
    ("10.0.0.1", 9293, False),
    ("2001:db8::1", 443, True),
    ("[2001:0db8:0:0:0:0:0:1]", 443, True),
    ("2001:db8::1", 80, False),
    ("localhost", 80, False),
    ("not a host", 80, False),
], ids=["name", "name-spelled-differently", "other-name", "suffix-trick",
        "name-right-port", "name-wrong-port", "ip-right-port",
        "ip-decimal", "ip-mapped", "ip-wrong-port", "ipv6", "ipv6-long",
        "ipv6-wrong-port", "localhost-not-resolved", "garbage"])
def test_allow_list(host, port, expected):
    allowed = HostAllowList(["images.example.com", "store.example.com:8080",
                             "10.0.0.1:9292", "[2001:db8::1]:443"])
    assert allowed.allows(host, port) is expected


@pytest.mark.parametrize("entry", ["", "host:port", "[::1]x", "08.1",
                                   "bücher.de"])
def test_bad_allow_list_entry_fails_at_start_up(entry):
    with pytest.raises(ValueError):
        HostAllowList([entry])


def test_empty_allow_list_allows_nothing():
    assert not HostAllowList([]).allows("127.0.0.1", 80)
