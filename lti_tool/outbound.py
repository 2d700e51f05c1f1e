"""The one HTTP client for every request Socle makes to another server (platforms, LRSs).

A URL that reaches Socle from outside (a registration's configuration, a launch's service endpoints, an
LRS an operator typed) must not let anyone aim Socle at the machines behind it. So every request:

- connects only to an address checked after resolution: requests-hardened resolves the host once and
  connects to that very address (no second lookup that DNS rebinding could change), refusing private,
  loopback, link-local, reserved, multicast and unspecified addresses; loopback is allowed outside
  production (the demo platform and the tests), and a host the operator names is allowed anywhere;
- has a timeout, and a body read up to a size cap (a bigger answer is refused, never held in memory);
- follows at most a few redirects, each to the same origin (scheme, host, port) as the request, and reads
  no redirect's body.

The ``xapi`` package never imports ``lti_tool``: the worker builds this client and hands it to xapi's
forwarding.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
READ_CHUNK_BYTES = 64 * 1024


class DestinationRefused(requests.RequestException):
    """The request would reach a private, loopback or otherwise internal address."""


class RedirectRefused(requests.RequestException):
    """A redirect to another origin, or too many redirects."""


class ResponseTooLarge(requests.RequestException):
    """The answer is larger than the cap."""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit: what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def same_origin(url: str, other: str) -> bool:
    return bool(origin(url)[1]) and origin(url) == origin(other)


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return not allow_loopback
    return (
        address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


class _GuardedAdapter(IPFilterAdapter):
    """requests-hardened's adapter (resolve, check, connect to the checked address), plus the hosts the
    operator allows by name and a second look at the pinned address for the ranges it does not cover
    (reserved, unspecified)."""

    def __init__(self, *, is_https: bool, allow_loopback: bool, allowed_hosts: frozenset[str]) -> None:
        super().__init__(is_https_proto=is_https, allow_loopback=allow_loopback)
        self._allow_loopback_here = allow_loopback
        self._allowed_hosts = allowed_hosts

    def build_connection_pool_key_attributes(  # type: ignore[no-untyped-def]
        self, request: requests.PreparedRequest, verify: bool | str, cert=None
    ):
        host = (urlsplit(request.url or "").hostname or "").lower()
        if host in self._allowed_hosts:
            return HTTPAdapter.build_connection_pool_key_attributes(self, request, verify, cert)
        try:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        except InvalidIPAddress as error:
            raise DestinationRefused(f"{host} resolves to an internal address") from error
        pinned = ipaddress.ip_address(str(host_params["host"]).strip("[]"))
        if _refused_address(pinned, self._allow_loopback_here):
            raise DestinationRefused(f"{host} resolves to an internal address")
        return host_params, pool_kwargs


class GuardedSession(requests.Session):
    """A requests.Session whose every request goes through the checks above."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        allowed_hosts: Iterable[str] = (),
        timeout: tuple[float, float] = (3.0, 10.0),
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        hosts = frozenset(h.strip().lower() for h in allowed_hosts if h.strip())
        for scheme in ("http://", "https://"):
            self.mount(
                scheme,
                _GuardedAdapter(
                    is_https=scheme == "https://", allow_loopback=allow_loopback, allowed_hosts=hosts
                ),
            )
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        # Proxies from the environment would connect on our behalf, unchecked.
        self.trust_env = False
        if headers:
            self.headers.update(headers)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not kwargs.get("timeout"):
            kwargs["timeout"] = self.timeout
        follow = kwargs.pop("allow_redirects", True)
        kwargs["allow_redirects"] = False
        kwargs["stream"] = True
        first_url = request.url or ""
        response = super().send(request, **kwargs)
        for _ in range(MAX_REDIRECTS + 1):
            if not (follow and response.is_redirect):
                break
            target = urljoin(response.url, response.headers["location"])
            response.close()  # a redirect's body is never read
            if not same_origin(target, first_url):
                raise RedirectRefused("redirect to another origin", request=request)
            request = self._redirected(request, target, response.status_code)
            response = super().send(request, **kwargs)
        else:
            response.close()
            raise RedirectRefused("too many redirects", request=request)
        if response.is_redirect:  # not followed (allow_redirects=False): its body is of no use
            response.close()
            response._content = b""
            response._content_consumed = True  # type: ignore[attr-defined]
            return response
        self._read_capped(response)
        return response

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        # requests' own redirect machinery reads a redirect's whole body, even with allow_redirects=False
        # (to prepare ``response.next``): switched off, send() above follows redirects itself.
        return None

    @staticmethod
    def _redirected(request: requests.PreparedRequest, target: str, status: int) -> requests.PreparedRequest:
        following = request.copy()
        following.prepare_url(target, None)
        # 301/302/303 turn a POST into a GET, as browsers and requests do; 307/308 keep method and body.
        if status in (301, 302, 303) and following.method not in ("GET", "HEAD"):
            following.method = "GET"
            following.body = None
            for header in ("Content-Type", "Content-Length", "Transfer-Encoding"):
                following.headers.pop(header, None)
        return following

    def _read_capped(self, response: requests.Response) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            response.close()
            raise ResponseTooLarge(f"answer of {declared} bytes", response=response)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_response_bytes:
                response.close()
                raise ResponseTooLarge(
                    f"answer larger than {self.max_response_bytes} bytes", response=response
                )
            chunks.append(chunk)
        # What requests' own non-streamed read sets: .content, .text and .json() then use these bytes.
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]


def from_config(config: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> GuardedSession:
    """The client as the configuration sets it: loopback only outside production, named hosts always."""
    timeout = float(config.get("HTTP_TIMEOUT_SECONDS") or 5)
    return GuardedSession(
        allow_loopback=config.get("ENV") != "production",
        allowed_hosts=allowed_hosts(config.get("OUTBOUND_ALLOWED_HOSTS")),
        timeout=(min(3.0, timeout), timeout),
        max_response_bytes=int(config.get("OUTBOUND_MAX_RESPONSE_BYTES") or DEFAULT_MAX_RESPONSE_BYTES),
        headers=headers,
    )


def allowed_hosts(value: Any) -> list[str]:
    """OUTBOUND_ALLOWED_HOSTS as a list: a JSON list from the environment, or a comma-separated string."""
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(host).strip().lower() for host in value if str(host).strip()]


# Long runs of token-like characters (JWTs, bearer tokens, secrets) are cut out of what is logged.
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-.~+/=]{24,}")


def excerpt(text: str, limit: int = 120) -> str:
    """A short, token-free excerpt of a remote answer, for the log only (never for a page)."""
    cleaned = TOKEN_LIKE.sub("[…]", text[: limit * 4])
    return " ".join(cleaned.split())[:limit]
