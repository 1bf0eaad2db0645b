"""Secrets at rest: integration secrets encrypted with Fernet; several keys accepted (MultiFernet) for rotation.

The keys come from PM_EXPORTS_SECRET_KEY (comma-separated, the first encrypts, all decrypt) or, when it is empty,
from a key file under the var folder created with mode 0600 on first use. Plaintext never leaves this module
except to the destination that needs it; errors never quote a secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from engine.errors import ConfigError
from engine.settings import Settings

KEY_FILE_NAME = "secret.key"


class SecretBox:
    """Encrypts a mapping of secrets into one token and back; `rotate` re-encrypts a token with the first key."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigError("no secret key: set PM_EXPORTS_SECRET_KEY or let the engine create its key file")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            raise ConfigError("PM_EXPORTS_SECRET_KEY: each key must be 32 url-safe base64-encoded bytes") from None

    def encrypt(self, secrets: Mapping[str, str]) -> str:
        return self._fernet.encrypt(orjson.dumps(dict(secrets))).decode()

    def decrypt(self, token: str | None) -> dict[str, str]:
        if not token:
            return {}
        try:
            data = orjson.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise ConfigError(
                "stored secrets cannot be decrypted with the configured keys (PM_EXPORTS_SECRET_KEY or the key file)"
            ) from None
        return {str(k): str(v) for k, v in data.items()}

    def rotate(self, token: str) -> str:
        """The same secrets encrypted with the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise ConfigError("stored secrets cannot be decrypted with the configured keys") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def key_file(settings: Settings) -> Path:
    return settings.var_dir / KEY_FILE_NAME


def read_or_create_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def secret_box(settings: Settings) -> SecretBox:
    """The box of the configured keys: PM_EXPORTS_SECRET_KEY, else the var folder's key file (made on first use)."""
    if settings.secret_key:
        keys = [k.strip().encode() for k in settings.secret_key.split(",") if k.strip()]
    else:
        keys = [read_or_create_key_file(key_file(settings))]
    return SecretBox(keys)
