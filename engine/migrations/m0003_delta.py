"""Migration 3, frozen DDL: delta exports (content hash per product and destination, pending hashes)."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 3
DESCRIPTION = "delta exports: content hash per product and destination"

# the statements peewee emitted for this migration's tables, exactly, on each backend
SQLITE = (
    (
        'CREATE TABLE IF NOT EXISTS "delta_pending" ("id" INTEGER NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
        '"product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "variant_skus" TEXT, '
        '"content_hash" VARCHAR(32) NOT NULL, FOREIGN KEY ("job_id") REFERENCES "export_job" ("id")'
        " ON DELETE CASCADE)"
    ),
    'CREATE INDEX IF NOT EXISTS "delta_pending_job_id" ON "delta_pending" ("job_id")',
    ('CREATE UNIQUE INDEX IF NOT EXISTS "delta_pending_job_id_product_id" ON "delta_pending" ("job_id", "product_id")'),
    (
        'CREATE TABLE IF NOT EXISTS "delta_state" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"scope" VARCHAR(255) NOT NULL, "product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), '
        '"variant_skus" TEXT, "content_hash" VARCHAR(32) NOT NULL)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "delta_state_scope_product_id" ON "delta_state" ("scope", "product_id")',
)

POSTGRES = (
    (
        'CREATE TABLE IF NOT EXISTS "delta_pending" ("id" SERIAL NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
        '"product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "variant_skus" TEXT, '
        '"content_hash" VARCHAR(32) NOT NULL, FOREIGN KEY ("job_id") REFERENCES "export_job" ("id")'
        " ON DELETE CASCADE)"
    ),
    'CREATE INDEX IF NOT EXISTS "delta_pending_job_id" ON "delta_pending" ("job_id")',
    ('CREATE UNIQUE INDEX IF NOT EXISTS "delta_pending_job_id_product_id" ON "delta_pending" ("job_id", "product_id")'),
    (
        'CREATE TABLE IF NOT EXISTS "delta_state" ("id" SERIAL NOT NULL PRIMARY KEY, '
        '"scope" VARCHAR(255) NOT NULL, "product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), '
        '"variant_skus" TEXT, "content_hash" VARCHAR(32) NOT NULL)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "delta_state_scope_product_id" ON "delta_state" ("scope", "product_id")',
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
