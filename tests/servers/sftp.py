"""A real SFTP server (asyncssh) on 127.0.0.1, in a thread with its own event loop: one user with a password
and an authorised public key, files under `root`, and faults a test can switch on: a storage quota (writes past
it fail like a full disk) and a connection cut after N bytes of an upload. The host key can be replaced to play
a server whose key changed."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import asyncssh

from tests.servers.net import free_port


class _Faults:
    def __init__(self) -> None:
        self.quota_bytes: int | None = None  # bytes one upload may write before "no space left"
        self.cut_upload_after: int | None = None  # bytes of one upload after which the connection is dropped


class _Server(asyncssh.SSHServer):
    def __init__(self, user: str, password: str, connections: set[asyncssh.SSHServerConnection]) -> None:
        self._user = user
        self._password = password
        self._connections = connections

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.difference_update([c for c in self._connections if c.is_closed()])

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._user and password == self._password


def _sftp_server_class(faults: _Faults) -> type[asyncssh.SFTPServer]:
    class FaultySFTPServer(asyncssh.SFTPServer):
        def write(self, file_obj: Any, offset: int, data: bytes) -> Any:
            end = offset + len(data)
            if faults.quota_bytes is not None and end > faults.quota_bytes:
                raise asyncssh.SFTPFailure("No space left on device (quota exceeded)")
            if faults.cut_upload_after is not None and end > faults.cut_upload_after:
                self.channel.get_connection().abort()
                raise asyncssh.SFTPConnectionLost("connection cut by the test")
            return super().write(file_obj, offset, data)

    return FaultySFTPServer


class SftpServer:
    """`start()` listens on `port` (given, or free); `stop()` closes it; both can repeat. `client_key` is the
    private key (OpenSSH text) whose public half is authorised; `host_key_line` is the public host key."""

    def __init__(
        self, root: Path, *, user: str = "exports", password: str = "sftp-secret-pw", port: int | None = None
    ) -> None:
        self.root = root
        self.user = user
        self.password = password
        self.port = port or free_port()
        self.faults = _Faults()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._client_key = asyncssh.generate_private_key("ssh-ed25519")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        root.mkdir(parents=True, exist_ok=True)

    @property
    def client_key(self) -> str:
        return self._client_key.export_private_key("openssh").decode("ascii")

    def encrypted_client_key(self, passphrase: str) -> str:
        return self._client_key.export_private_key("openssh", passphrase=passphrase).decode("ascii")

    @property
    def host_key_line(self) -> str:
        return self.host_key.export_public_key("openssh").decode("ascii").strip()

    @property
    def settings(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.port, "username": self.user}

    def replace_host_key(self) -> None:
        """A new host key, used from the next start()."""
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")

    def start(self) -> SftpServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-sftp-server", daemon=True)
        self._thread.start()
        authorized = asyncssh.import_authorized_keys(self._client_key.export_public_key("openssh").decode("ascii"))
        root = str(self.root)
        sftp_class = _sftp_server_class(self.faults)

        async def listen() -> asyncssh.SSHAcceptor:
            return await asyncssh.listen(
                "127.0.0.1",
                self.port,
                server_host_keys=[self.host_key],
                authorized_client_keys=authorized,
                server_factory=lambda: _Server(self.user, self.password, self._connections),
                sftp_factory=lambda chan: sftp_class(chan, chroot=root),
                allow_scp=False,
            )

        self._acceptor = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop, acceptor, connections = self._loop, self._acceptor, self._connections

        async def close() -> None:
            if acceptor is not None:
                acceptor.close()
                await acceptor.wait_closed()
            for conn in list(connections):  # the ones clients left open, so no socket outlives the server
                conn.close()
                await conn.wait_closed()
            connections.clear()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._acceptor = None

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
