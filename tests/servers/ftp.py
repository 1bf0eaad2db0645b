"""A real FTP or explicit-FTPS server (pyftpdlib) on 127.0.0.1, in a thread, with faults a test can switch on:
storage full (STOR answered 552) and a connection cut after N bytes of an upload."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # pyftpdlib uses the standard library's asyncore/asynchat, deprecated (with a warning on import) in 3.11
    warnings.filterwarnings("ignore", r"The (asyncore|asynchat) module is deprecated", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer

from tests.servers.net import free_port
from tests.servers.tls import CertificateFiles


class _Faults:
    """What the running server should get wrong; read by the handlers on each command."""

    def __init__(self) -> None:
        self.storage_full = False
        self.cut_upload_after: int | None = None  # bytes of one upload after which the connection is dropped


class _CuttingFile:
    """A file being uploaded that drops the client's connections once more than `cut_upload_after` bytes came."""

    def __init__(self, fd: Any, fs: AbstractedFS, faults: _Faults) -> None:
        self._fd = fd
        self._fs = fs
        self._faults = faults
        self._written = 0

    def write(self, data: bytes) -> int:
        written = self._fd.write(data)
        self._written += len(data)
        limit = self._faults.cut_upload_after
        if limit is not None and self._written > limit and self._fs.cmd_channel is not None:
            self._fs.cmd_channel.close()  # closes the control and the data connection
        return int(written)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fd, name)


def _filesystem(faults: _Faults) -> type[AbstractedFS]:
    class CuttingFS(AbstractedFS):
        def open(self, filename: str, mode: str) -> Any:
            fd = super().open(filename, mode)
            return _CuttingFile(fd, self, faults) if "w" in mode or "a" in mode else fd

    return CuttingFS


def _handler(base: type[FTPHandler], faults: _Faults) -> type[FTPHandler]:
    class FaultyHandler(base):  # type: ignore[valid-type,misc]
        auth_failed_timeout = 0  # no 3 s penalty after a wrong password: the tests try on purpose

        def ftp_STOR(self, file: str, mode: str = "w") -> Any:
            if faults.storage_full:
                self.respond("552 Requested file action aborted. Exceeded storage allocation.")
                return None
            return super().ftp_STOR(file, mode)

    return FaultyHandler


class FtpServer:
    """One user (`user` / `password`) whose home is `root`; `tls` makes it explicit FTPS (TLS required for login
    and data). `start()` binds the port (given, or free); `stop()` closes every connection; both can repeat."""

    def __init__(
        self,
        root: Path,
        *,
        user: str = "exports",
        password: str = "ftp-secret-pw",
        tls: CertificateFiles | None = None,
        port: int | None = None,
    ) -> None:
        self.root = root
        self.user = user
        self.password = password
        self.tls = tls
        self.port = port or free_port()
        self.faults = _Faults()
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        root.mkdir(parents=True, exist_ok=True)

    @property
    def settings(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.port, "username": self.user}

    @property
    def secrets(self) -> dict[str, str]:
        return {"password": self.password}

    def start(self) -> FtpServer:
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self.root), perm="elradfmwMT")
        if self.tls is None:
            handler = _handler(FTPHandler, self.faults)
        else:
            handler = _handler(TLS_FTPHandler, self.faults)
            handler.certfile = str(self.tls.cert_file)
            handler.keyfile = str(self.tls.key_file)
            handler.tls_control_required = True
            handler.tls_data_required = True
        handler.authorizer = authorizer
        handler.abstracted_fs = _filesystem(self.faults)
        handler.banner = "PM Exports test FTP server ready."
        handler.passive_ports = None
        handler.permit_foreign_addresses = False
        self._server = FTPServer(("127.0.0.1", self.port), handler)
        self._stopping.clear()
        server = self._server
        self._thread = threading.Thread(target=self._serve, args=(server,), name="test-ftp-server", daemon=True)
        self._thread.start()
        return self

    def _serve(self, server: FTPServer) -> None:
        while not self._stopping.is_set():
            server.ioloop.loop(0.05, False)
        server.close_all()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join(timeout=10)
        self._thread = None
        self._server = None

    def __enter__(self) -> FtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
