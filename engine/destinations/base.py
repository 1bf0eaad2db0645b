"""Destinations: where finished export files are delivered (S3, FTP/FTPS, SFTP, email, webhook), one module each."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

FieldKind = Literal["text", "int", "bool", "choice", "text_list"]


@dataclass(frozen=True)
class FieldSpec:
    """One setting (or secret) an integration kind takes; the core validates values against these on save."""

    name: str
    kind: FieldKind = "text"
    required: bool = False
    secret: bool = False  # stored encrypted, write-only, never shown or logged
    default: Any = None
    choices: tuple[str, ...] = ()
    max_length: int = 1024  # text: characters; text_list: items
    minimum: int | None = None  # int bounds
    maximum: int | None = None
    help: str = ""


@dataclass(frozen=True)
class DeliveryFile:
    """One finished export file to send."""

    name: str  # the file's name at the destination (the core rendered and confined the target pattern)
    path: Path  # the local file to send: stream it, never read it whole
    size: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class Receipt:
    """What a destination confirmed for one delivered file (or message, or event)."""

    remote: str  # remote path, object key, message id or URL posted to
    size: int
    checksum: str | None = None  # what the server confirmed (SHA-256, ETag), when it says
    url: str | None = None  # a link to the delivered file, when there is one
    detail: str = ""  # the server's answer, one line


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of a successful connection test."""

    latency_ms: float
    message: str  # the server's answer, one line
    details: dict[str, str] = field(default_factory=dict)  # e.g. {"host_key": "ssh-ed25519 SHA256:..."}


@dataclass(frozen=True)
class DestinationOptions:
    """Engine-wide options a destination receives beside its integration's settings and secrets."""

    allow_private_networks: bool = False  # PM_EXPORTS_ALLOW_PRIVATE_NETWORKS (webhooks; loopback in tests)
    timeout: float = 30.0  # seconds per network operation
    link_for: Callable[[DeliveryFile], str | None] = lambda _f: None  # download link (email above its limit)


class Destination(Protocol):
    """A delivery target kind; errors are RetryableError, FatalError or ItemRejected and never contain a secret.

    A kind may also set `disable_after_failures: ClassVar[int]`: its integrations are disabled after that many
    failed deliveries in a row (webhooks), until a successful test; and `verifies_content: ClassVar[bool] = True`
    when it reads every file it sends through a check of its size and SHA-256 against the DeliveryFile before the
    file gets its final name (FatalError "changed since the export wrote it" otherwise): the core then reads each
    file once, for the upload, instead of hashing it beforehand too.

    A kind may also have a classmethod `check_settings(settings: Mapping[str, Any]) -> None` for what its
    FieldSpecs cannot say (a local folder must be absolute): it gets the settings already checked against the fields
    and raises InvalidRequest naming the setting. The core calls it whenever an integration is created or updated,
    so a bad value is refused on save, beside its field, not at the first test or delivery.
    """

    kind: ClassVar[str]  # "local", "s3", "ftp", "ftps", "sftp", "smtp", "webhook"
    fields: ClassVar[tuple[FieldSpec, ...]]  # its settings and secrets

    def __init__(
        self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions
    ) -> None: ...

    def test(self) -> ProbeResult:
        """Connect, authenticate, write and delete a small probe file (or send a test event)."""
        ...

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        """Send the files into `folder` (relative, already confined; "" for the root), each atomically where the
        protocol allows (temporary name then rename; never a partial file under the final name)."""
        ...
