"""The one safe outbound HTTP client: image fetching now, webhooks and shop connectors next.

`HttpClient.stream()` sends a request and hands back the response headers with a body to read in chunks;
`HttpClient.request()` reads the whole body. Both follow redirects (at most `max_redirects`, every hop checked
again), keep idle connections per host for reuse, and hold one deadline per call: connect, redirects, headers
and body together (DNS resolution excepted). Proxy variables are not read.

Server-side request forgery: a catalogue URL or a webhook address must not reach the engine's own network.
The host name is resolved first (`resolve`, injectable); if ANY of its addresses is loopback, private,
link-local, multicast, reserved, unspecified or a cloud metadata address, the call is refused before a TCP
connection is made (so the answer is the same whether an internal port is open or closed), unless
`allow_private_networks`. The connection then goes to the checked address itself, never to the name, so a DNS
answer that changes between the check and the connection (rebinding) cannot get around it; TLS still verifies
the certificate for the host name (SNI), and the Host header is the name.

Errors say what the caller should do (engine.errors): RetryableError for connection failures, timeouts, 408,
429 and 5xx (with the Retry-After delay when the server gives one); FatalError for a bad URL, a refused
address, a TLS failure, 401, 403 and other 4xx, too many redirects and an oversize body. The subclasses below
carry the detail (status, retry-after, limit) for callers that need it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote, urljoin, urlsplit

from engine import __version__
from engine.errors import FatalError, RetryableError

MiB = 1024 * 1024
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 10 * MiB
DEFAULT_USER_AGENT = f"PM-Exports/{__version__}"
DEFAULT_RETRY_SECONDS = 5.0  # a retryable failure without a Retry-After

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_STATUSES = frozenset({408, 429})  # and every 5xx
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_CHUNK = 64 * 1024
_IDLE_PER_HOST = 8


# -- errors --------------------------------------------------------------------------------------------------


class InvalidUrl(FatalError):
    """The URL cannot be fetched: empty, too long, not http(s), with credentials or without a host."""


class AddressRefused(FatalError):
    """The host is, or resolves to, an internal address and private networks are not allowed."""

    def __init__(self, host: str, address: IPAddress) -> None:
        literal = host.strip("[]") == str(address)
        verb = "is" if literal else "resolves to"
        super().__init__(f"refused: {host} {verb} an internal address ({address})")
        self.host = host
        self.address = address


class RetryableHttpError(RetryableError):
    """The server answered 408, 429 or 5xx; `retry_after` is its Retry-After in seconds, when it gave one."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}", DEFAULT_RETRY_SECONDS if retry_after is None else retry_after)
        self.status = status
        self.retry_after = retry_after


class FatalHttpError(FatalError):
    """The server answered a 4xx that retrying will not fix (401, 403, 404, 410, 422...)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class RequestTimedOut(RetryableError):
    """The call did not finish within its deadline."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g} s")
        self.timeout = timeout


class ResponseTooLarge(FatalError):
    """The body is larger than the caller's limit (declared by Content-Length or found while reading)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"response larger than {human_bytes(limit)}")
        self.limit = limit


# -- URLs, addresses, headers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A parsed http(s) URL: what a connection needs."""

    scheme: str
    host: str  # ASCII (IDNA), without brackets for IPv6
    port: int
    path: str  # path + query, percent-encoded ASCII

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def parse_url(url: str) -> Target:
    """Parse a URL to fetch: http(s) only, no credentials, a host; non-ASCII parts are encoded. Raises InvalidUrl."""
    url = url.strip()
    if not url:
        raise InvalidUrl("no URL")
    if len(url) > 4096:
        raise InvalidUrl("URL longer than 4096 characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidUrl(f"unsupported URL scheme ({scheme or 'none'}): only http and https are fetched")
    if "@" in parts.netloc:
        raise InvalidUrl("URLs with credentials are refused")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == "https" else 80)
    except (UnicodeError, ValueError) as exc:
        raise InvalidUrl(f"invalid URL: {exc}") from None
    if not host:
        raise InvalidUrl("URL has no host")
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    return Target(scheme, host, port, path)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order, without duplicates."""
    found: list[str] = []
    for *_rest, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def is_internal_address(address: IPAddress) -> bool:
    """True for loopback, private, link-local, multicast, reserved, unspecified and cloud metadata addresses,
    and for IPv6 addresses carrying such an IPv4 address (IPv4-mapped, 6to4, NAT64)."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            candidates.append(address.sixtofour)
        if address in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return any(
        a in _METADATA_ADDRESSES
        or a.is_loopback
        or a.is_private
        or a.is_link_local
        or a.is_multicast
        or a.is_reserved
        or a.is_unspecified
        or not a.is_global
        for a in candidates
    )


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date (0 when past); None when
    absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def human_bytes(n: int) -> str:
    """`20 MB`, `64 kB` or `1000 bytes`: limits as people write them."""
    if n % MiB == 0:
        return f"{n // MiB} MB"
    if n % 1024 == 0:
        return f"{n // 1024} kB"
    return f"{n} bytes"


