"""Helpers of the gRPC tests: start a real server on port 0, make API keys of each role, typed clients. The
fixtures built on them are in tests/rpc_fixtures.py."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from pm_exports_client import ExportsClient

from engine.rpc.server import ExportsServer, create_server
from engine.services.apikeys import create_api_key
from engine.settings import Settings


def free_port() -> int:
    """A loopback port nothing listens on (for "the server is down" tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Engine:
    """A running server and what the tests need to reach it."""

    server: ExportsServer
    port: int
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)
    _clients: list[ExportsClient] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, role: str = "manager", **kwargs: Any) -> ExportsClient:
        api = ExportsClient(self.target, self.keys[role], **kwargs)
        self._clients.append(api)
        return api

    def channel(self) -> grpc.Channel:
        channel = grpc.insecure_channel(self.target)
        self._clients.append(channel)  # type: ignore[arg-type]
        return channel

    def close_clients(self) -> None:
        for api in self._clients:
            api.close()


def start_engine(settings: Settings, *, address: str = "127.0.0.1:0", **kwargs: Any) -> tuple[ExportsServer, int]:
    kwargs.setdefault("health_interval", 0.3)
    server, port = create_server(settings, address, **kwargs)
    server.start()
    return server, port


def make_keys() -> dict[str, str]:
    return {role: create_api_key(f"test-{role}", role)[0] for role in ("reader", "manager", "admin")}


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    """The RpcError a call raises (consuming it when it is a stream)."""
    with pytest.raises(grpc.RpcError) as info:
        result = call()
        if hasattr(result, "__next__"):
            list(result)
    return info.value
