"""Migration 12, frozen DDL: schedules (recurring exports) and their runs, unique per (schedule, due time, attempt);
export_job.schedule_id and due_at link a job to the schedule and due time it runs for."""

from __future__ import annotations

from peewee import Database, DateTimeField, IntegerField
from playhouse.migrate import SchemaMigrator, migrate

from engine.migrations.ddl import add_column, run_frozen

VERSION = 12
DESCRIPTION = "schedules, schedule runs, and the schedule and due time of export jobs"

_SCHEDULE_COLUMNS = (
    '"name" VARCHAR(128) NOT NULL, "template_name" VARCHAR(128) NOT NULL, "template_version" INTEGER, '
    '"overrides" TEXT NOT NULL, "frequency" VARCHAR(200) NOT NULL, "timezone" VARCHAR(64) NOT NULL, '
    '"enabled" {bool} NOT NULL, "paused_reason" TEXT, "overlap" VARCHAR(8) NOT NULL, "catch_up" VARCHAR(8) NOT NULL, '
    '"retry_count" INTEGER NOT NULL, "retry_backoff" INTEGER NOT NULL, "max_failures" INTEGER NOT NULL, '
    '"notifications" TEXT, "next_run_at" {ts}, "last_run_at" {ts}, "last_status" VARCHAR(16), "last_job_id" INTEGER, '
    '"runs" INTEGER NOT NULL, "succeeded" INTEGER NOT NULL, "partial" INTEGER NOT NULL, "failed" INTEGER NOT NULL, '
    '"consecutive_failures" INTEGER NOT NULL, "created_at" {ts} NOT NULL, "updated_at" {ts} NOT NULL)'
)
_RUN_COLUMNS = (
    '"schedule_id" INTEGER NOT NULL, "due_at" {ts} NOT NULL, "attempt" INTEGER NOT NULL, '
    '"trigger" VARCHAR(16) NOT NULL, "status" VARCHAR(16) NOT NULL, "reason" TEXT, "job_id" INTEGER, '
    '"retry_at" {ts}, "created_at" {ts} NOT NULL, '
    'FOREIGN KEY ("schedule_id") REFERENCES "schedule" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE SET NULL)'
)
_INDEXES = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "schedule_name" ON "schedule" ("name")',
    'CREATE INDEX IF NOT EXISTS "schedule_next_run_at" ON "schedule" ("next_run_at")',
    'CREATE INDEX IF NOT EXISTS "schedule_run_schedule_id" ON "schedule_run" ("schedule_id")',
    'CREATE INDEX IF NOT EXISTS "schedule_run_status" ON "schedule_run" ("status")',
    'CREATE INDEX IF NOT EXISTS "schedule_run_job_id" ON "schedule_run" ("job_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "schedule_run_schedule_id_due_at_attempt" '
    'ON "schedule_run" ("schedule_id", "due_at", "attempt")',
)

SQLITE = (
    'CREATE TABLE IF NOT EXISTS "schedule" ("id" INTEGER NOT NULL PRIMARY KEY, '
    + _SCHEDULE_COLUMNS.format(bool="INTEGER", ts="DATETIME"),
    'CREATE TABLE IF NOT EXISTS "schedule_run" ("id" INTEGER NOT NULL PRIMARY KEY, '
    + _RUN_COLUMNS.format(ts="DATETIME"),
    *_INDEXES,
)
POSTGRES = (
    'CREATE TABLE IF NOT EXISTS "schedule" ("id" SERIAL NOT NULL PRIMARY KEY, '
    + _SCHEDULE_COLUMNS.format(bool="BOOLEAN", ts="TIMESTAMP"),
    'CREATE TABLE IF NOT EXISTS "schedule_run" ("id" SERIAL NOT NULL PRIMARY KEY, '
    + _RUN_COLUMNS.format(ts="TIMESTAMP"),
    *_INDEXES,
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
    add_column(db, "export_job", "schedule_id", IntegerField(null=True))
    add_column(db, "export_job", "due_at", DateTimeField(null=True))
    migrate(SchemaMigrator.from_database(db).add_index("export_job", ("schedule_id",), False))
