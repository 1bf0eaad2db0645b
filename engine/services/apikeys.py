"""API keys of the gRPC API: create (the plaintext is shown once), authenticate, list, revoke, check roles.

A key reads `pmx_<prefix>_<secret>`. Only its SHA-256 is stored; the prefix finds the row without revealing
the key. Roles (engine.models.auth, shared with the console's users) are ordered: reader < manager < admin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from engine.catalog.models import utcnow
from engine.errors import InvalidRequest, NotFound, PermissionDenied, Unauthenticated
from engine.models import API_KEY_ROLES, ApiKey
from engine.models.auth import ROLE_RANK, role_allows
from engine.services.names import check_name
from engine.services.views import ApiKeyView

KEY_SCHEME = "pmx"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # last_used_at is written at most this often per key


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str, role: str) -> tuple[str, ApiKeyView]:
    """Make a key; returns (the plaintext key, shown this once, and the key's view)."""
    name = check_name(name or "", limit=128)
    if role not in ROLE_RANK:
        raise InvalidRequest(f"unknown role {role!r} (known: {', '.join(API_KEY_ROLES)})", "role")
    while True:
        prefix = secrets.token_hex(4)
        if not ApiKey.select().where(ApiKey.prefix == prefix).exists():
            break
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey.create(name=name, role=role, prefix=prefix, key_hash=_hash(key))
    return key, ApiKeyView.of(row)


def authenticate(key: str | None) -> ApiKeyView:
    """The active key matching `key`; raises Unauthenticated otherwise."""
    if not key:
        raise Unauthenticated("no API key: send the metadata 'authorization: Bearer <key>'")
    scheme, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not prefix or not secret:
        raise Unauthenticated("malformed API key (expected pmx_<prefix>_<secret>)")
    digest = _hash(key)
    row = ApiKey.get_or_none(ApiKey.prefix == prefix)
    stored = row.key_hash if row is not None else _hash(secrets.token_hex(16))  # same work when unknown
    if not hmac.compare_digest(stored, digest) or row is None:
        raise Unauthenticated("unknown API key")
    if row.revoked_at is not None:
        raise Unauthenticated(f"API key {row.prefix} was revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.update(last_used_at=now).where(ApiKey.id == row.id).execute()
        row.last_used_at = now
    return ApiKeyView.of(row)


def require_role(key: ApiKeyView, role: str) -> None:
    """Raise PermissionDenied unless `key` has `role` or a higher one."""
    if not role_allows(key.role, role):
        raise PermissionDenied(f"API key {key.name!r} has the role {key.role}; this needs {role}")


def list_api_keys(*, include_revoked: bool = True) -> list[ApiKeyView]:
    query = ApiKey.select().order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_null())
    return [ApiKeyView.of(k) for k in query]


def revoke_api_key(prefix_or_id: str | int) -> ApiKeyView:
    """Revoke a key by id or prefix (a whole key works too). Revoking a revoked key changes nothing."""
    ident = str(prefix_or_id).strip()
    if ident.startswith(f"{KEY_SCHEME}_"):
        ident = ident.split("_")[1]
    row = ApiKey.get_or_none(ApiKey.prefix == ident)
    if row is None and ident.isdigit():
        row = ApiKey.get_or_none(ApiKey.id == int(ident))
    if row is None:
        raise NotFound(f"no API key with id or prefix {ident!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.save()
    return ApiKeyView.of(row)
