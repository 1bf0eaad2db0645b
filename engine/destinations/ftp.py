"""FTP and explicit FTPS destinations (ftplib): passive mode, streamed upload under a temporary name, RNFR/RNTO.

FTPS is explicit TLS (AUTH TLS on the control connection, then PROT P so the data connections are encrypted
too); the server's certificate is verified against the system's CAs for the host name, plus the `ca_file`
setting's CAs when it is set. Server replies become engine errors: 4xx (transient by the FTP standard),
timeouts and dropped connections are RetryableError; 530 (login), 550 (permission, no such folder), 552
(quota, disk full) and other 5xx are FatalError; 553 (file name not allowed) is ItemRejected for that file.
"""

from __future__ import annotations

import ftplib
import io
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

from engine.destinations.base import DeliveryFile, DestinationOptions, FieldSpec, ProbeResult, Receipt
from engine.destinations.transfer import (
    PROBE_BODY,
    HashingReader,
    one_line,
    open_local,
    parent_and_name,
    probe_name,
    remote_path,
    setting,
    temporary_name,
    tls_context,
)
from engine.errors import ExportsError, FatalError, ItemRejected, RetryableError

BLOCK_SIZE = 256 * 1024  # bytes per send on the data connection
RETRY_SECONDS = 30.0  # a 4xx reply or a dropped connection: try again in this many seconds

_HOST = FieldSpec("host", required=True, max_length=255, help="Server host name or address")
_USERNAME = FieldSpec("username", required=True, max_length=255, help="Login name")
_PASSWORD = FieldSpec("password", secret=True, required=True, max_length=1024, help="Login password")
_BASE_PATH = FieldSpec(
    "base_path", default="", max_length=1024, help="Folder on the server that deliveries go under (default: login)"
)
_PASSIVE = FieldSpec("passive", kind="bool", default=True, help="Passive mode (the client opens data connections)")
_CA_FILE = FieldSpec(
    "ca_file", default="", max_length=1024, help="PEM file of extra CAs to trust for the server's certificate"
)


def _port_field(default: int) -> FieldSpec:
    return FieldSpec("port", kind="int", default=default, minimum=1, maximum=65535, help="Server port")


