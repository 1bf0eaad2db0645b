"""Console tables: the users who log in to the admin console, and the audit log of what they (and keys) did."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, IntegerField, TextField

from engine.catalog.models import BaseModel, utcnow
from engine.fields import JSONTextField


class User(BaseModel):
    """A console user: a role of engine.models.auth.ROLES and a werkzeug password hash (scrypt), never the password."""

    id = AutoField()
    username = CharField(max_length=64, unique=True)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    failed_logins = IntegerField(default=0)  # consecutive failures since the last success or lockout
    locked_until = DateTimeField(null=True)
    disabled_at = DateTimeField(null=True)

    class Meta:
        table_name = "console_user"  # "user" is a reserved word in PostgreSQL


class AuditEntry(BaseModel):
    """Who did what to which object, when, with the object's state before and after (secrets left out)."""

    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    actor = CharField(max_length=128)
    action = CharField(max_length=32)
    object_type = CharField(max_length=32)
    object_name = CharField(max_length=255)
    before = JSONTextField(null=True)
    after = JSONTextField(null=True)
    message = TextField(default="")
