"""Is a webhook URL safe to send to? URL rules and the one classification of IP addresses.

``check_url`` runs at registration (with a DNS check in ``delivery.resolver``) and again at send
time; it reads URLs with yarl, the parser the sender's aiohttp uses, so both see one host.
``address_problem`` is the single place that says why an address is not a valid target, and the
sender's resolver applies it to every address DNS returns.

``allow_local`` (a development setting) permits ``http``, local hostnames, loopback and private
(RFC 1918, IPv6 unique local) addresses. It never permits link-local addresses, which include the
cloud metadata services, nor carrier-grade NAT, multicast, reserved or "this network" addresses:
a development box in a cloud VM must not hand out its instance credentials either.

Hosts are IDNA-encoded with the standard library codec (IDNA 2003), so full-width digits and
ideographic dots are folded to ASCII before anything is classified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import quote

from yarl import URL

IPAddress = IPv4Address | IPv6Address

# Browsers and most servers cope with ~2 KiB; a longer URL is a mistake or an attack.
MAX_URL_LENGTH = 2048
# Appended to every address refusal: tells the user what is expected instead.
PUBLIC_HINT = "webhooks must target a public address"

_DEFAULT_PORTS = {"https": 443, "http": 80}
# `scheme://`: the shape of an absolute URL with a host, before yarl reads the rest.
_ABSOLUTE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_HEX_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]*")
_OCTAL_NUMBER = re.compile(r"0[0-7]+")
_DECIMAL_NUMBER = re.compile(r"0|[1-9][0-9]*")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")
# RFC 3986 characters that may stay as they are in a path or query; the rest is percent-encoded.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"

_METADATA_ADDRESSES = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
    )
)

# (range, what it is, allowed with allow_local). Order matters where ranges nest: the broadcast
# address sits inside 240.0.0.0/4.
_RANGES: tuple[tuple[IPv4Network | IPv6Network, str, bool], ...] = (
    (IPv4Network("127.0.0.0/8"), "a loopback address", True),
    (IPv4Network("10.0.0.0/8"), "a private address", True),
    (IPv4Network("172.16.0.0/12"), "a private address", True),
    (IPv4Network("192.168.0.0/16"), "a private address", True),
    (IPv6Network("::1/128"), "a loopback address", True),
    (IPv6Network("fc00::/7"), "a unique local (private) address", True),
    (IPv4Network("0.0.0.0/8"), 'a "this network" address', False),
    (IPv4Network("169.254.0.0/16"), "a link-local address", False),
    (IPv4Network("100.64.0.0/10"), "a carrier-grade NAT address", False),
    (IPv4Network("192.0.0.0/24"), "an IETF protocol assignment address", False),
    (IPv4Network("192.0.2.0/24"), "a documentation address", False),
    (IPv4Network("198.51.100.0/24"), "a documentation address", False),
    (IPv4Network("203.0.113.0/24"), "a documentation address", False),
    (IPv4Network("198.18.0.0/15"), "a benchmarking address", False),
    (IPv4Network("224.0.0.0/4"), "a multicast address", False),
    (IPv4Network("255.255.255.255/32"), "the broadcast address", False),
    (IPv4Network("240.0.0.0/4"), "a reserved address", False),
    (IPv6Network("::/128"), "the unspecified address", False),
    (IPv6Network("fe80::/10"), "a link-local address", False),
    (IPv6Network("fec0::/10"), "a site-local address", False),
    (IPv6Network("ff00::/8"), "a multicast address", False),
    (IPv6Network("2001:db8::/32"), "a documentation address", False),
    (IPv6Network("2001::/32"), "a Teredo tunnel address", False),
    (IPv6Network("100::/64"), "a discard-only address", False),
    (IPv6Network("64:ff9b:1::/48"), "a local-use NAT64 address", False),
)

# IPv6 forms that carry an IPv4 address, and the byte offset of that address. Each is judged by
# the IPv4 address it reaches: NAT64 networks answer public names with 64:ff9b:: addresses.
_EMBEDDING_RANGES: tuple[tuple[IPv6Network, str, int], ...] = (
    (IPv6Network("::ffff:0:0/96"), "an IPv4-mapped form", 12),
    (IPv6Network("::/96"), "an IPv4-compatible form", 12),
    (IPv6Network("64:ff9b::/96"), "a NAT64 form", 12),
    (IPv6Network("2002::/16"), "a 6to4 form", 2),
)


class UnsafeURLError(ValueError):
    """The URL is not an acceptable webhook target; ``str()`` is the message for the user.

    ``reason`` is the short clause (``"127.0.0.1 is a loopback address"``), ``str()`` adds what
    to do instead.
    """

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        self.reason = reason
        super().__init__(f"{reason}; {hint}" if hint else reason)


@dataclass(frozen=True, slots=True)
class TargetURL:
    """A URL that passed ``check_url``. ``host`` is lowercase ASCII, IPv6 without brackets."""

    scheme: str
    host: str
    port: int
    literal_ip: IPAddress | None
    url: str


def address_problem(ip: IPAddress, *, allow_local: bool = False) -> str | None:
    """Why ``ip`` is not a valid webhook target (``"a loopback address"``), or None if it is."""
    if isinstance(ip, IPv6Address) and ip.scope_id:
        ip = IPv6Address(ip.packed)  # a zone id must not hide an address from the set below
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    for network, problem, local in _RANGES:
        if ip in network:
            return None if local and allow_local else problem
    if isinstance(ip, IPv6Address):
        for network, form, offset in _EMBEDDING_RANGES:
            if ip in network:
                embedded = IPv4Address(ip.packed[offset : offset + 4])
                inner = address_problem(embedded, allow_local=allow_local)
                return None if inner is None else f"{form} of {embedded}, {inner}"
    return None if ip.is_global else "a special-purpose (non-public) address"


def check_url(url: str, *, allow_local: bool) -> TargetURL:
    """Parse and validate a webhook URL, or raise ``UnsafeURLError`` saying what is wrong.

    yarl splits the URL, the parser the sender's aiohttp uses, so the host checked here is the
    host connected to; the parts are then judged more strictly than yarl does (the port's digits,
    the host's spelling) and the URL is rebuilt from what was judged.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"URL must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeURLError("URL must not contain spaces or control characters")
    if "\\" in url:
        raise UnsafeURLError("URL must not contain a backslash")
    absolute = _ABSOLUTE.match(url)
    if absolute is None:
        raise UnsafeURLError("URL must be absolute, like https://example.com/webhooks")
    scheme = absolute["scheme"].lower()
    _check_scheme(scheme, allow_local=allow_local)
    if "#" in url:
        raise UnsafeURLError("URL must not contain a fragment (#...)")
    parsed = _split(url)
    if "@" in parsed.raw_authority:
        raise UnsafeURLError("URL must not contain user info (user:password@)")
    if not parsed.raw_host:
        raise UnsafeURLError("URL must include a host")
    port = _port(parsed.raw_authority, _DEFAULT_PORTS[scheme])
    host, literal_ip = _check_host(parsed.raw_host, allow_local=allow_local)
    url_host = f"[{host}]" if isinstance(literal_ip, IPv6Address) else host
    port_text = "" if port == _DEFAULT_PORTS[scheme] else f":{port}"
    path = quote(parsed.raw_path, safe=_PATH_SAFE) or "/"
    query = quote(parsed.raw_query_string, safe=_PATH_SAFE + "?")
    normalized = f"{scheme}://{url_host}{port_text}{path}{'?' + query if query else ''}"
    return TargetURL(scheme=scheme, host=host, port=port, literal_ip=literal_ip, url=normalized)


def _check_scheme(scheme: str, *, allow_local: bool) -> None:
    if scheme == "https" or (scheme == "http" and allow_local):
        return
    raise UnsafeURLError("URL must use https or http" if allow_local else "URL must use https")


def _split(url: str) -> URL:
    """yarl's reading of ``url``; its refusals reworded to say what to fix."""
    try:
        parsed = URL(url, encoded=True)
        parsed.explicit_port  # noqa: B018 (yarl reads the port lazily: refuse it here)
    except (ValueError, IndexError) as exc:  # yarl 1.2x raises IndexError for "https://[a]@"
        authority = re.split(r"[/?]", url.partition("//")[2], maxsplit=1)[0]
        if "port" in str(exc).lower():
            raise UnsafeURLError(_port_message(_port_text(authority))) from None
        if "[" in authority and "]" not in authority:
            raise UnsafeURLError("URL host has an unclosed [ bracket") from None
        inner, _, rest = authority.partition("[")[2].partition("]")
        if rest and not rest.startswith(":"):
            raise UnsafeURLError("URL has text after the ] of its IPv6 host") from None
        raise UnsafeURLError(f"URL host [{inner}] is not a valid IPv6 address") from None
    return parsed


def _port_text(authority: str) -> str:
    """The text after the host's colon ("" when there is none): yarl reads ports with int(),
    which also takes "+80" and other scripts' digits, so the text itself is judged."""
    _, colon, tail = authority.rpartition(":")
    return tail if colon and "]" not in tail else ""


def _port_message(port_text: str) -> str:
    return f"URL port must be a number from 1 to 65535, not {port_text!r}"


def _port(authority: str, default_port: int) -> int:
    port_text = _port_text(authority)
    if not port_text:
        return default_port
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise UnsafeURLError(_port_message(port_text))
    return int(port_text)


def _check_host(host_text: str, *, allow_local: bool) -> tuple[str, IPAddress | None]:
    if ":" in host_text:  # yarl took it from between brackets: only IPv6 has colons
        ip6 = _parse_bracketed(host_text)
        _check_literal(ip6, host_text, allow_local=allow_local)
        return ip6.compressed, ip6
    if "%" in host_text:
        raise UnsafeURLError("URL host must not be percent-encoded")
    try:
        host = host_text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURLError(f"URL host {host_text!r} is not a valid hostname") from None
    bare = host[:-1] if host.endswith(".") else host
    if _ends_in_number(bare):
        ip4 = _parse_legacy_ipv4(bare)
        if ip4 is None:
            raise UnsafeURLError(f"URL host {host_text!r} is not a valid IPv4 address")
        _check_literal(ip4, host_text, allow_local=allow_local)
        if bare != str(ip4):
            raise UnsafeURLError(f"URL host {host_text!r} must be written as {ip4}")
        return bare, ip4
    _check_hostname(bare, host_text, allow_local=allow_local)
    return host, None


def _parse_bracketed(inner: str) -> IPv6Address:
    if "%" in inner:
        raise UnsafeURLError("URL host must not contain an IPv6 zone identifier (%...)")
    try:
        return IPv6Address(inner)
    except ValueError:
        raise UnsafeURLError(f"URL host [{inner}] is not a valid IPv6 address") from None


def _check_literal(ip: IPAddress, host_text: str, *, allow_local: bool) -> None:
    problem = address_problem(ip, allow_local=allow_local)
    if problem is None:
        return
    spelled = host_text.strip("[]")
    # Only legacy IPv4 spellings need translating; an IPv6 literal is shown as written.
    legacy = isinstance(ip, IPv4Address) and spelled != str(ip)
    subject = f"{spelled} (that is {ip})" if legacy else spelled
    raise UnsafeURLError(f"{subject} is {problem}", hint=PUBLIC_HINT)


def _check_hostname(bare: str, host_text: str, *, allow_local: bool) -> None:
    if len(bare) > 253 or not all(_LABEL.fullmatch(label) for label in bare.split(".")):
        raise UnsafeURLError(f"URL host {host_text!r} is not a valid hostname")
    if allow_local:
        return
    if bare == "localhost" or bare.endswith(_LOCAL_SUFFIXES):
        raise UnsafeURLError(f"{bare} is a local hostname", hint=PUBLIC_HINT)
    if "." not in bare:
        raise UnsafeURLError(
            f"{bare} is a single-label (intranet) hostname", hint="use a fully qualified name"
        )


def _ends_in_number(host: str) -> bool:
    """WHATWG rule: a host whose last label is numeric must be an IPv4 address."""
    last = host.rpartition(".")[2]
    return bool(last) and ((last.isascii() and last.isdigit()) or bool(_HEX_NUMBER.fullmatch(last)))


def _parse_legacy_ipv4(host: str) -> IPv4Address | None:
    """inet_aton(3): 1-4 parts, each decimal, 0-octal or 0x-hex; the last fills the rest."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = [_parse_ipv4_number(part) for part in parts]
    *leading, last = numbers
    if last is None or any(n is None or n > 255 for n in leading):
        return None
    if last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(leading):
        assert number is not None
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def _parse_ipv4_number(part: str) -> int | None:
    # Regexes, not int() alone: int() also takes "1_0", " 1" and non-ASCII digits.
    if _HEX_NUMBER.fullmatch(part):
        return int(part[2:] or "0", 16)
    if _OCTAL_NUMBER.fullmatch(part):
        return int(part, 8)
    if _DECIMAL_NUMBER.fullmatch(part):
        return int(part, 10)
    return None
