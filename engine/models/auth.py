"""Authentication: the roles shared by API keys and console users, and the API key table."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField

from engine.catalog.models import BaseModel, utcnow

# The one definition of the roles, lowest first, for both the gRPC API keys and the console's users.
ROLES = ("reader", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
API_KEY_ROLES = ROLES


def role_allows(role: str, needed: str) -> bool:
    """Whether `role` is `needed` or a higher one (an unknown role allows nothing)."""
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]


class ApiKey(BaseModel):
    """A key for the gRPC API. Only its SHA-256 is stored; `prefix` finds it without revealing it."""

    id = AutoField()
    name = CharField(max_length=128)
    role = CharField(max_length=16)
    prefix = CharField(max_length=16, unique=True)
    key_hash = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
