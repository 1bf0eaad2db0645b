"""The safe outbound HTTP client against a local HTTP server: address refusal without a connection, pinned
addresses, redirects, status errors, Retry-After, limits. Nothing reaches the internet: where a test needs a
public-looking host, the injected resolver maps its name and the connection to that address is redirected to
the local server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from engine.errors import FatalError, RetryableError
from engine.net.http import (
    AddressRefused,
    FatalHttpError,
    HttpClient,
    InvalidUrl,
    RequestTimedOut,
    ResponseTooLarge,
    RetryableHttpError,
    is_internal_address,
    parse_retry_after,
    parse_url,
)
from tests.image_server import ImageServer, Logged

PUBLIC = "93.184.216.34"  # a global address; never actually connected to (see `public_host`)


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as image_server:
        yield image_server


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on loopback that accepts nothing by itself: a connection attempt would be queued."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.settimeout(0.3)
        yield sock


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch, server: ImageServer) -> list[tuple[str, int]]:
    """Every TCP connection the client opens, by address; one to PUBLIC goes to the local server instead."""
    opened: list[tuple[str, int]] = []
    real = socket.create_connection
    local_port = int(server.url("/").rsplit(":", 1)[1].split("/")[0])

    def create_connection(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        opened.append(address)
        if address[0] == PUBLIC:
            return real(("127.0.0.1", local_port), *args, **kwargs)  # type: ignore[arg-type]
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return opened


def resolver(*answers: Sequence[str]) -> tuple[Callable[[str, int], Sequence[str]], list[str]]:
    """A resolver giving `answers` in turn (the last one again afterwards), and the list of names it was asked."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    return resolve, asked


def port_of(server: ImageServer) -> int:
    return int(server.url("/").rsplit(":", 1)[1].split("/")[0])


def logged(server: ImageServer, count: int) -> list[Logged]:
    """The server's log once it holds `count` requests (it logs each one just after answering it)."""
    deadline = time.monotonic() + 5
    while len(server.log) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(server.log) == count, server.log
    return server.log


