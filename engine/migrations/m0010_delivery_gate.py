"""Migration 10: integration.consecutive_failures, disabled_at and disabled_reason: a webhook integration whose
deliveries keep failing is disabled (and enabled again by a successful test)."""

from __future__ import annotations

from peewee import SQL, Database, DateTimeField, IntegerField, TextField

from engine.migrations.ddl import add_column

VERSION = 10
DESCRIPTION = "integrations: consecutive failed deliveries, disabled state and reason"


def apply(db: Database) -> None:
    add_column(db, "integration", "consecutive_failures", IntegerField(default=0, constraints=[SQL("DEFAULT 0")]))
    add_column(db, "integration", "disabled_at", DateTimeField(null=True))
    add_column(db, "integration", "disabled_reason", TextField(null=True))
