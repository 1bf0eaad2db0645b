"""The destination kinds by name, imported lazily so a kind's client library loads only when it is used."""

from __future__ import annotations

import importlib
from typing import cast

from engine.destinations.base import Destination
from engine.errors import InvalidRequest

DESTINATIONS: dict[str, str] = {
    "local": "engine.destinations.local:LocalFolderDestination",
    "s3": "engine.destinations.s3:S3Destination",
    "ftp": "engine.destinations.ftp:FtpDestination",
    "ftps": "engine.destinations.ftp:FtpsDestination",
    "sftp": "engine.destinations.sftp:SftpDestination",
    "smtp": "engine.destinations.email:EmailDestination",
    "webhook": "engine.destinations.webhook:WebhookDestination",
}


def get_destination(kind: str) -> type[Destination]:
    """The destination class for an integration kind; InvalidRequest names the kind when it is unknown."""
    target = DESTINATIONS.get(kind)
    if target is None:
        raise InvalidRequest(f"unknown integration kind {kind!r} (known: {', '.join(sorted(DESTINATIONS))})", "kind")
    module_name, class_name = target.split(":")
    return cast("type[Destination]", getattr(importlib.import_module(module_name), class_name))
