"""Migration 5: job kinds (export_job.kind, 'export' for every existing job) and the engine instance id."""

from __future__ import annotations

import datetime as dt
import uuid

from peewee import SQL, CharField, Database, Table

from engine.migrations.ddl import add_column, run_frozen

VERSION = 5
DESCRIPTION = "job kinds and the engine instance id"

INSTANCE_SQLITE = ('CREATE TABLE "instance" ("id" VARCHAR(32) NOT NULL PRIMARY KEY, "created_at" DATETIME NOT NULL)',)
INSTANCE_POSTGRES = (
    'CREATE TABLE "instance" ("id" VARCHAR(32) NOT NULL PRIMARY KEY, "created_at" TIMESTAMP NOT NULL)',
)


def apply(db: Database) -> None:
    kind = CharField(max_length=32, default="export", constraints=[SQL("DEFAULT 'export'")])
    add_column(db, "export_job", "kind", kind)
    run_frozen(db, sqlite=INSTANCE_SQLITE, postgres=INSTANCE_POSTGRES)
    created_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    Table("instance", ("id", "created_at")).bind(db).insert(id=uuid.uuid4().hex, created_at=created_at).execute()