def assert_no_connection(listener: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        listener.accept()


# -- server-side request forgery -----------------------------------------------------------------------------


def test_a_loopback_address_is_refused_without_any_connection(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with HttpClient() as client, pytest.raises(AddressRefused) as refused:
        client.request("GET", f"http://127.0.0.1:{port}/admin")
    assert isinstance(refused.value, FatalError)
    assert str(refused.value) == "refused: 127.0.0.1 is an internal address (127.0.0.1)"
    assert client.requests == 0
    assert_no_connection(listener)


def test_a_name_resolving_to_loopback_is_refused_without_any_connection(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    resolve, asked = resolver(["127.0.0.1"])
    with HttpClient(resolve=resolve) as client, pytest.raises(AddressRefused) as refused:
        client.request("GET", f"http://cdn.example.test:{port}/a.jpg")
    assert str(refused.value) == "refused: cdn.example.test resolves to an internal address (127.0.0.1)"
    assert asked == ["cdn.example.test"]
    assert_no_connection(listener)


def test_one_internal_address_among_the_answers_is_enough_to_refuse(connections: list[tuple[str, int]]) -> None:
    resolve, _asked = resolver([PUBLIC, "10.1.2.3"])
    with HttpClient(resolve=resolve) as client, pytest.raises(AddressRefused, match=r"\(10\.1\.2\.3\)"):
        client.request("GET", "http://mixed.example.test/")
    assert connections == []


def test_the_message_is_the_same_for_an_open_and_a_closed_internal_port(listener: socket.socket) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    messages = []
    with HttpClient() as client:
        for port in (listener.getsockname()[1], closed):
            with pytest.raises(AddressRefused) as refused:
                client.request("GET", f"http://127.0.0.1:{port}/")
            messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert_no_connection(listener)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (IPv4)
        "http://[fd00:ec2::254]/latest/meta-data/",  # cloud metadata (IPv6)
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    ],
)
def test_internal_and_metadata_addresses_are_refused(url: str, connections: list[tuple[str, int]]) -> None:
    with HttpClient() as client, pytest.raises(AddressRefused):
        client.request("GET", url)
    assert connections == []


@pytest.mark.parametrize(
    ("address", "internal"),
    [("8.8.8.8", False), (PUBLIC, False), ("2606:4700::1111", False), ("127.0.0.2", True),
     ("169.254.169.254", True), ("fd00:ec2::254", True), ("::ffff:10.0.0.1", True), ("2002:7f00:1::", True),
     ("::", True), ("ff02::1", True)],
)  # fmt: skip
def test_is_internal_address(address: str, internal: bool) -> None:
    assert is_internal_address(ipaddress.ip_address(address)) is internal


def test_allow_private_networks_lets_loopback_through(server: ImageServer) -> None:
    url = server.add("/a.txt", b"hello", "text/plain")
    with HttpClient(allow_private_networks=True) as client:
        reply = client.request("GET", url)
    assert (reply.status, reply.body, reply.header("content-type")) == (200, b"hello", "text/plain")


def test_allow_private_networks_applies_to_the_resolved_address(server: ImageServer) -> None:
    server.add("/a.txt", b"hello", "text/plain")
    resolve, _asked = resolver(["127.0.0.1"])
    url = f"http://files.example.test:{port_of(server)}/a.txt"
    with HttpClient(resolve=resolve) as client, pytest.raises(AddressRefused):
        client.request("GET", url)
    with HttpClient(resolve=resolve, allow_private_networks=True) as client:
        assert client.request("GET", url).body == b"hello"
    assert logged(server, 1)[0].headers["Host"] == f"files.example.test:{port_of(server)}"


def test_the_checked_address_is_the_one_connected_to(server: ImageServer, connections: list[tuple[str, int]]) -> None:
    """DNS rebinding: the first answer is public, a later one private. The client resolves once per connection
    and connects to the address it checked, so the private answer is never connected to."""
    server.add("/a.txt", b"public", "text/plain")
    port = port_of(server)
    resolve, asked = resolver([PUBLIC], ["127.0.0.1"])
    url = f"http://rebind.example.test:{port}/a.txt"
    with HttpClient(resolve=resolve) as client:
        assert client.request("GET", url).body == b"public"
        assert asked == ["rebind.example.test"] and connections == [(PUBLIC, port)]
        assert logged(server, 1)[0].headers["Host"] == f"rebind.example.test:{port}"  # the name, not the address
        client.close()  # no idle connection left: the next request resolves again
        with pytest.raises(AddressRefused):
            client.request("GET", url)
    assert connections == [(PUBLIC, port)]


def test_a_redirect_to_an_internal_address_is_refused(server: ImageServer, connections: list[tuple[str, int]]) -> None:
    port = port_of(server)
    server.redirect("/go", f"http://127.0.0.1:{port}/secret")
    server.add("/secret", b"internal", "text/plain")
    resolve, _asked = resolver([PUBLIC])
    with HttpClient(resolve=resolve) as client, pytest.raises(AddressRefused, match=r"internal address \(127"):
        client.request("GET", f"http://public.example.test:{port}/go")
    assert [entry.path for entry in logged(server, 1)] == ["/go"]
    assert connections == [(PUBLIC, port)]


# -- statuses and retries ------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(allow_private_networks=True) as http_client:
        yield http_client


def test_429_is_retryable_after_the_servers_delay(server: ImageServer, client: HttpClient) -> None:
    url = server.add("/limited", b"slow down", "text/plain", status=429, headers={"Retry-After": "7"})
    with pytest.raises(RetryableHttpError) as error:
        client.request("GET", url)
    assert isinstance(error.value, RetryableError)
    limited = error.value
    assert (str(limited), limited.status, limited.seconds, limited.retry_after) == ("HTTP 429", 429, 7, 7)


def test_retry_after_as_an_http_date() -> None:
    now = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("Sat, 01 Mar 2025 12:01:30 GMT", now=now) == 90
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=now) == 0  # already past
    assert parse_retry_after(" 12 ", now=now) == 12
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None) is None


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_are_retryable(server: ImageServer, client: HttpClient, status: int) -> None:
    url = server.add("/broken", b"oops", "text/plain", status=status)
    with pytest.raises(RetryableHttpError) as error:
        client.request("GET", url)
    assert error.value.status == status and error.value.retry_after is None and error.value.seconds > 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_client_errors_are_fatal(server: ImageServer, client: HttpClient, status: int) -> None:
    url = server.add("/refused", b"no", "text/plain", status=status)
    with pytest.raises(FatalHttpError) as error:
        client.request("GET", url)
    assert isinstance(error.value, FatalError) and not isinstance(error.value, RetryableError)
    assert (str(error.value), error.value.status) == (f"HTTP {status}", status)


def test_a_refused_connection_is_retryable(client: HttpClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableError, match=r"^connection failed: "):
        client.request("GET", f"http://127.0.0.1:{port}/")


