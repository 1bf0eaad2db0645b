"""Authentication tables: API keys for the gRPC engine."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField

from engine.catalog.models import BaseModel, utcnow

API_KEY_ROLES = ("reader", "manager", "admin")


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
