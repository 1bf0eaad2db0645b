"""Migration 8: export_job.owner, the host and pid of the process running an inline job (CLI or engine), so that
maintenance can close the inline jobs whose process is gone."""

from __future__ import annotations

from peewee import CharField, Database

from engine.migrations.ddl import add_column

VERSION = 8
DESCRIPTION = "export jobs: owner (host:pid) of inline jobs"


def apply(db: Database) -> None:
    add_column(db, "export_job", "owner", CharField(max_length=128, null=True))
