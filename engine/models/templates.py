"""Template tables: saved export definitions and every saved state of each."""

from __future__ import annotations

from peewee import AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from engine.catalog.models import BaseModel, utcnow
from engine.fields import JSONTextField


class Template(BaseModel):
    """A saved, reusable export definition (format, selection, columns, options) — see pipeline.spec."""

    id = AutoField()
    name = CharField(max_length=128, unique=True)
    description = TextField(default="")
    format = CharField(max_length=32)
    spec = JSONTextField()  # the full ExportSpec as a dict
    version = IntegerField(default=1)
    predefined = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class TemplateVersion(BaseModel):
    """Every saved state of a template, so a job can be replayed and diffed."""

    template = ForeignKeyField(Template, backref="versions", on_delete="CASCADE")
    version = IntegerField()
    spec = JSONTextField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("template", "version"), True),)
