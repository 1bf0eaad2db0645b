"""Migration 6: the delta tables' `variant_skus` column where it is missing.

The column was added to the delta models after migration 3 had shipped, without a migration of its own: a
database that reached version 3 before that change has the tables without it (and its Amazon delta feeds fail).
Migration 3's frozen DDL has the column, so fresh installs and later upgrades already have it; this adds it only
where it is missing, nullable, as migration 3 declares it.
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase, TextField

from engine.migrations.ddl import add_column

VERSION = 6
DESCRIPTION = "delta tables: variant_skus where a version-3 database lacks it"


def _has_column(db: Database, table: str, column: str) -> bool:
    if isinstance(db, PostgresqlDatabase):  # peewee's get_columns looks in `public`, not the search path's schema
        cursor = db.execute_sql(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
            (table, column),
        )
        return cursor.fetchone() is not None
    return column in {c.name for c in db.get_columns(table)}


def apply(db: Database) -> None:
    for table in ("delta_state", "delta_pending"):
        if not _has_column(db, table, "variant_skus"):
            add_column(db, table, "variant_skus", TextField(null=True))
