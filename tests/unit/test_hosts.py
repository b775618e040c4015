import ipaddress

from hypothesis import given
from hypothesis import strategies as st
import pytest

from loc_strategy_filter.stores.hosts import canonical_host
from loc_strategy_filter.stores.hosts import HostAllowList
from loc_strategy_filter.stores.hosts import split_host_port

# 127.0.0.1, and only it.
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
    "ipv4-mapped": "[::ffff:127.0.0.1]",
    "ipv4-mapped-bare": "::ffff:127.0.0.1",
    "ipv4-mapped-hex": "[::ffff:7f00:1]",
    "ipv4-mapped-long": "[0:0:0:0:0:ffff:7f00:0001]",
}
# Addresses that reach this machine too, none of them 127.0.0.1.
OTHER_LOCAL_SPELLINGS = {
    "other-loopback": "127.0.0.2",
    "other-loopback-short": "127.2",
    "other-loopback-decimal": "2130706434",
    "other-loopback-mapped": "[::ffff:127.0.0.2]",
    "loopback-net-top": "127.255.255.254",
    "ipv6": "[::1]",
    "ipv6-bare": "::1",
    "ipv6-long": "[0:0:0:0:0:0:0:1]",
    "ipv6-padded": "[0000::0001]",
    "ipv4-compatible": "[::127.0.0.1]",
    "unspecified": "0.0.0.0",
    "unspecified-zero": "0",
    "unspecified-hex": "0x0",
    "unspecified-mapped": "[::ffff:0.0.0.0]",
    "unspecified-ipv6": "[::]",
    "unspecified-ipv6-long": "[0:0:0:0:0:0:0:0]",
    "localhost-by-name": "localhost",
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
def test_an_entry_allows_its_address_in_every_spelling(spelling):
    assert HostAllowList(["127.0.0.1"]).allows(spelling, 80)


@pytest.mark.parametrize("spelling", OTHER_LOCAL_SPELLINGS.values(),
                         ids=OTHER_LOCAL_SPELLINGS.keys())
def test_an_entry_allows_no_other_local_address(spelling):
    assert not HostAllowList(["127.0.0.1"]).allows(spelling, 80)


ALL_LOCAL_SPELLINGS = {**LOOPBACK_SPELLINGS, **OTHER_LOCAL_SPELLINGS}


@pytest.mark.parametrize("spelling", ALL_LOCAL_SPELLINGS.values(),
                         ids=ALL_LOCAL_SPELLINGS.keys())
def test_local_addresses_refused_unless_named(spelling):
    allowed = HostAllowList(["images.example.com", "10.0.0.1", "[::2]"])
    assert not allowed.allows(spelling, 80)


@pytest.mark.parametrize("entry, host, expected", [
    ("127.0.0.2", "127.0.0.2", True),
    ("127.0.0.2", "127.0.0.1", False),
    ("2130706433", "127.0.0.1", True),
    ("2130706433", "127.0.0.2", False),
    ("[::ffff:127.0.0.1]", "127.1", True),
    ("[::1]", "::1", True),
    ("[::1]", "127.0.0.1", False),
    ("::1", "[::ffff:127.0.0.1]", False),
    ("0.0.0.0", "0", True),
    ("0.0.0.0", "127.0.0.1", False),
    ("0.0.0.0", "[::]", False),
    ("[::]", "[0:0::0]", True),
    ("[::]", "0.0.0.0", False),
    ("[::]", "::1", False),
    ("localhost", "127.0.0.1", False),
], ids=["other-loopback-named", "other-loopback-not-the-first",
        "decimal-entry", "decimal-entry-other", "mapped-entry",
        "ipv6-loopback", "ipv6-loopback-not-ipv4", "ipv4-not-ipv6-loopback",
        "unspecified-named", "unspecified-not-loopback",
        "unspecified-v4-not-v6", "unspecified-v6-named",
        "unspecified-v6-not-v4", "unspecified-v6-not-loopback",
        "names-never-resolved"])
def test_an_entry_names_one_address(entry, host, expected):
    assert HostAllowList([entry]).allows(host, 80) is expected


def _spelled(address, draw):
    """``address`` (an int) in a spelling a C resolver reads as it."""
    parts = draw(st.sampled_from([4, 3, 2, 1, "mapped", "mapped-hex"]))
    octets = address.to_bytes(4, "big")
    if parts == "mapped":
        return f"[::ffff:{'.'.join(map(str, octets))}]"
    if parts == "mapped-hex":
        high, low = address >> 16, address & 0xFFFF
        return f"[::ffff:{high:x}:{low:x}]"
    numbers = list(octets[:parts - 1]) + [
        int.from_bytes(octets[parts - 1:], "big")]
    text = ".".join(_number(number, draw) for number in numbers)
    return text + draw(st.sampled_from(["", "."]))


def _number(number, draw):
    base = draw(st.sampled_from(["decimal", "hex", "HEX", "octal"]))
    if base == "decimal":
        return str(number)
    if base == "octal":
        return "0" * draw(st.integers(1, 3)) + f"{number:o}"
    digits = f"{number:x}"
    return "0x" + digits if base == "hex" else "0X" + digits.upper()


@given(st.data())
def test_any_spelling_is_allowed_iff_it_is_the_listed_address(data):
    listed = data.draw(st.integers(0, 2**32 - 1), label="listed")
    other = data.draw(st.one_of(
        st.just(listed), st.integers(0, 2**32 - 1),
        st.integers(max(listed - 2, 0), min(listed + 2, 2**32 - 1))),
        label="other")
    entry = _spelled(listed, data.draw)
    host = _spelled(other, data.draw)
    allowed = HostAllowList([entry])
    assert allowed.allows(host, 80) is (other == listed), (entry, host)
    assert canonical_host(host) == str(ipaddress.IPv4Address(other))


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


@pytest.mark.parametrize("call", [
    lambda: canonical_host("user:s3cr3t"),
    lambda: canonical_host("s3cr3t.0x"),
    lambda: canonical_host("[s3cr3t]"),
    lambda: canonical_host("fe80::1%s3cr3t"),
    lambda: canonical_host("s3cr3t\u00e9"),
    lambda: split_host_port("user:s3cr3t"),
    lambda: split_host_port("[::1]:s3cr3t"),
], ids=["name", "ipv4", "ipv6", "zone-id", "non-ascii", "port",
        "ipv6-port"])
def test_errors_never_quote_what_may_be_part_of_a_url(call):
    with pytest.raises(ValueError) as caught:
        call()
    assert "s3cr3t" not in str(caught.value)


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match="'host:http': port not a number"):
        HostAllowList(["good.example", "host:http"])
