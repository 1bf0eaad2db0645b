"""Migration 9, frozen DDL: notifications (the in-app list and the record of the emails and webhooks sent)."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 9
DESCRIPTION = "notifications"

_INDEXES = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "notification_key" ON "notification" ("key")',
    'CREATE INDEX IF NOT EXISTS "notification_job_id" ON "notification" ("job_id")',
    'CREATE INDEX IF NOT EXISTS "notification_task_id" ON "notification" ("task_id")',
    'CREATE INDEX IF NOT EXISTS "notification_created_at" ON "notification" ("created_at")',
    'CREATE INDEX IF NOT EXISTS "notification_read_at" ON "notification" ("read_at")',
)
_COLUMNS = (
    '"key" VARCHAR(64) NOT NULL, "event" VARCHAR(32) NOT NULL, "job_id" INTEGER, "template_name" VARCHAR(128), '
    '"status" VARCHAR(16) NOT NULL, "title" VARCHAR(255) NOT NULL, "summary" TEXT NOT NULL, "policy" TEXT NOT NULL, '
)
_KEYS = (
    'FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("task_id") REFERENCES "export_job" ("id") ON DELETE SET NULL)'
)

SQLITE = (
    'CREATE TABLE IF NOT EXISTS "notification" ("id" INTEGER NOT NULL PRIMARY KEY, '
    + _COLUMNS
    + '"in_app" INTEGER NOT NULL, "channels" TEXT, "task_id" INTEGER, "created_at" DATETIME NOT NULL, '
    '"read_at" DATETIME, ' + _KEYS,
    *_INDEXES,
)

POSTGRES = (
    'CREATE TABLE IF NOT EXISTS "notification" ("id" SERIAL NOT NULL PRIMARY KEY, '
    + _COLUMNS
    + '"in_app" BOOLEAN NOT NULL, "channels" TEXT, "task_id" INTEGER, "created_at" TIMESTAMP NOT NULL, '
    '"read_at" TIMESTAMP, ' + _KEYS,
    *_INDEXES,
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
