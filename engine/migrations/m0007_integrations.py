"""Migration 7, frozen DDL: integrations (settings + encrypted secrets) and deliveries of export files."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 7
DESCRIPTION = "integrations and deliveries"

_INDEXES = (
    'CREATE INDEX IF NOT EXISTS "delivery_job_id" ON "delivery" ("job_id")',
    'CREATE INDEX IF NOT EXISTS "delivery_task_id" ON "delivery" ("task_id")',
    'CREATE INDEX IF NOT EXISTS "delivery_integration_id" ON "delivery" ("integration_id")',
    'CREATE INDEX IF NOT EXISTS "delivery_status" ON "delivery" ("status")',
)
_DELIVERY_COLUMNS = (
    '"integration_id" INTEGER, "integration_name" VARCHAR(128) NOT NULL, "target" VARCHAR(1024) NOT NULL, '
    '"status" VARCHAR(16) NOT NULL, "attempts" INTEGER NOT NULL, "last_error" TEXT, "held_reason" TEXT, '
    '"gate" TEXT, "receipts" TEXT, '
)
_DELIVERY_KEYS = (
    'FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("task_id") REFERENCES "export_job" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("integration_id") REFERENCES "integration" ("id") ON DELETE SET NULL)'
)

SQLITE = (
    'CREATE TABLE IF NOT EXISTS "integration" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(128) NOT NULL, '
    '"kind" VARCHAR(32) NOT NULL, "settings" TEXT NOT NULL, "secrets" TEXT, "created_at" DATETIME NOT NULL, '
    '"updated_at" DATETIME NOT NULL, "tested_at" DATETIME, "test_ok" INTEGER, "test_message" TEXT)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "integration_name" ON "integration" ("name")',
    'CREATE TABLE IF NOT EXISTS "delivery" ("id" INTEGER NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
    '"task_id" INTEGER, ' + _DELIVERY_COLUMNS + '"created_at" DATETIME NOT NULL, "started_at" DATETIME, '
    '"finished_at" DATETIME, ' + _DELIVERY_KEYS,
    *_INDEXES,
)

POSTGRES = (
    'CREATE TABLE IF NOT EXISTS "integration" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(128) NOT NULL, '
    '"kind" VARCHAR(32) NOT NULL, "settings" TEXT NOT NULL, "secrets" TEXT, "created_at" TIMESTAMP NOT NULL, '
    '"updated_at" TIMESTAMP NOT NULL, "tested_at" TIMESTAMP, "test_ok" BOOLEAN, "test_message" TEXT)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "integration_name" ON "integration" ("name")',
    'CREATE TABLE IF NOT EXISTS "delivery" ("id" SERIAL NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
    '"task_id" INTEGER, ' + _DELIVERY_COLUMNS + '"created_at" TIMESTAMP NOT NULL, "started_at" TIMESTAMP, '
    '"finished_at" TIMESTAMP, ' + _DELIVERY_KEYS,
    *_INDEXES,
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
