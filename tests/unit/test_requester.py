import ipaddress
import logging

from hypothesis import given
from hypothesis import strategies as st
import pytest

from loc_strategy_filter import requester
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.requester import MAX_HOPS
from loc_strategy_filter.requester import parsed_address
from loc_strategy_filter.requester import Requester
from loc_strategy_filter.requester import requester_of

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"),
           ipaddress.ip_network("fd00::/8")]
PROXY = "10.0.0.1"
XFF = "x-forwarded-for"
FWD = "forwarded"
KEYS = {XFF: "HTTP_X_FORWARDED_FOR", FWD: "HTTP_FORWARDED"}


def client_of(remote_addr, header=XFF, value=None, trusted=TRUSTED,
              **environ):
    """The client address ``requester_of`` finds, as a string or None."""
    if remote_addr is not None:
        environ["REMOTE_ADDR"] = remote_addr
    if value is not None:
        environ[KEYS[header.lower()]] = value
    address = requester_of(environ, trusted, header).client_address
    return None if address is None else str(address)


@pytest.mark.parametrize("remote_addr, expected", [
    ("192.0.2.1", "192.0.2.1"),
    ("2001:db8::1", "2001:db8::1"),
    ("::ffff:192.0.2.1", "192.0.2.1"),
    (None, None),
    ("", None),
    ("not-an-address", None),
    ("192.0.2.1:5678", None),
], ids=["ipv4", "ipv6", "ipv4-mapped", "missing", "empty", "garbage",
        "with-port"])
def test_the_peer_is_the_client_without_trusted_proxies(remote_addr,
                                                        expected):
    for trusted in (None, []):
        assert client_of(remote_addr, value="198.51.100.7",
                         trusted=trusted) == expected


@pytest.mark.parametrize("header, value", [
    (XFF, "198.51.100.7"),
    (XFF, "198.51.100.7, 10.0.0.2"),
    (FWD, "for=198.51.100.7"),
], ids=["xff", "xff-chain-of-trusted-hops", "forwarded"])
def test_a_header_from_an_untrusted_peer_is_ignored(header, value):
    assert client_of("192.0.2.1", header, value) == "192.0.2.1"


def test_a_header_is_ignored_when_the_peer_is_unknown():
    assert client_of(None, XFF, "198.51.100.7") is None