@dataclass(frozen=True)
class _Call:
    """The limits of one call, shared by its redirect hops and its body."""

    deadline: float  # time.monotonic() value
    timeout: float
    connect_timeout: float | None
    max_bytes: int


# -- responses -----------------------------------------------------------------------------------------------


class HttpResponse:
    """A response whose headers have arrived; the body is read with `iter_bytes()` or `read()`, under the call's
    deadline and size limit."""

    def __init__(self, raw: http.client.HTTPResponse, sock: socket.socket, url: str, call: _Call) -> None:
        self.status = raw.status
        self.reason = raw.reason
        self.url = url  # after redirects
        self.headers = raw.headers
        self._raw = raw
        self._sock = sock  # kept: the connection forgets it when the response closes it
        self._call = call

    def header(self, name: str) -> str | None:
        return self._raw.getheader(name)

    def iter_bytes(self, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """The body in chunks; raises ResponseTooLarge past the limit and RequestTimedOut past the deadline."""
        length = self.header("Content-Length")
        if length and length.strip().isdigit() and int(length) > self._call.max_bytes:
            raise ResponseTooLarge(self._call.max_bytes)
        size = 0
        with _translated_errors(self._call.timeout):
            while True:
                _set_timeout(self._sock, self._call.deadline)
                chunk = self._raw.read1(chunk_size)
                if not chunk:
                    break
                size += len(chunk)
                if size > self._call.max_bytes:
                    raise ResponseTooLarge(self._call.max_bytes)
                yield chunk
            if not self._raw.isclosed():
                self._raw.read()  # nothing left: marks the response complete so the connection can be reused

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def _drain(self) -> bool:
        """Read a small unread body away so the connection can be reused; True when it can be."""
        raw = self._raw
        if raw.isclosed():
            return True
        if raw.will_close or raw.length is None or raw.length > _CHUNK:  # too long to read away: close instead
            return False
        try:
            _set_timeout(self._sock, self._call.deadline)
            raw.read()
        except (OSError, http.client.HTTPException):
            return False
        return raw.isclosed()


@dataclass(frozen=True)
class HttpReply:
    """A complete response: status, final URL, headers and body."""

    status: int
    url: str
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


# -- the client ----------------------------------------------------------------------------------------------


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address, while the Host header names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTlsConnection(_PinnedConnection):
    """The same over TLS: the certificate is verified for the host name (SNI), not for the address."""

    default_port = 443

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, address, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


class HttpClient:
    """Sends requests under the rules of the module docstring; safe to share between threads."""

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        allow_private_networks: bool = False,
        resolve: Resolver = resolve_host,
        ssl_context: ssl.SSLContext | None = None,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self.user_agent = user_agent
        self.allow_private_networks = allow_private_networks
        self.max_redirects = max_redirects
        self.requests = 0  # requests sent, redirect hops included
        self._resolve = resolve
        self._ssl = ssl_context or ssl.create_default_context()
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        follow_redirects: bool = True,
    ) -> HttpReply:
        """Send a request and read the whole body; see `stream` for the arguments and errors."""
        with self.stream(
            method,
            url,
            headers=headers,
            body=body,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_bytes=max_bytes,
            follow_redirects=follow_redirects,
        ) as response:
            return HttpReply(response.status, response.url, response.headers, response.read())

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        follow_redirects: bool = True,
    ) -> Iterator[HttpResponse]:
        """Send a request and yield the response once its headers arrived (2xx, 3xx not followed, 304).

        `timeout` is the deadline of the whole call, body included; `connect_timeout` (default: the time left)
        bounds each TCP + TLS connection within it. A status of 400 or more raises (see the module docstring).
        The connection goes back to the idle pool when the body was read (or is small enough to be skipped)."""
        call = _Call(time.monotonic() + timeout, timeout, connect_timeout, max_bytes)
        current_method, current_url, current_body = method.upper(), url, body
        current_headers = dict(headers or {})
        for _hop in range(self.max_redirects + 1):
            target = parse_url(current_url)
            with _translated_errors(timeout):
                conn, response = self._send(target, current_url, current_method, current_headers, current_body, call)
            reusable = False
            try:
                status = response.status
                if status in _REDIRECTS and follow_redirects:
                    location = response.header("Location")
                    reusable = response._drain()
                    if not location:
                        raise FatalError(f"HTTP {status} without a Location")
                    next_url = urljoin(current_url, location.strip())
                    if current_method != "HEAD" and (
                        status == 303 or (status in (301, 302) and current_method == "POST")
                    ):
                        current_method, current_body = "GET", None
                        current_headers = {k: v for k, v in current_headers.items() if k.lower() != "content-type"}
                    if _origin(next_url) != target.origin:
                        current_headers = {
                            k: v for k, v in current_headers.items() if k.lower() not in _CREDENTIAL_HEADERS
                        }
                    current_url = next_url
                    continue
                if status >= 400:
                    retry_after = parse_retry_after(response.header("Retry-After"))
                    reusable = response._drain()
                    if status in _RETRYABLE_STATUSES or status >= 500:
                        raise RetryableHttpError(status, retry_after)
                    raise FatalHttpError(status)
                yield response
                reusable = response._drain()
            finally:
                self._release(target, conn, response, reusable)
            return
        raise FatalError(f"too many redirects (more than {self.max_redirects})")

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # internals

    def _send(
        self, target: Target, url: str, method: str, headers: Mapping[str, str], body: bytes | None, call: _Call
    ) -> tuple[http.client.HTTPConnection, HttpResponse]:
        """Send on an idle keep-alive connection to the host, or on a new one to a checked address."""
        request_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", **headers}
        conn = self._take_idle(target)
        if conn is not None:
            try:
                return conn, self._exchange(conn, target, url, method, request_headers, body, call)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()  # the server closed the idle connection: one new attempt below
            except BaseException:
                conn.close()
                raise
        conn = self._connect(target, self._checked_addresses(target), call)
        try:
            return conn, self._exchange(conn, target, url, method, request_headers, body, call)
        except BaseException:
            conn.close()
            raise

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        target: Target,
        url: str,
        method: str,
        headers: dict[str, str],
        body: bytes | None,
        call: _Call,
    ) -> HttpResponse:
        sock = conn.sock
        assert sock is not None
        _set_timeout(sock, call.deadline)
        with self._lock:
            self.requests += 1
        conn.request(method, target.path, body=body, headers=headers)
        return HttpResponse(conn.getresponse(), sock, url, call)

    def _checked_addresses(self, target: Target) -> list[str]:
        """The addresses to connect to; raises AddressRefused when any of them is internal (and not allowed)."""
        try:
            ipaddress.ip_address(target.host)
            addresses: Sequence[str] = [target.host]
        except ValueError:
            addresses = self._resolve(target.host, target.port)
        if not addresses:
            raise RetryableError(f"connection failed: no address found for {target.host}")
        if not self.allow_private_networks:
            for address in addresses:
                ip = ipaddress.ip_address(address.split("%")[0])  # without an IPv6 zone
                if is_internal_address(ip):
                    raise AddressRefused(target.host, ip)
        return list(addresses)

    def _connect(self, target: Target, addresses: Sequence[str], call: _Call) -> http.client.HTTPConnection:
        """A connection to the first checked address that answers."""
        last_error: OSError | None = None
        for address in addresses:
            remaining = _remaining(call.deadline)
            limit = remaining if call.connect_timeout is None else min(call.connect_timeout, remaining)
            conn: http.client.HTTPConnection
            if target.scheme == "https":
                conn = _PinnedTlsConnection(target.host, target.port, address, limit, self._ssl)
            else:
                conn = _PinnedConnection(target.host, target.port, address, limit)
            try:
                conn.connect()
                return conn
            except ssl.SSLError:
                conn.close()
                raise
            except OSError as exc:
                conn.close()
                last_error = exc
        assert last_error is not None
        raise last_error

    def _take_idle(self, target: Target) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(target.origin)
            return idle.pop() if idle else None

    def _release(
        self, target: Target, conn: http.client.HTTPConnection, response: HttpResponse, reusable: bool
    ) -> None:
        if reusable and conn.sock is not None:
            with self._lock:
                idle = self._idle.setdefault(target.origin, [])
                if len(idle) < _IDLE_PER_HOST:
                    idle.append(conn)
                    return
        response._raw.close()
        conn.close()


