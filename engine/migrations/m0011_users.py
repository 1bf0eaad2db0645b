"""Migration 11, frozen DDL: the console's users and the audit log."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 11
DESCRIPTION = "console users and the audit log"

SQLITE = (
    'CREATE TABLE IF NOT EXISTS "console_user" ("id" INTEGER NOT NULL PRIMARY KEY, "username" VARCHAR(64) NOT NULL, '
    '"password_hash" VARCHAR(255) NOT NULL, "role" VARCHAR(16) NOT NULL, "created_at" DATETIME NOT NULL, '
    '"last_login_at" DATETIME, "failed_logins" INTEGER NOT NULL, "locked_until" DATETIME, "disabled_at" DATETIME)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "console_user_username" ON "console_user" ("username")',
    'CREATE TABLE IF NOT EXISTS "audit_entry" ("id" INTEGER NOT NULL PRIMARY KEY, "at" DATETIME NOT NULL, '
    '"actor" VARCHAR(128) NOT NULL, "action" VARCHAR(32) NOT NULL, "object_type" VARCHAR(32) NOT NULL, '
    '"object_name" VARCHAR(255) NOT NULL, "before" TEXT, "after" TEXT, "message" TEXT NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "audit_entry_at" ON "audit_entry" ("at")',
)

POSTGRES = (
    'CREATE TABLE IF NOT EXISTS "console_user" ("id" SERIAL NOT NULL PRIMARY KEY, "username" VARCHAR(64) NOT NULL, '
    '"password_hash" VARCHAR(255) NOT NULL, "role" VARCHAR(16) NOT NULL, "created_at" TIMESTAMP NOT NULL, '
    '"last_login_at" TIMESTAMP, "failed_logins" INTEGER NOT NULL, "locked_until" TIMESTAMP, "disabled_at" TIMESTAMP)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "console_user_username" ON "console_user" ("username")',
    'CREATE TABLE IF NOT EXISTS "audit_entry" ("id" SERIAL NOT NULL PRIMARY KEY, "at" TIMESTAMP NOT NULL, '
    '"actor" VARCHAR(128) NOT NULL, "action" VARCHAR(32) NOT NULL, "object_type" VARCHAR(32) NOT NULL, '
    '"object_name" VARCHAR(255) NOT NULL, "before" TEXT, "after" TEXT, "message" TEXT NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "audit_entry_at" ON "audit_entry" ("at")',
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
