"""SFTP destination (paramiko): pinned host key, password or private-key login, streamed upload under a temporary
name, size check, then posix-rename.

The host key is pinned by the `host_key` setting ("ssh-ed25519 SHA256:...", as `test()` reports it in
details["host_key"]). Without one, `test()` shows the server's key without logging in (a password must not be
sent to an unverified server) and `deliver()` refuses; a key that differs from the pinned one is refused with
both fingerprints. Dropped connections, timeouts and SSH negotiation failures are RetryableError; a refused
login, an unknown or changed host key and anything the SFTP server answers (permission denied, no such folder,
disk full) are FatalError.
"""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, ClassVar

import paramiko

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
)
from engine.errors import ExportsError, FatalError, InvalidRequest, RetryableError

RETRY_SECONDS = 30.0
_KEY_CLASSES: tuple[type[paramiko.PKey], ...] = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)

_HOST = FieldSpec("host", required=True, max_length=255, help="Server host name or address")
_PORT = FieldSpec("port", kind="int", default=22, minimum=1, maximum=65535, help="Server port")
_USERNAME = FieldSpec("username", required=True, max_length=255, help="Login name")
_HOST_KEY = FieldSpec(
    "host_key", default="", max_length=800, help="Pinned server key fingerprint, as a connection test reports it"
)
_BASE_PATH = FieldSpec(
    "base_path", default="", max_length=1024, help="Folder on the server that deliveries go under (default: login)"
)
_PASSWORD = FieldSpec("password", secret=True, max_length=1024, default="", help="Login password")
_PRIVATE_KEY = FieldSpec(
    "private_key", secret=True, max_length=16384, default="", help="Private key (OpenSSH or PEM text)"
)
_PASSPHRASE = FieldSpec(
    "private_key_passphrase", secret=True, max_length=1024, default="", help="Passphrase of the private key"
)


@dataclass(frozen=True)
class HostKey:
    """A host key as people compare them: its type and its SHA-256 fingerprint ("SHA256:" + unpadded base64)."""

    key_type: str | None
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.key_type} {self.fingerprint}" if self.key_type else self.fingerprint

    @classmethod
    def of(cls, key: paramiko.PKey) -> HostKey:
        digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode("ascii").rstrip("=")
        return cls(key.get_name(), f"SHA256:{digest}")

    @classmethod
    def parse(cls, text: str) -> HostKey:
        """Read "TYPE SHA256:...", "SHA256:..." or an OpenSSH public key line "TYPE AAAA... [comment]"."""
        parts = text.split()
        if len(parts) == 1 and parts[0].startswith("SHA256:"):
            return cls(None, parts[0].rstrip("="))
        if len(parts) >= 2 and parts[1].startswith("SHA256:"):
            return cls(parts[0], parts[1].rstrip("="))
        if len(parts) >= 2:
            try:
                blob = base64.b64decode(parts[1], validate=True)
            except ValueError:
                blob = b""
            if blob:
                digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
                return cls(parts[0], f"SHA256:{digest}")
        raise InvalidRequest(
            "expected a fingerprint such as 'ssh-ed25519 SHA256:...' (as a connection test shows it)", "host_key"
        )

    def matches(self, other: HostKey) -> bool:
        return self.fingerprint == other.fingerprint and (self.key_type is None or self.key_type == other.key_type)


