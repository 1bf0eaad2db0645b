"""Helpers for migrations: run frozen DDL on the open backend, add a column with playhouse.migrate."""

from __future__ import annotations

from collections.abc import Sequence

from peewee import SQL, Database, Entity, Field, NodeList, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator, migrate


def run_frozen(db: Database, *, sqlite: Sequence[str], postgres: Sequence[str]) -> None:
    """Execute a migration's literal statements for the backend of `db`, in order."""
    for statement in postgres if isinstance(db, PostgresqlDatabase) else sqlite:
        db.execute_sql(statement)


def add_column(db: Database, table: str, column: str, field: Field) -> None:
    """Add `column` to `table` as `field` declares it (a field built inside the migration, never a model's).

    A nullable column goes through playhouse.migrate's `add_column`. A NOT NULL column must carry its default in
    the database too (`constraints=[SQL("DEFAULT ...")]`) and is added by one `ALTER TABLE ... ADD COLUMN ...
    NOT NULL DEFAULT ...`: playhouse's way (add nullable, fill, set NOT NULL) rebuilds a SQLite table by dropping
    it, and with foreign keys on that DROP deletes every child row through ON DELETE CASCADE.
    """
    migrator = SchemaMigrator.from_database(db)
    if field.null:
        migrate(migrator.add_column(table, column, field))
        return
    if not any("DEFAULT" in str(getattr(constraint, "sql", "")).upper() for constraint in field.constraints or ()):
        raise ValueError(f"{table}.{column} is NOT NULL: give it a database default (constraints=[SQL('DEFAULT ...')])")
    field.name = field.column_name = column
    db.execute(NodeList([SQL("ALTER TABLE"), Entity(table), SQL("ADD COLUMN"), field.ddl(migrator.make_context())]))
