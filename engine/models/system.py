"""System tables: the applied schema versions and this database's engine instance."""

from __future__ import annotations

from peewee import CharField, DateTimeField, IntegerField, TextField

from engine.catalog.models import BaseModel, utcnow


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    description = TextField()
    applied_at = DateTimeField(default=utcnow)


class Instance(BaseModel):
    """The one row naming this database (made by migration 5). Keys in Redis carry its id, so that a new or reset
    database never sees another database's job events, cancel flags, leases or checkpoints."""

    id = CharField(max_length=32, primary_key=True)
    created_at = DateTimeField(default=utcnow)