@contextmanager
def _translated_errors(timeout: float) -> Iterator[None]:
    """Socket, TLS and protocol errors as RetryableError / FatalError with a message for people."""
    try:
        yield
    except TimeoutError:  # socket.timeout, and our own deadline
        raise RequestTimedOut(timeout) from None
    except ssl.SSLError as exc:
        raise FatalError(f"TLS error: {exc.reason or exc}") from None
    except http.client.IncompleteRead as exc:
        raise RetryableError(f"download interrupted ({len(exc.partial)} bytes received)") from None
    except http.client.HTTPException as exc:
        raise RetryableError(f"bad HTTP response: {type(exc).__name__} {exc}".strip()) from None
    except OSError as exc:  # refused, reset, unreachable, DNS (socket.gaierror)
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise RetryableError(f"connection failed: {reason}") from None


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        return parse_url(url).origin
    except InvalidUrl:
        return None


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


def _set_timeout(sock: socket.socket, deadline: float) -> None:
    # Every socket operation waits at most until the deadline, so a server trickling bytes cannot stretch it.
    sock.settimeout(_remaining(deadline))


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "AddressRefused",
    "FatalHttpError",
    "HttpClient",
    "HttpReply",
    "HttpResponse",
    "InvalidUrl",
    "RequestTimedOut",
    "Resolver",
    "ResponseTooLarge",
    "RetryableHttpError",
    "Target",
    "human_bytes",
    "is_internal_address",
    "parse_retry_after",
    "parse_url",
    "resolve_host",
]