class SftpDestination:
    """An SFTP server reached over SSH; its host key must be pinned before anything is delivered."""

    kind: ClassVar[str] = "sftp"
    verifies_content: ClassVar[bool] = True  # each file is hashed as it is sent, checked before it is final
    fields: ClassVar[tuple[FieldSpec, ...]] = (
        _HOST,
        _PORT,
        _USERNAME,
        _HOST_KEY,
        _BASE_PATH,
        _PASSWORD,
        _PRIVATE_KEY,
        _PASSPHRASE,
    )

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        self.host = str(setting(settings, _HOST))
        self.port = int(setting(settings, _PORT))
        self.username = str(setting(settings, _USERNAME))
        pinned = str(setting(settings, _HOST_KEY)).strip()
        self.host_key = HostKey.parse(pinned) if pinned else None
        self.base_path = remote_path(str(setting(settings, _BASE_PATH)))
        self._password = str(setting(secrets, _PASSWORD))
        self._private_key = str(setting(secrets, _PRIVATE_KEY))
        self._passphrase = str(setting(secrets, _PASSPHRASE))
        if not self._password and not self._private_key:
            raise InvalidRequest("set a password or a private_key secret", "password")
        self.options = options

    @property
    def where(self) -> str:
        return f"SFTP {self.host}:{self.port}"

    def test(self) -> ProbeResult:
        """Check the host key; when it is pinned and matches, log in, write and delete a probe file."""
        started = time.monotonic()
        with self._transport() as (transport, presented):
            details = {"host_key": str(presented), "server": one_line(transport.remote_version)}
            if self.host_key is None:
                details["trusted"] = "no"
                message = f"host key {presented} is not trusted yet: check it with the server's owner, then trust it"
                return ProbeResult((time.monotonic() - started) * 1000, message, details)
            self._check_host_key(presented)
            details["trusted"] = "yes"
            with self._sftp(transport) as sftp:
                self._make_folders(transport, sftp, self.base_path, set())
                probe = remote_path(self.base_path, probe_name())
                with self._translated(transport, "writing the probe file"):
                    sftp.putfo(io.BytesIO(PROBE_BODY), probe, confirm=False)
                    sftp.remove(probe)
        return ProbeResult((time.monotonic() - started) * 1000, details["server"], details)

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        """Upload each file under a temporary name in `folder`, check its size, then rename it to its name."""
        receipts: list[Receipt] = []
        with self._transport() as (transport, presented):
            self._check_host_key(presented)
            with self._sftp(transport) as sftp:
                made: set[str] = set()
                for file in files:
                    target = remote_path(self.base_path, folder, file.name)
                    self._make_folders(transport, sftp, parent_and_name(target)[0], made)
                    receipts.append(self._upload(transport, sftp, file, target))
        return receipts

    # internals

    def _upload(
        self, transport: paramiko.Transport, sftp: paramiko.SFTPClient, file: DeliveryFile, target: str
    ) -> Receipt:
        partial = temporary_name(target)
        try:
            with open_local(file) as stream, self._translated(transport, f"uploading {file.name}"):
                reader = HashingReader(file, stream)
                sftp.putfo(reader, partial, file_size=file.size, confirm=False)
            reader.check()
            with self._translated(transport, f"checking {file.name}"):
                remote_size = sftp.stat(partial).st_size
            if remote_size != file.size:
                # pipelined writes: paramiko drops the server's refusals of single writes, the size tells
                raise FatalError(
                    f"{self.where}: the server stored {remote_size} of the {file.size} bytes of {file.name}: "
                    "it refused the rest (disk full or quota exceeded?)"
                )
            with self._translated(transport, f"renaming {file.name} to its final name"):
                self._rename(sftp, partial, target)
        except BaseException:
            if transport.is_active():
                with suppress(OSError, EOFError, paramiko.SSHException):
                    sftp.remove(partial)
            raise
        return Receipt(remote=target, size=file.size, detail=f"{file.size} bytes written and renamed")

    @staticmethod
    def _rename(sftp: paramiko.SFTPClient, source: str, target: str) -> None:
        try:
            sftp.posix_rename(source, target)  # replaces an older file atomically (OpenSSH extension)
        except OSError:
            # servers without the extension: SFTP v3 rename does not replace, so remove the old file first
            with suppress(FileNotFoundError):
                sftp.remove(target)
            sftp.rename(source, target)

    def _make_folders(
        self, transport: paramiko.Transport, sftp: paramiko.SFTPClient, folder: str, made: set[str]
    ) -> None:
        if not folder or folder == "/":
            return
        segments = folder.strip("/").split("/")
        prefix = "/" if folder.startswith("/") else ""
        for index in range(len(segments)):
            path = prefix + "/".join(segments[: index + 1])
            if path in made:
                continue
            with self._translated(transport, f"creating the folder {path}"):
                try:
                    sftp.stat(path)
                except FileNotFoundError:
                    sftp.mkdir(path)
            made.add(path)

    def _check_host_key(self, presented: HostKey) -> None:
        if self.host_key is None:
            raise FatalError(
                f"{self.where}: the server's host key {presented} is not trusted yet: "
                "run a connection test and trust the key it shows"
            )
        if not self.host_key.matches(presented):
            raise FatalError(
                f"{self.where}: host key changed: expected {self.host_key}, the server presented {presented}; "
                "nothing was sent (trust the new key only if the server's owner confirms the change)"
            )

    def _load_private_key(self) -> paramiko.PKey:
        passphrase = self._passphrase or None
        for key_class in _KEY_CLASSES:
            try:
                return key_class.from_private_key(io.StringIO(self._private_key), password=passphrase)
            except paramiko.PasswordRequiredException:
                raise FatalError("private_key is encrypted: set the private_key_passphrase secret") from None
            except (paramiko.SSHException, ValueError):
                continue
        raise FatalError(
            "private_key: not a readable Ed25519, ECDSA or RSA private key (or the passphrase is wrong)"
        ) from None

    def _authenticate(self, transport: paramiko.Transport) -> None:
        try:
            if self._private_key:
                key = self._load_private_key()
                try:
                    transport.auth_publickey(self.username, key)
                    return
                except paramiko.AuthenticationException:
                    if not self._password:
                        raise
            transport.auth_password(self.username, self._password)
        except paramiko.BadAuthenticationType as exc:
            allowed = ", ".join(exc.allowed_types) or "none"
            raise FatalError(
                f"{self.where}: login refused for user {self.username}: the server accepts {allowed} only"
            ) from None
        except paramiko.AuthenticationException:
            raise FatalError(f"{self.where}: login refused for user {self.username} (authentication failed)") from None

    @contextmanager
    def _transport(self) -> Iterator[tuple[paramiko.Transport, HostKey]]:
        """An SSH connection whose handshake is done (not yet authenticated) and the host key it presented."""
        timeout = self.options.timeout
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError:
            raise RetryableError(f"{self.where}: connecting timed out after {timeout:g} s", RETRY_SECONDS) from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise RetryableError(f"{self.where}: connecting failed: {reason}", RETRY_SECONDS) from None
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = timeout
            transport.auth_timeout = timeout
            transport.handshake_timeout = timeout
            if self.host_key is not None and self.host_key.key_type:
                self._prefer_key_type(transport, self.host_key.key_type)
            with self._translated(transport, "negotiating the SSH connection"):
                transport.start_client(timeout=timeout)
            yield transport, HostKey.of(transport.get_remote_server_key())
        finally:
            transport.close()

    @staticmethod
    def _prefer_key_type(transport: paramiko.Transport, key_type: str) -> None:
        """Ask for the pinned key's type first, so a server with several host keys presents the pinned one."""
        options = transport.get_security_options()
        if key_type in options.key_types:
            options.key_types = (key_type, *[k for k in options.key_types if k != key_type])

    @contextmanager
    def _sftp(self, transport: paramiko.Transport) -> Iterator[paramiko.SFTPClient]:
        self._authenticate(transport)
        with self._translated(transport, "opening the SFTP session"):
            sftp = paramiko.SFTPClient.from_transport(transport)
        if sftp is None:
            raise FatalError(f"{self.where}: the server offers no SFTP session")
        try:
            sftp.get_channel().settimeout(self.options.timeout)
            yield sftp
        finally:
            with suppress(OSError, EOFError, paramiko.SSHException):
                sftp.close()

    @contextmanager
    def _translated(self, transport: paramiko.Transport | None, action: str) -> Iterator[None]:
        """paramiko and socket errors as RetryableError (connection) or FatalError (the server's answer)."""
        try:
            yield
        except ExportsError:
            raise
        except TimeoutError:
            raise RetryableError(
                f"{self.where}: {action} timed out after {self.options.timeout:g} s", RETRY_SECONDS
            ) from None
        except (EOFError, ConnectionError, paramiko.SSHException) as exc:
            reason = one_line(str(exc)) or "the connection was closed"
            raise RetryableError(f"{self.where}: {action} failed: {reason}", RETRY_SECONDS) from None
        except PermissionError:
            raise FatalError(f"{self.where}: {action} refused: permission denied") from None
        except FileNotFoundError:
            raise FatalError(f"{self.where}: {action} failed: no such file or folder") from None
        except OSError as exc:
            reason = one_line(exc.strerror or str(exc)) or type(exc).__name__
            if transport is None or not transport.is_active():
                raise RetryableError(
                    f"{self.where}: {action} failed: connection lost ({reason})", RETRY_SECONDS
                ) from None
            raise FatalError(f"{self.where}: {action} refused by the server: {reason}") from None