class FtpDestination:
    """A plain FTP server: the password and the files travel unencrypted (use FTPS or SFTP outside a LAN)."""

    kind: ClassVar[str] = "ftp"
    verifies_content: ClassVar[bool] = True  # each file is hashed as it is sent, checked before it is final
    fields: ClassVar[tuple[FieldSpec, ...]] = (_HOST, _port_field(21), _USERNAME, _PASSWORD, _BASE_PATH, _PASSIVE)

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        self.host = str(setting(settings, _HOST))
        self.port = int(setting(settings, _port_field(21)))
        self.username = str(setting(settings, _USERNAME))
        self.base_path = remote_path(str(setting(settings, _BASE_PATH)))
        self.passive = bool(setting(settings, _PASSIVE))
        self._password = str(setting(secrets, _PASSWORD))
        self.options = options

    @property
    def where(self) -> str:
        return f"{self.kind.upper()} {self.host}:{self.port}"

    def test(self) -> ProbeResult:
        """Log in, write and delete a small probe file in the base folder; the latency covers all of it."""
        started = time.monotonic()
        with self._session() as ftp:
            welcome = one_line(ftp.getwelcome())
            self._make_folders(ftp, self.base_path, set())
            probe = remote_path(self.base_path, probe_name())
            with self._translated("writing the probe file"):
                ftp.storbinary(f"STOR {probe}", io.BytesIO(PROBE_BODY))
            with self._translated("deleting the probe file"):
                ftp.delete(probe)
            details = {"server": welcome, "folder": self.base_path or "(login folder)"}
            details.update(self._security_details(ftp))
        return ProbeResult(latency_ms=(time.monotonic() - started) * 1000, message=welcome, details=details)

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        """Upload each file under a temporary name in `folder`, check its size, then rename it to its name."""
        receipts: list[Receipt] = []
        with self._session() as ftp:
            made: set[str] = set()
            for file in files:
                target = remote_path(self.base_path, folder, file.name)
                self._make_folders(ftp, parent_and_name(target)[0], made)
                receipts.append(self._upload(ftp, file, target))
        return receipts

    # internals

    def _upload(self, ftp: ftplib.FTP, file: DeliveryFile, target: str) -> Receipt:
        partial = temporary_name(target)
        try:
            with open_local(file) as stream:
                reader = HashingReader(file, stream)
                with self._translated(f"uploading {file.name}", item=file.name):
                    stored = ftp.storbinary(f"STOR {partial}", reader, blocksize=BLOCK_SIZE)
            reader.check()
            with self._translated(f"checking the size of {file.name}", item=file.name):
                remote_size = self._remote_size(ftp, partial)
            if remote_size is not None and remote_size != file.size:
                raise RetryableError(
                    f"{self.where}: {file.name} arrived with {remote_size} bytes instead of {file.size}", RETRY_SECONDS
                )
            with self._translated(f"renaming {file.name} to its final name", item=file.name):
                renamed = self._rename(ftp, partial, target)
        except BaseException:
            self._discard(ftp, partial)
            raise
        return Receipt(remote=target, size=file.size, detail=one_line(renamed or stored))

    def _rename(self, ftp: ftplib.FTP, source: str, target: str) -> str:
        try:
            return ftp.rename(source, target)
        except ftplib.error_perm:
            # some servers refuse RNTO over an existing file: remove the old one, then rename
            with suppress(ftplib.error_perm):
                ftp.delete(target)
            return ftp.rename(source, target)

    @staticmethod
    def _remote_size(ftp: ftplib.FTP, path: str) -> int | None:
        try:
            return ftp.size(path)
        except ftplib.error_perm:  # SIZE not supported (500/502) or not allowed
            return None

    @staticmethod
    def _discard(ftp: ftplib.FTP, path: str) -> None:
        """Remove a temporary upload, when the connection still allows it."""
        with suppress(ftplib.Error, OSError, EOFError):
            ftp.delete(path)

    def _make_folders(self, ftp: ftplib.FTP, folder: str, made: set[str]) -> None:
        """Create `folder` and its parents (a folder that exists answers 550, which is fine: the upload says more)."""
        if not folder or folder == "/":
            return
        segments = folder.strip("/").split("/")
        prefix = "/" if folder.startswith("/") else ""
        for index in range(len(segments)):
            path = prefix + "/".join(segments[: index + 1])
            if path in made:
                continue
            with self._translated(f"creating the folder {path}"), suppress(ftplib.error_perm):
                ftp.mkd(path)
            made.add(path)

    def _client(self) -> ftplib.FTP:
        return ftplib.FTP(timeout=self.options.timeout, encoding="utf-8")  # noqa: S321 - the kind the user chose

    def _secure(self, ftp: ftplib.FTP) -> None:
        """Called after login (FTPS protects the data connections here)."""

    def _security_details(self, ftp: ftplib.FTP) -> dict[str, str]:
        return {"tls": "none"}

    @contextmanager
    def _session(self) -> Iterator[ftplib.FTP]:
        ftp = self._client()
        try:
            with self._translated("connecting"):
                ftp.connect(self.host, self.port, timeout=self.options.timeout)
            with self._translated(f"logging in as {self.username}"):
                ftp.login(self.username, self._password)
            with self._translated("setting up the data connection"):
                self._secure(ftp)
                ftp.set_pasv(self.passive)
            yield ftp
            with suppress(ftplib.Error, OSError, EOFError):
                ftp.quit()
        finally:
            ftp.close()

    @contextmanager
    def _translated(self, action: str, item: str | None = None) -> Iterator[None]:
        """ftplib, TLS and socket errors as RetryableError / FatalError / ItemRejected naming the server."""
        try:
            yield
        except ExportsError:
            raise
        except ftplib.error_temp as exc:
            raise RetryableError(f"{self.where}: {action} failed: {one_line(str(exc))}", RETRY_SECONDS) from None
        except ftplib.error_perm as exc:
            raise self._refusal(action, one_line(str(exc)), item) from None
        except (ftplib.error_reply, ftplib.error_proto) as exc:
            raise RetryableError(
                f"{self.where}: {action} failed: unexpected answer {one_line(str(exc))!r}", RETRY_SECONDS
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise FatalError(
                f"{self.where}: the server's TLS certificate is not trusted ({exc.verify_message}); "
                "add its CA with the ca_file setting"
            ) from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            raise RetryableError(f"{self.where}: {action} failed: the connection was closed", RETRY_SECONDS) from None
        except ssl.SSLError as exc:
            raise FatalError(f"{self.where}: {action} failed: TLS error ({exc.reason or exc})") from None
        except TimeoutError:
            raise RetryableError(
                f"{self.where}: {action} timed out after {self.options.timeout:g} s", RETRY_SECONDS
            ) from None
        except EOFError:
            raise RetryableError(f"{self.where}: {action} failed: the connection was closed", RETRY_SECONDS) from None
        except OSError as exc:  # refused, reset, unreachable, name not resolved
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise RetryableError(f"{self.where}: {action} failed: {reason}", RETRY_SECONDS) from None

    def _refusal(self, action: str, reply: str, item: str | None) -> ExportsError:
        code = reply[:3]
        if code in ("530", "332"):
            return FatalError(f"{self.where}: login refused for user {self.username} ({reply})")
        if code in ("552", "452"):
            return FatalError(f"{self.where}: {action} refused: storage quota exceeded or disk full ({reply})")
        if code == "553" and item is not None:
            return ItemRejected(f"{self.where} refused the file name ({reply})", item=item)
        if code == "550":
            return FatalError(f"{self.where}: {action} refused: permission denied or no such folder ({reply})")
        return FatalError(f"{self.where}: {action} refused ({reply})")


class FtpsDestination(FtpDestination):
    """An FTP server with explicit TLS (AUTH TLS, PROT P): control and data encrypted, certificate verified."""

    kind: ClassVar[str] = "ftps"
    fields: ClassVar[tuple[FieldSpec, ...]] = (*FtpDestination.fields, _CA_FILE)

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        super().__init__(settings, secrets, options)
        self.ca_file = str(setting(settings, _CA_FILE))
        self._context = tls_context(self.ca_file)

    def _client(self) -> ftplib.FTP:
        return ftplib.FTP_TLS(context=self._context, timeout=self.options.timeout, encoding="utf-8")  # noqa: S321

    def _secure(self, ftp: ftplib.FTP) -> None:
        assert isinstance(ftp, ftplib.FTP_TLS)
        ftp.prot_p()

    def _security_details(self, ftp: ftplib.FTP) -> dict[str, str]:
        sock = ftp.sock
        if isinstance(sock, ssl.SSLSocket):
            cipher = sock.cipher()
            return {"tls": f"{sock.version()} {cipher[0] if cipher else ''}".strip()}
        return {"tls": "none"}
