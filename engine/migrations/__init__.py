"""Schema migrations, one frozen module per version, and the runner that applies the missing ones in order.

A migration never imports the models: its DDL is what it ran the day it was written (literal statements per
backend, or fields built inside it), so a fresh install and an upgraded database end with the same schema.
New columns are added with `ddl.add_column` (playhouse.migrate); tests/test_migrations.py checks both paths.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from peewee import Database, Table

from engine.migrations import (
    m0001_initial,
    m0002_api_keys,
    m0003_delta,
    m0004_job_warnings,
    m0005_job_kinds_instance,
    m0006_delta_variant_skus,
    m0007_integrations,
    m0008_job_owner,
    m0009_notifications,
    m0010_delivery_gate,
    m0011_users,
    m0012_schedules,
    m0013_catalog_search,
)
from engine.migrations.ddl import run_frozen

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Database], None]


MIGRATIONS = tuple(
    Migration(module.VERSION, module.DESCRIPTION, module.apply)
    for module in (
        m0001_initial,
        m0002_api_keys,
        m0003_delta,
        m0004_job_warnings,
        m0005_job_kinds_instance,
        m0006_delta_variant_skus,
        m0007_integrations,
        m0008_job_owner,
        m0009_notifications,
        m0010_delivery_gate,
        m0011_users,
        m0012_schedules,
        m0013_catalog_search,
    )
)
LATEST_VERSION = MIGRATIONS[-1].version

# the table recording applied versions, created before anything else (migration 1 creates the same, if not exists)
SCHEMA_VERSION_SQLITE = (
    'CREATE TABLE IF NOT EXISTS "schema_version" '
    '("version" INTEGER NOT NULL PRIMARY KEY, "description" TEXT NOT NULL, "applied_at" DATETIME NOT NULL)',
)
SCHEMA_VERSION_POSTGRES = (
    'CREATE TABLE IF NOT EXISTS "schema_version" '
    '("version" INTEGER NOT NULL PRIMARY KEY, "description" TEXT NOT NULL, "applied_at" TIMESTAMP NOT NULL)',
)
schema_version_table = Table("schema_version", ("version", "description", "applied_at"))


def apply_migrations(db: Database, up_to: int | None = None) -> list[int]:
    """Apply, each in its own transaction, the migrations `db` lacks up to version `up_to` (default: all).
    Returns the versions applied; a second run applies none."""
    with db.atomic():
        run_frozen(db, sqlite=SCHEMA_VERSION_SQLITE, postgres=SCHEMA_VERSION_POSTGRES)
    versions = schema_version_table.bind(db)
    applied = {row["version"] for row in versions.select(versions.version).dicts()}
    done: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in applied or (up_to is not None and migration.version > up_to):
            continue
        with db.atomic():
            migration.apply(db)
            versions.insert(
                version=migration.version,
                description=migration.description,
                applied_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            ).execute()
        done.append(migration.version)
        log.info("migration applied", extra={"version": migration.version, "description": migration.description})
    return done
