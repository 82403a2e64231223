"""Outbound HTTP to a merchant's callback URL without becoming a way into our own network (SSRF).

A callback URL is the merchant's input, so it may name anything: ``http://127.0.0.1:6379/``, the cloud
metadata service ``http://169.254.169.254/``, an intranet host, or a public name whose DNS answer is
one of those (or changes to one after we checked it: DNS rebinding). The rules:

* ``check_url``: http(s) only, https only in production; no user:password@; a host and a port
  (default 80/443). Every address the host resolves to must be public (``ipaddress.is_global``):
  loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10, the
  metadata service), shared (100.64/10), multicast, reserved and unspecified addresses are refused,
  also inside IPv4-mapped IPv6. ``Settings.callback_allow_networks`` lists networks an operator
  allows anyway (development and tests: the receiver on 127.0.0.1).
* ``PinnedTransport``: at delivery time the name is resolved again, checked again, and the TCP
  connection goes to exactly the address that was checked (TLS still verifies the certificate for
  the host name, SNI included). A DNS answer that changed since the URL was saved is checked before
  any byte is sent, so rebinding cannot steer the connection. Redirects are not followed, and the
  response body is not read (only the status counts).

DNS is this module's process edge: ``Resolver`` is injectable (tests hand in a fake one to rebind).
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urlsplit

MAX_URL = 1000

# host, port -> the addresses it resolves to (strings). The default asks the system resolver.
Resolver = Callable[[str, int], list[str]]


class UnsafeUrl(Exception):
    """A callback URL we will not send to; ``str(exc)`` is a Chinese reason fit for the merchant."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"无法解析主机名 {host}") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked callback URL: where to connect (``address``) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str          # path + query, at least "/"
    address: str       # the checked IP address the connection goes to


def _parse(url: str, production: bool) -> tuple[str, str, int, str]:
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise UnsafeUrl(f"回调地址须为 1-{MAX_URL} 个字符的 URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("回调地址不是有效的 URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("回调地址须以 https:// 开头")
    if production and scheme != "https":
        raise UnsafeUrl("生产环境的回调地址须使用 https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("回调地址不能包含用户名或密码")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("回调地址缺少主机名")
    if any(c.isspace() for c in url):
        raise UnsafeUrl("回调地址不能包含空白字符")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])     # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _why_not_public(ip) -> str:
    if ip.is_loopback:
        return "回环地址"
    if ip.is_link_local:
        return "链路本地地址"
    if ip.is_private:
        return "内网地址"
    if ip.is_multicast:
        return "组播地址"
    if ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "非公网地址"
    return ""


def check_address(address: str, allowed: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
    """Raise UnsafeUrl unless ``address`` is public or inside an allowed network."""
    try:
        ip = _ip(address)
    except ValueError:
        raise UnsafeUrl("主机名解析结果无效") from None
    if any(ip.version == net.version and ip in net for net in allowed):
        return
    why = _why_not_public(ip)
    if why:
        raise UnsafeUrl(f"回调地址指向{why}（{ip}），不允许")


def allowed_networks(cidrs: Iterable[str]) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def check_url(url: str, *, production: bool, allow: Iterable[str] = (),
              resolver: Resolver = system_resolver) -> Target:
    """The URL's target if every address its host resolves to may be called; else UnsafeUrl."""
    scheme, host, port, path = _parse(url, production)
    networks = allowed_networks(allow)
    try:
        addresses = [host] if _is_literal(host) else resolver(host, port)
    except UnsafeUrl:
        raise
    except OSError as exc:
        raise UnsafeUrl(f"无法解析主机名 {host}") from exc
    if not addresses:
        raise UnsafeUrl(f"无法解析主机名 {host}")
    for address in addresses:        # all of them: a client may pick any answer
        check_address(address, networks)
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Response:
    status: int
    latency_ms: int      # from sending the request to the status line


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI for the host name, the connection to the checked address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class PinnedTransport:
    """POSTs to a callback URL, re-checked and pinned to a checked address (see the module doc)."""

    def __init__(self, *, production: bool, allow: Iterable[str] = (), timeout_s: float = 5.0,
                 resolver: Resolver = system_resolver, ssl_context: ssl.SSLContext | None = None):
        self.production = production
        self.allow = tuple(allow)
        self.timeout_s = timeout_s
        self.resolver = resolver
        self.ssl_context = ssl_context or ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """The receiver's answer; raises UnsafeUrl (refused) or OSError (could not deliver)."""
        target = check_url(url, production=self.production, allow=self.allow, resolver=self.resolver)
        if target.scheme == "https":
            conn = _PinnedHTTPSConnection(target, self.timeout_s, self.ssl_context)
        else:
            conn = _PinnedHTTPConnection(target, self.timeout_s)
        started = time.perf_counter()
        try:
            conn.request("POST", target.path, body=body, headers=headers)
            resp = conn.getresponse()
            # Only the status counts; the body is not waited for (a receiver trickling it cannot
            # hold the worker), the connection is closed instead.
            return Response(resp.status, int((time.perf_counter() - started) * 1000))
        except (http.client.HTTPException, ssl.SSLError) as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
