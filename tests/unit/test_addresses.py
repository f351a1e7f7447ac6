"""URL rules and address classification: hostile URLs refused with the right words."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from yarl import URL

from livehook.domain.addresses import (
    MAX_URL_LENGTH,
    UnsafeURLError,
    address_problem,
    check_url,
)

PUBLIC = "; webhooks must target a public address"

# (url, a fragment the message must contain). Exact messages where the wording is the contract.
HOSTILE = [
    # scheme, shape, user info, fragment, length
    ("http://example.com/hook", "URL must use https"),
    ("ftp://example.com/", "URL must use https"),
    ("file:///etc/passwd", "URL must use https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "URL must use https"),
    ("javascript:alert(1)", "URL must be absolute"),
    ("//example.com/hook", "URL must be absolute"),
    ("https://user:secret@example.com/", "URL must not contain user info"),
    ("https://user@example.com/", "URL must not contain user info"),
    ("https://example.com@127.0.0.1/", "URL must not contain user info"),
    ("https://example.com/#fragment", "URL must not contain a fragment"),
    ("https://example.com/#", "URL must not contain a fragment"),
    ("https://example.com/" + "a" * MAX_URL_LENGTH, "URL must be at most 2048 characters"),
    ("https:///path", "URL must include a host"),
    ("https://:443/", "URL must include a host"),
    ("https://example.com:0/", "URL port must be a number from 1 to 65535, not '0'"),
    ("https://example.com:65536/", "URL port must be a number from 1 to 65535"),
    ("https://example.com:https/", "URL port must be a number from 1 to 65535"),
    ("https://example.com:٤٤٣/", "URL port must be a number from 1 to 65535"),
    ("https://exa mple.com/", "URL must not contain spaces or control characters"),
    ("https://exa\tmple.com/", "URL must not contain spaces or control characters"),
    ("https://example.com/\r\nX-Injected: 1", "URL must not contain spaces or control characters"),
    ("https://example.com\\@127.0.0.1/", "URL must not contain a backslash"),
    # IPv4 literals
    ("https://127.0.0.1/", "127.0.0.1 is a loopback address" + PUBLIC),
    ("https://127.255.255.254:8443/", "127.255.255.254 is a loopback address"),
    ("https://10.0.0.5/", "10.0.0.5 is a private address" + PUBLIC),
    ("https://172.16.0.1/", "172.16.0.1 is a private address"),
    ("https://172.31.255.255/", "172.31.255.255 is a private address"),
    ("https://192.168.1.1/", "192.168.1.1 is a private address"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("https://169.254.170.2/v2/credentials", "169.254.170.2 is a cloud metadata address"),
    ("https://100.100.100.200/", "100.100.100.200 is a cloud metadata address"),
    ("https://169.254.1.1/", "169.254.1.1 is a link-local address"),
    ("https://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
    ("https://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("https://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("https://255.255.255.255/", "255.255.255.255 is the broadcast address"),
    ("https://0.0.0.0/", '0.0.0.0 is a "this network" address'),
    ("https://198.51.100.7/", "198.51.100.7 is a documentation address"),
    ("https://198.18.0.1/", "198.18.0.1 is a benchmarking address"),
    # legacy IPv4 spellings (inet_aton) and Unicode look-alikes
    ("https://2130706433/", "2130706433 (that is 127.0.0.1) is a loopback address" + PUBLIC),
    ("https://0177.0.0.1/", "0177.0.0.1 (that is 127.0.0.1) is a loopback address"),
    ("https://0x7f.0.0.1/", "0x7f.0.0.1 (that is 127.0.0.1) is a loopback address"),
    ("https://0x7f000001/", "0x7f000001 (that is 127.0.0.1) is a loopback address"),
    ("https://0X7F.1/", "0X7F.1 (that is 127.0.0.1) is a loopback address"),
    ("https://127.1/", "127.1 (that is 127.0.0.1) is a loopback address"),
    ("https://017700000001/", "017700000001 (that is 127.0.0.1) is a loopback address"),
    ("https://10.1/", "10.1 (that is 10.0.0.1) is a private address"),
    ("https://0xa9fea9fe/", "0xa9fea9fe (that is 169.254.169.254) is a cloud metadata address"),
    ("https://0/", '0 (that is 0.0.0.0) is a "this network" address'),
    ("https://127.0.0.1./", "127.0.0.1. (that is 127.0.0.1) is a loopback address"),
    # full-width digits and ideographic full stops, folded by IDNA
    ("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "(that is 127.0.0.1) is a loopback"),
    ("https://127\u30020\u30020\u30021/", "(that is 127.0.0.1) is a loopback address"),
    ("https://0x5db8d70e/", "URL host '0x5db8d70e' must be written as 93.184.215.14"),
    ("https://93.184.215.014/", "URL host '93.184.215.014' must be written as 93.184.215.12"),
    ("https://256.0.0.1/", "URL host '256.0.0.1' is not a valid IPv4 address"),
    ("https://1.2.3.4.5/", "URL host '1.2.3.4.5' is not a valid IPv4 address"),
    ("https://example.300/", "URL host 'example.300' is not a valid IPv4 address"),
    ("https://08.0.0.1/", "URL host '08.0.0.1' is not a valid IPv4 address"),
    ("https://01_7.0.0.1/", "URL host '01_7.0.0.1' is not a valid IPv4 address"),
    # IPv6 literals and IPv6 forms that carry an IPv4 address
    ("https://[::1]/", "::1 is a loopback address" + PUBLIC),
    ("https://[0:0:0:0:0:0:0:1]:8443/", "0:0:0:0:0:0:0:1 is a loopback address"),
    ("https://[::]/", ":: is the unspecified address"),
    ("https://[fe80::1]/", "fe80::1 is a link-local address"),
    ("https://[fc00::1]/", "fc00::1 is a unique local (private) address"),
    ("https://[fd12:3456::1]/", "fd12:3456::1 is a unique local (private) address"),
    ("https://[fec0::1]/", "fec0::1 is a site-local address"),
    ("https://[ff02::1]/", "ff02::1 is a multicast address"),
    ("https://[2001:db8::1]/", "2001:db8::1 is a documentation address"),
    ("https://[2001::1]/", "2001::1 is a Teredo tunnel address"),
    ("https://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
    (
        "https://[::ffff:127.0.0.1]/",
        "::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address" + PUBLIC,
    ),
    (
        "https://[::ffff:a9fe:a9fe]/",
        "::ffff:a9fe:a9fe is an IPv4-mapped form of 169.254.169.254, a cloud metadata address",
    ),
    ("https://[::127.0.0.1]/", "an IPv4-compatible form of 127.0.0.1, a loopback address"),
    ("https://[64:ff9b::10.0.0.1]/", "a NAT64 form of 10.0.0.1, a private address"),
    ("https://[2002:a9fe:a9fe::1]/", "a 6to4 form of 169.254.169.254, a cloud metadata address"),
    ("https://[fe80::1%25eth0]/", "URL host must not contain an IPv6 zone identifier"),
    ("https://[::1/", "URL host has an unclosed [ bracket"),
    ("https://[::1]evil.com/", "URL has text after the ] of its IPv6 host"),
    ("https://[127.0.0.1]/", "URL host [127.0.0.1] is not a valid IPv6 address"),
    # local names
    ("https://localhost/", "localhost is a local hostname" + PUBLIC),
    ("https://LOCALHOST:8443/", "localhost is a local hostname"),
    ("https://localhost./", "localhost is a local hostname"),
    ("https://api.localhost/", "api.localhost is a local hostname"),
    ("https://printer.local/", "printer.local is a local hostname"),
    ("https://metadata.google.internal/", "metadata.google.internal is a local hostname"),
    ("https://router.home.arpa/", "router.home.arpa is a local hostname"),
    ("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "localhost is a local hostname"),
    ("https://intranet/hook", "intranet is a single-label (intranet) hostname"),
    ("https://%6c%6fcalhost/", "URL host must not be percent-encoded"),
    ("https://example..com/", "URL host 'example..com' is not a valid hostname"),
    ("https://exa$mple.com/", "URL host 'exa$mple.com' is not a valid hostname"),
    ("https://-example.com/", "URL host '-example.com' is not a valid hostname"),
    ("https://" + "a" * 64 + ".com/", "is not a valid hostname"),
]


@pytest.mark.parametrize(("url", "message"), HOSTILE, ids=[url[:60] for url, _ in HOSTILE])
def test_hostile_url_is_refused_with_a_message_saying_why(url: str, message: str) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        check_url(url, allow_local=False)
    assert message in str(refused.value)


def test_the_hostile_table_is_at_least_forty_urls_long() -> None:
    assert len(HOSTILE) >= 40


def test_refusal_keeps_the_short_reason_apart_from_the_hint() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        check_url("https://10.0.0.5/", allow_local=False)
    assert refused.value.reason == "10.0.0.5 is a private address"
    assert str(refused.value) == "10.0.0.5 is a private address" + PUBLIC
    assert isinstance(refused.value, ValueError)


ACCEPTED = [
    ("https://example.com/hook", "https", "example.com", 443, None, "https://example.com/hook"),
    (
        "https://93.184.215.14:8443/x",
        "https",
        "93.184.215.14",
        8443,
        IPv4Address("93.184.215.14"),
        "https://93.184.215.14:8443/x",
    ),
    (
        "https://[2606:4700::1111]/",
        "https",
        "2606:4700::1111",
        443,
        IPv6Address("2606:4700::1111"),
        "https://[2606:4700::1111]/",
    ),
    (
        "https://bücher.example/pfad/ä?q=ü",
        "https",
        "xn--bcher-kva.example",
        443,
        None,
        "https://xn--bcher-kva.example/pfad/%C3%A4?q=%C3%BC",
    ),
    (
        "https://例え.テスト/hook",
        "https",
        "xn--r8jz45g.xn--zckzah",
        443,
        None,
        "https://xn--r8jz45g.xn--zckzah/hook",
    ),
    ("HTTPS://Example.COM:443", "https", "example.com", 443, None, "https://example.com/"),
    (
        "https://hooks.example.com:8443/a/b?x=1&y=%2F",
        "https",
        "hooks.example.com",
        8443,
        None,
        "https://hooks.example.com:8443/a/b?x=1&y=%2F",
    ),
    ("https://example.com./", "https", "example.com.", 443, None, "https://example.com./"),
    ("https://example.com/?", "https", "example.com", 443, None, "https://example.com/"),
    (
        "https://[64:ff9b::5db8:d70e]/",
        "https",
        "64:ff9b::5db8:d70e",
        443,
        IPv6Address("64:ff9b::5db8:d70e"),
        "https://[64:ff9b::5db8:d70e]/",
    ),
]


@pytest.mark.parametrize(("url", "scheme", "host", "port", "literal_ip", "normalized"), ACCEPTED)
def test_public_url_is_accepted_and_normalized(
    url: str,
    scheme: str,
    host: str,
    port: int,
    literal_ip: IPv4Address | IPv6Address | None,
    normalized: str,
) -> None:
    target = check_url(url, allow_local=False)
    assert (target.scheme, target.host, target.port) == (scheme, host, port)
    assert target.literal_ip == literal_ip
    assert target.url == normalized


LOCAL_ACCEPTED = [
    ("http://localhost:8000/hook", "localhost"),
    ("http://127.0.0.1:8000/", "127.0.0.1"),
    ("https://10.1.2.3/", "10.1.2.3"),
    ("http://192.168.0.10:3000/in", "192.168.0.10"),
    ("https://[::1]:8443/", "::1"),
    ("https://[fd00::1]/", "fd00::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
    ("http://receiver/hook", "receiver"),
    ("http://app.internal/hook", "app.internal"),
]


@pytest.mark.parametrize(("url", "host"), LOCAL_ACCEPTED)
def test_allow_local_accepts_http_loopback_private_and_local_names(url: str, host: str) -> None:
    assert check_url(url, allow_local=True).host == host


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254, a cloud metadata address"),
        ("http://2852039166/", "(that is 169.254.169.254) is a cloud metadata address"),
        ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://0.0.0.0:8000/", '0.0.0.0 is a "this network" address'),
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("ftp://localhost/", "URL must use https or http"),
        ("http://user:pw@localhost/", "URL must not contain user info"),
    ],
)
def test_allow_local_still_refuses_metadata_link_local_and_special_ranges(
    url: str, message: str
) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        check_url(url, allow_local=True)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("64:ff9b::808:808", None),
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fd00:ec2::254%eth0", "a cloud metadata address"),
        ("::ffff:10.0.0.5", "an IPv4-mapped form of 10.0.0.5, a private address"),
        ("192.0.0.8", "an IETF protocol assignment address"),
        ("100::1", "a discard-only address"),
        ("64:ff9b:1::1", "a local-use NAT64 address"),
        ("2001:2::1", "a special-purpose (non-public) address"),
    ],
)
def test_address_problem_names_the_range_in_words(address: str, problem: str | None) -> None:
    ip = ip_address(address)
    assert address_problem(ip) == problem


def test_address_problem_with_allow_local_passes_loopback_and_private_only() -> None:
    assert address_problem(ip_address("127.0.0.1"), allow_local=True) is None
    assert address_problem(ip_address("172.20.0.3"), allow_local=True) is None
    assert address_problem(ip_address("::ffff:10.0.0.5"), allow_local=True) is None
    assert address_problem(ip_address("169.254.0.7"), allow_local=True) == "a link-local address"


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_legacy_spelling_of_an_address_is_judged_like_its_dotted_form(value: int) -> None:
    """Decimal, hex and octal spellings either hit the same refusal or are asked for dotted."""
    ip = IPv4Address(value)
    problem = address_problem(ip)
    for spelling in (str(value), hex(value), "0" + format(value, "o")):
        with pytest.raises(UnsafeURLError) as refused:
            check_url(f"https://{spelling}/", allow_local=False)
        if problem is None:
            assert str(refused.value) == f"URL host {spelling!r} must be written as {ip}"
        else:
            assert refused.value.reason == f"{spelling} (that is {ip}) is {problem}"


def _sender_agrees(url: str, *, allow_local: bool) -> None:
    """The sender requests ``URL(target.url, encoded=True)``: it must reach the checked host."""
    try:
        target = check_url(url, allow_local=allow_local)
    except UnsafeURLError:
        return
    sent = URL(target.url, encoded=True)
    assert (sent.scheme, sent.raw_host, sent.port) == (target.scheme, target.host, target.port)


@pytest.mark.parametrize("url", [row[0] for row in ACCEPTED] + [u for u, _ in LOCAL_ACCEPTED])
def test_the_sender_reads_the_checked_host_and_port_from_the_normalized_url(url: str) -> None:
    _sender_agrees(url, allow_local=True)


@example(tail="[a]@", start="https://")  # yarl itself fails on it with IndexError
@given(
    st.text(alphabet="ab1.:@[]%/?#\\-_x0\u00e4\u3002\uff11", max_size=30),
    st.sampled_from(["https://", "http://", "https://[", "https://a@", "https://::"]),
)
def test_no_url_is_checked_for_one_host_and_sent_to_another(tail: str, start: str) -> None:
    """A parser differential between check_url and the sender's yarl would show here."""
    _sender_agrees(start + tail, allow_local=True)


@pytest.mark.parametrize("url", ["https://[]@", "https://[a]@", "https://[::1]@/x"])
def test_a_url_yarl_itself_cannot_read_is_refused_not_raised(url: str) -> None:
    """yarl answers these with IndexError; the API must answer them with a 422, not a 500."""
    with pytest.raises(UnsafeURLError):
        check_url(url, allow_local=True)
