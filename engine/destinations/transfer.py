"""What the file-transfer destinations (FTP, FTPS, SFTP) share: remote paths, temporary names, hashed reading."""

from __future__ import annotations

import hashlib
import secrets
import ssl
from collections.abc import Mapping
from typing import Any, BinaryIO

from engine.destinations.base import DeliveryFile, FieldSpec
from engine.errors import FatalError, InvalidRequest

PROBE_BODY = b"PM Exports connection test: this file is deleted at once.\n"


def setting(settings: Mapping[str, Any], spec: FieldSpec) -> Any:
    """The value of a setting, its default when absent or empty; InvalidRequest names a missing required one."""
    value = settings.get(spec.name)
    if value is None or value == "":
        if spec.required:
            raise InvalidRequest("is required", spec.name)
        return spec.default
    return value


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A verifying TLS context, trusting `ca_file` (PEM) too when given; InvalidRequest names `ca_file` when it
    cannot be loaded."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidRequest(f"cannot load {ca_file}: {getattr(exc, 'strerror', None) or exc}", "ca_file") from None
    return context


def remote_path(*parts: str) -> str:
    """Join path parts with "/", dropping empty and "." segments; ".." is refused (the core confines targets,
    this is the last guard). A leading "/" of the first part is kept: it is the server's absolute root."""
    absolute = bool(parts) and parts[0].startswith("/")
    segments: list[str] = []
    for part in parts:
        for segment in part.replace("\\", "/").split("/"):
            if segment == "..":
                raise InvalidRequest(f"path {'/'.join(parts)!r} goes up a folder ('..')", "folder")
            if segment and segment != ".":
                segments.append(segment)
    joined = "/".join(segments)
    return "/" + joined if absolute else joined


def parent_and_name(path: str) -> tuple[str, str]:
    """("a/b", "c.csv") for "a/b/c.csv"; ("", "c.csv") for "c.csv"."""
    parent, _sep, name = path.rpartition("/")
    return (parent or ("/" if path.startswith("/") else "")), name


def temporary_name(path: str) -> str:
    """A hidden name beside `path` for the upload in progress, renamed to `path` once complete."""
    parent, name = parent_and_name(path)
    hidden = f".{name}.{secrets.token_hex(4)}.part"
    return remote_path(parent, hidden) if parent else hidden


def probe_name() -> str:
    """The name of the small file a connection test writes and deletes."""
    return f".pm-exports-probe-{secrets.token_hex(6)}"


def one_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of a server's answer, at most `limit` characters."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


class HashingReader:
    """Reads a local file for an upload while counting its bytes and computing its SHA-256, so that what was sent
    can be checked against the export's record before the upload gets its final name."""

    def __init__(self, file: DeliveryFile, stream: BinaryIO) -> None:
        self.file = file
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._hash.update(chunk)
        self.size += len(chunk)
        return chunk

    def check(self) -> None:
        """FatalError when the bytes read are not the file the export wrote (changed or truncated since)."""
        digest = self._hash.hexdigest()
        if self.size != self.file.size or digest != self.file.sha256.lower():
            raise FatalError(
                f"{self.file.name}: the local file changed since the export wrote it "
                f"(expected {self.file.size} bytes, SHA-256 {self.file.sha256[:12]}…; "
                f"read {self.size} bytes, SHA-256 {digest[:12]}…): not delivered"
            )


def open_local(file: DeliveryFile) -> BinaryIO:
    """The local file opened for reading; FatalError when it is gone (purged, or never written)."""
    try:
        return open(file.path, "rb")
    except OSError as exc:
        raise FatalError(f"{file.name}: cannot read the export file ({exc.strerror or exc})") from None


def verify_local_file(file: DeliveryFile, chunk_size: int = 1024 * 1024) -> None:
    """Read a file through and check its size and SHA-256 against the export's record (FatalError otherwise)."""
    with open_local(file) as stream:
        reader = HashingReader(file, stream)
        while reader.read(chunk_size):
            pass
    reader.check()