def test_a_slow_answer_times_out_as_retryable(server: ImageServer, client: HttpClient) -> None:
    url = server.add("/slow", b"late", "text/plain", delay=5)
    started = time.monotonic()
    with pytest.raises(RequestTimedOut, match=r"^timed out after 0\.5 s$") as error:
        client.request("GET", url, timeout=0.5)
    assert isinstance(error.value, RetryableError)
    assert time.monotonic() - started < 2


def test_a_trickled_body_cannot_stretch_the_deadline(server: ImageServer, client: HttpClient) -> None:
    url = server.add("/trickle", b"x" * 4000, "text/plain", trickle=0.2)
    started = time.monotonic()
    with pytest.raises(RequestTimedOut):
        client.request("GET", url, timeout=1)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_body_is_refused(server: ImageServer, client: HttpClient, chunked: bool) -> None:
    url = server.add("/big", b"x" * 200_000, "text/plain", chunked=chunked)
    with pytest.raises(ResponseTooLarge, match=r"^response larger than 64 kB$") as error:
        client.request("GET", url, max_bytes=64 * 1024)
    assert isinstance(error.value, FatalError)
    assert client.request("GET", url, max_bytes=200_000).body == b"x" * 200_000


# -- redirects, methods, connections -------------------------------------------------------------------------


def test_redirects_are_bounded(server: ImageServer) -> None:
    server.add("/end", b"end", "text/plain")
    server.redirect("/r2", "/end", 301)
    server.redirect("/r1", server.url("/r2"), 307)
    with HttpClient(allow_private_networks=True, max_redirects=2) as client:
        reply = client.request("GET", server.url("/r1"))
        assert (reply.body, reply.url) == (b"end", server.url("/end"))
        server.redirect("/r0", server.url("/r1"))
        with pytest.raises(FatalError, match=r"^too many redirects \(more than 2\)$"):
            client.request("GET", server.url("/r0"))
        assert client.request("GET", server.url("/r1"), follow_redirects=False).status == 307


def test_post_sends_the_body_and_a_303_turns_it_into_a_get(server: ImageServer, client: HttpClient) -> None:
    server.add("/done", b"ok", "text/plain")
    server.redirect("/hook", "/done", 303)
    server.redirect("/keep", "/done", 307)
    reply = client.request("POST", server.url("/hook"), body=b'{"a":1}', headers={"Content-Type": "application/json"})
    assert reply.body == b"ok"
    client.request("POST", server.url("/keep"), body=b"same")
    log = logged(server, 4)
    assert [(e.method, e.path, e.body) for e in log] == [
        ("POST", "/hook", b'{"a":1}'),
        ("GET", "/done", b""),
        ("POST", "/keep", b"same"),
        ("POST", "/done", b"same"),
    ]
    assert "Content-Type" not in log[1].headers


def test_credentials_are_not_sent_to_another_origin(server: ImageServer) -> None:
    port = port_of(server)
    server.add("/end", b"end", "text/plain")
    server.redirect("/away", f"http://other.example.test:{port}/end")
    resolve, _asked = resolver(["127.0.0.1"])
    with HttpClient(allow_private_networks=True, resolve=resolve) as client:
        client.request("GET", server.url("/away"), headers={"Authorization": "Bearer s3cret", "X-Trace": "1"})
    by_path = {entry.path: entry for entry in logged(server, 2)}  # two connections: logged in either order
    assert by_path["/away"].headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in by_path["/end"].headers and by_path["/end"].headers["X-Trace"] == "1"


def test_connections_are_reused_per_host(server: ImageServer, client: HttpClient) -> None:
    urls = [server.add(f"/k{n}", b"k", "text/plain") for n in range(3)]
    for url in urls:
        client.request("GET", url)
    with client.stream("GET", urls[0]) as response:
        assert response.status == 200 and next(response.iter_bytes()) == b"k"
    assert len({entry.client_port for entry in logged(server, 4)}) == 1
    assert client.requests == 4


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no URL"),
        ("ftp://example.com/a", "unsupported URL scheme (ftp): only http and https are fetched"),
        ("http://user:pw@example.com/", "URLs with credentials are refused"),
        ("http:///path", "URL has no host"),
    ],
)
def test_bad_urls_are_fatal(url: str, message: str) -> None:
    with pytest.raises(InvalidUrl) as error:
        parse_url(url)
    assert str(error.value) == message and isinstance(error.value, FatalError)