@pytest.mark.parametrize("value, expected", [
    ("198.51.100.7", "198.51.100.7"),
    ("198.51.100.7, 10.0.0.2", "198.51.100.7"),
    ("198.51.100.7,10.0.0.2 ,  10.0.0.3", "198.51.100.7"),
    ("198.51.100.7, fd00::2, 10.0.0.3", "198.51.100.7"),
    ("203.0.113.9, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    ("10.0.0.5, 198.51.100.7", "198.51.100.7"),
    ("10.0.0.9, 10.0.0.2", "10.0.0.9"),
    ("fd00::9, 10.0.0.2", "fd00::9"),
    ("10.0.0.9", "10.0.0.9"),
    ("198.51.100.7:5678", "198.51.100.7"),
    ("2001:db8::1", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("2001:DB8::A", "2001:db8::a"),
    ("::ffff:198.51.100.7", "198.51.100.7"),
    ("[::ffff:198.51.100.7]:80", "198.51.100.7"),
    ("::ffff:10.0.0.9, 10.0.0.2", "10.0.0.9"),
    ("\t198.51.100.7 \t", "198.51.100.7"),
    ("garbage, unknown, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    ("[::1, 198.51.100.7", "198.51.100.7"),
    ("", PROXY),
    ("  \t ", PROXY),
], ids=["one-address", "one-trusted-hop", "whitespace-around-commas",
        "mixed-family-trusted-hops", "leftmost-untrusted-not-chosen",
        "spoofed-trusted-on-the-left", "all-trusted-leftmost",
        "all-trusted-leftmost-ipv6", "single-trusted", "ipv4-port", "ipv6",
        "ipv6-brackets", "ipv6-brackets-port", "ipv6-upper-case",
        "ipv4-mapped", "ipv4-mapped-bracketed-port",
        "ipv4-mapped-trusted", "tabs", "left-of-client-not-parsed",
        "left-of-client-not-parsed-bracket", "empty-header",
        "blank-header"])
def test_x_forwarded_for_from_a_trusted_proxy(value, expected):
    assert client_of(PROXY, XFF, value) == expected


def test_several_header_lines_joined_by_the_server():
    # PEP 3333 servers join repeated headers with ",": the proxies' lines
    # are the last ones.
    lines = ["203.0.113.9", "198.51.100.7", "10.0.0.2"]
    assert client_of(PROXY, XFF, ",".join(lines)) == "198.51.100.7"


def test_the_peer_may_be_a_trusted_ipv4_mapped_address():
    assert client_of("::ffff:10.0.0.1", XFF, "198.51.100.7") == "198.51.100.7"


def test_the_peer_may_be_a_trusted_ipv6_address():
    assert client_of("fd00::1", XFF, "198.51.100.7") == "198.51.100.7"


@pytest.mark.parametrize("value, expected", [
    ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
    ('for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
    ('for="[2001:db8:cafe::17]"', "2001:db8:cafe::17"),
    ('for="192.0.2.60:4711"', "192.0.2.60"),
    ('for="192.0.2.60"', "192.0.2.60"),
    ('for="192.0.2.60:_port"', "192.0.2.60"),
    ("For=192.0.2.60", "192.0.2.60"),
    ("FOR=192.0.2.60", "192.0.2.60"),
    ("proto=https;for=192.0.2.60", "192.0.2.60"),
    ("for=192.0.2.60; proto=https", "192.0.2.60"),
    ("for=192.0.2.60;", "192.0.2.60"),
    ('for="\\192.0.2.60"', "192.0.2.60"),
    ('for="[::ffff:192.0.2.60]"', "192.0.2.60"),
    ("for=192.0.2.60, for=10.0.0.2;by=10.0.0.1", "192.0.2.60"),
    ('for=192.0.2.60 ,for="[fd00::2]:80", for=10.0.0.3', "192.0.2.60"),
    ("for=203.0.113.9, for=192.0.2.60, for=10.0.0.2", "192.0.2.60"),
    ("for=10.0.0.5, for=192.0.2.60", "192.0.2.60"),
    ("for=10.0.0.9, for=10.0.0.2", "10.0.0.9"),
    ('for=_hidden, for="x,y", junk, for=192.0.2.60', "192.0.2.60"),
    ("", PROXY),
], ids=["rfc-example", "ipv6-port", "ipv6", "ipv4-port-quoted",
        "ipv4-quoted", "obfuscated-port", "capitalised-name",
        "upper-case-name", "for-not-first", "whitespace-after-semicolon",
        "trailing-semicolon", "quoted-pair", "ipv4-mapped",
        "one-trusted-hop", "several-trusted-hops",
        "leftmost-untrusted-not-chosen", "spoofed-trusted-on-the-left",
        "all-trusted-leftmost", "left-of-client-not-parsed",
        "empty-header"])
def test_forwarded_from_a_trusted_proxy(value, expected):
    assert client_of(PROXY, FWD, value) == expected


@pytest.mark.parametrize("header", ["forwarded", "Forwarded", "FORWARDED"],
                         ids=["lower", "capitalised", "upper"])
def test_the_header_name_is_compared_case_insensitively(header):
    assert client_of(PROXY, header, "for=192.0.2.60") == "192.0.2.60"


@pytest.mark.parametrize("header, other_key, other_value", [
    (XFF, "HTTP_FORWARDED", "for=198.51.100.7"),
    (FWD, "HTTP_X_FORWARDED_FOR", "198.51.100.7"),
], ids=["xff-configured-forwarded-sent",
        "forwarded-configured-xff-sent"])
def test_the_header_of_the_other_kind_is_never_read(header, other_key,
                                                    other_value):
    environ = {"REMOTE_ADDR": PROXY, other_key: other_value}
    assert requester_of(environ, TRUSTED, header) == Requester.at(PROXY)


def test_an_unknown_header_name_is_a_programming_error():
    with pytest.raises(ValueError, match="x-real-ip"):
        requester_of({"REMOTE_ADDR": PROXY}, TRUSTED, "x-real-ip")


@pytest.mark.parametrize("header, value", [
    (XFF, "garbage"),
    (XFF, "unknown"),
    (XFF, "198.51.100.7,"),
    (XFF, "198.51.100.7, , 10.0.0.2"),
    (XFF, "10.0.0.9, ,10.0.0.2"),
    (XFF, "198.51.100.7:99999"),
    (XFF, "198.51.100.7:"),
    (XFF, "2001:db8::1:443:x"),
    (XFF, "[198.51.100.7]"),
    (XFF, "[2001:db8::1]443"),
    (XFF, "fe80::1%eth0"),
    (XFF, "198.51.100.007"),
    (XFF, "198.51.100.7 10.0.0.2"),
    (XFF, "_hidden"),
    (XFF, "x" * 10000),
    (FWD, "for=unknown"),
    (FWD, "for=_hidden"),
    (FWD, 'for="_hidden:80"'),
    (FWD, "for=192.0.2.60:4711"),
    (FWD, "for=[2001:db8::1]"),
    (FWD, 'for="2001:db8::1"'),
    (FWD, 'for="[192.0.2.60]"'),
    (FWD, 'for="192.0.2.60:99999"'),
    (FWD, "proto=https"),
    (FWD, "for=192.0.2.60;for=192.0.2.61"),
    (FWD, "for = 192.0.2.60"),
    (FWD, "for=192.0.2.60 proto=https"),
    (FWD, "192.0.2.60"),
    (FWD, 'for="192.0.2.60'),
    (FWD, 'for=192.0.2.60;ext="a,b"'),
    (FWD, "for=192.0.2.60,"),
    (FWD, ";"),
], ids=["xff-garbage", "xff-unknown", "xff-trailing-comma",
        "xff-empty-element", "xff-empty-element-in-trusted-part",
        "xff-port-out-of-range", "xff-empty-port", "xff-ipv6-junk",
        "xff-ipv4-in-brackets", "xff-brackets-no-colon", "xff-zone-id",
        "xff-leading-zeros", "xff-two-without-comma", "xff-obfuscated",
        "xff-overlong-element", "fwd-unknown", "fwd-obfuscated",
        "fwd-obfuscated-with-port", "fwd-unquoted-port",
        "fwd-unquoted-ipv6", "fwd-ipv6-without-brackets",
        "fwd-ipv4-in-brackets", "fwd-port-out-of-range", "fwd-no-for",
        "fwd-for-twice", "fwd-space-around-equals", "fwd-no-semicolon",
        "fwd-bare-address", "fwd-unterminated-quote",
        "fwd-comma-inside-quotes", "fwd-trailing-comma",
        "fwd-empty-pairs"])
def test_a_malformed_chain_is_ignored_and_logged(caplog, header, value):
    caplog.set_level(logging.DEBUG, logger=requester.__name__)
    assert client_of(PROXY, header, value) == PROXY
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.name == requester.__name__
    assert PROXY in record.getMessage()


def test_a_log_record_does_not_quote_a_huge_header(caplog):
    caplog.set_level(logging.DEBUG, logger=requester.__name__)
    assert client_of(PROXY, XFF, "y" * 100 + "," + "x" * 400) == PROXY
    [record] = caplog.records
    assert len(record.getMessage()) < 200


@pytest.mark.parametrize("trusted_hops, expected", [
    (MAX_HOPS - 1, "198.51.100.7"),
    (MAX_HOPS, None),
], ids=["client-at-the-last-hop-examined", "client-beyond-the-cap"])
def test_the_hops_examined_are_capped(trusted_hops, expected):
    value = ", ".join(["198.51.100.7"] + ["10.0.0.2"] * trusted_hops)
    assert client_of(PROXY, XFF, value) == (expected or PROXY)


@pytest.mark.parametrize("trusted_hops, expected", [
    (MAX_HOPS, "10.0.0.9"),
    (MAX_HOPS + 1, PROXY),
], ids=["all-trusted-within-the-cap", "all-trusted-beyond-the-cap"])
def test_more_trusted_hops_than_the_cap_is_malformed(trusted_hops,
                                                     expected):
    value = ", ".join(["10.0.0.9"] + ["10.0.0.2"] * (trusted_hops - 1))
    assert client_of(PROXY, XFF, value) == expected


@pytest.mark.parametrize("header, left, right", [
    (XFF, "garbage, ", ", 198.51.100.7, 10.0.0.2"),
    (XFF, "10.0.0.3, ", ", 10.0.0.2"),
    (XFF, "x", ""),
    (FWD, "for=_x, ", ", for=198.51.100.7, for=10.0.0.2"),
], ids=["xff-client-near-the-right", "xff-all-trusted",
        "xff-one-huge-element", "fwd-client-near-the-right"])
def test_a_hostile_megabyte_header_is_answered(header, left, right):
    # 100k entries: only the last few are looked at (elements are found with
    # rfind, at most MAX_HOPS of them), so this is fast by construction.
    filler = {"garbage, ": "garbage", "10.0.0.3, ": "10.0.0.3",
              "x": "x" * 1_000_000, "for=_x, ": "for=_x"}[left]
    entries = [filler] * (1 if left == "x" else 100_000)
    value = ", ".join(entries) + right
    assert len(value) >= 700_000
    expected = "198.51.100.7" if "198.51" in right else PROXY
    assert client_of(PROXY, header, value) == expected


def test_a_chain_is_read_only_as_far_as_it_is_walked(monkeypatch):
    seen = []
    parse = requester._x_forwarded_for_address
    monkeypatch.setitem(requester._CHAIN_READERS, XFF, (
        "HTTP_X_FORWARDED_FOR", lambda element: seen.append(element)
        or parse(element)))
    value = ", ".join(["203.0.113.9"] * 100_000 + ["198.51.100.7",
                                                   "10.0.0.2"])
    assert client_of(PROXY, XFF, value) == "198.51.100.7"
    assert seen == ["10.0.0.2", "198.51.100.7"]


@pytest.mark.parametrize("address, expected", [
    (None, None),
    ("192.0.2.1", ipaddress.ip_address("192.0.2.1")),
    (" 192.0.2.1 ", ipaddress.ip_address("192.0.2.1")),
    ("::ffff:192.0.2.1", ipaddress.ip_address("192.0.2.1")),
    ("2001:db8::1", ipaddress.ip_address("2001:db8::1")),
    (ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("192.0.2.1")),
    (ipaddress.ip_address("2001:db8::1"),
     ipaddress.ip_address("2001:db8::1")),
    (ipaddress.ip_address("::ffff:192.0.2.1"),
     ipaddress.ip_address("192.0.2.1")),
], ids=["none", "str", "str-with-spaces", "str-ipv4-mapped", "str-ipv6",
        "ipv4-address", "ipv6-address", "ipv4-mapped-address"])
def test_requester_at(address, expected):
    assert Requester.at(address).client_address == expected


@pytest.mark.parametrize("address", [
    "garbage", "", "192.0.2.1:80", "192.0.2.0/24", 3232235777, b"192.0.2.1",
], ids=["garbage", "empty", "with-port", "network", "int", "bytes"])
def test_requester_at_garbage_is_a_value_error(address):
    with pytest.raises(ValueError):
        Requester.at(address)


def test_anyone_has_no_address():
    assert ANYONE == Requester.at(None) == Requester()


def test_parsed_address_maps_ipv4_mapped_addresses():
    assert parsed_address("::ffff:10.1.2.3") == ipaddress.ip_address(
        "10.1.2.3")


# The property: for any chain whose right part is trusted proxies, the
# client is the rightmost address that is not one, whatever is left of it
# and however each address is spelled.

_untrusted_v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(
    lambda address: address not in TRUSTED[0])
_untrusted_v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address).filter(
    lambda address: address not in TRUSTED[1] and not address.ipv4_mapped)
_trusted = st.one_of(
    st.integers(0, 2**24 - 1).map(
        lambda n: TRUSTED[0].network_address + n),
    st.integers(0, 2**120 - 1).map(
        lambda n: TRUSTED[1].network_address + n))
_untrusted = st.one_of(_untrusted_v4, _untrusted_v6)
_ports = st.one_of(st.none(), st.integers(0, 65535))


def _spelled(header, address, port, upper):
    text = str(address).upper() if upper else str(address)
    if header == XFF:
        if address.version == 6 and port is not None:
            return f"[{text}]:{port}"
        return f"{text}:{port}" if port is not None else text
    node = f"[{text}]" if address.version == 6 else text
    if port is not None:
        node = f"{node}:{port}"
    value = f'"{node}"' if port is not None or address.version == 6 else node
    return f"for={value};proto=https" if upper else f"For={value}"


@given(header=st.sampled_from([XFF, FWD]),
       left=st.lists(st.one_of(_untrusted, _trusted), max_size=5),
       client=_untrusted,
       hops=st.lists(_trusted, max_size=MAX_HOPS - 1),
       spellings=st.lists(st.tuples(_ports, st.booleans()),
                          min_size=MAX_HOPS + 6, max_size=MAX_HOPS + 6),
       comma=st.sampled_from([",", ", ", " , ", ",\t"]))
def test_the_client_is_the_rightmost_untrusted_address(
        header, left, client, hops, spellings, comma):
    chain = left + [client] + hops
    value = comma.join(_spelled(header, address, *spelling)
                       for address, spelling in zip(chain, spellings))
    environ = {"REMOTE_ADDR": PROXY, KEYS[header]: value}
    assert requester_of(environ, TRUSTED, header) == Requester(client)


@given(header=st.sampled_from([XFF, FWD]), value=st.text(max_size=200),
       peer=_untrusted)
def test_any_header_from_an_untrusted_peer_gives_the_peer(header, value,
                                                          peer):
    environ = {"REMOTE_ADDR": str(peer), KEYS[header]: value}
    assert requester_of(environ, TRUSTED, header) == Requester(peer)


_HEADER_PIECES = list('0123456789abcdef.:[]_,; \t"=\\') + [
    "for=", "For=", "10.0.0.2", "fd00::2", "198.51.100.7", "unknown"]


@given(header=st.sampled_from([XFF, FWD]),
       value=st.lists(st.sampled_from(_HEADER_PIECES), max_size=60).map(
           "".join))
def test_any_header_from_a_trusted_peer_never_raises(header, value):
    environ = {"REMOTE_ADDR": PROXY, KEYS[header]: value}
    found = requester_of(environ, TRUSTED, header).client_address
    assert found is not None
