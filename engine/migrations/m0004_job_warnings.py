"""Migration 4, frozen DDL: job warnings (images that could not be fetched or processed)."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 4
DESCRIPTION = "job warnings (images that could not be fetched or processed)"

# the statements peewee emitted for this migration's tables, exactly, on each backend
SQLITE = (
    (
        'CREATE TABLE IF NOT EXISTS "job_warning" ("id" INTEGER NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
        '"product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "kind" VARCHAR(32) NOT NULL, '
        '"message" TEXT NOT NULL, FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "job_warning_job_id" ON "job_warning" ("job_id")',
)

POSTGRES = (
    (
        'CREATE TABLE IF NOT EXISTS "job_warning" ("id" SERIAL NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
        '"product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "kind" VARCHAR(32) NOT NULL, '
        '"message" TEXT NOT NULL, FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "job_warning_job_id" ON "job_warning" ("job_id")',
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
