"""System tables: the applied schema versions."""

from __future__ import annotations

from peewee import DateTimeField, IntegerField, TextField

from engine.catalog.models import BaseModel, utcnow


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    description = TextField()
    applied_at = DateTimeField(default=utcnow)
