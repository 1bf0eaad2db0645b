"""Migration 2, frozen DDL: API keys for the gRPC engine."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 2
DESCRIPTION = "API keys for the gRPC engine"

# the statements peewee emitted for this migration's tables, exactly, on each backend
SQLITE = (
    (
        'CREATE TABLE IF NOT EXISTS "api_key" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(128) NOT NULL, '
        '"role" VARCHAR(16) NOT NULL, "prefix" VARCHAR(16) NOT NULL, "key_hash" VARCHAR(64) NOT NULL, '
        '"created_at" DATETIME NOT NULL, "last_used_at" DATETIME, "revoked_at" DATETIME)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "api_key_prefix" ON "api_key" ("prefix")',
)

POSTGRES = (
    (
        'CREATE TABLE IF NOT EXISTS "api_key" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(128) NOT NULL, '
        '"role" VARCHAR(16) NOT NULL, "prefix" VARCHAR(16) NOT NULL, "key_hash" VARCHAR(64) NOT NULL, '
        '"created_at" TIMESTAMP NOT NULL, "last_used_at" TIMESTAMP, "revoked_at" TIMESTAMP)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "api_key_prefix" ON "api_key" ("prefix")',
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
