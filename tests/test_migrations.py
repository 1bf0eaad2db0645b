"""Schema migrations: upgrading from every version equals a fresh install equals the models, on SQLite and
PostgreSQL; rows survive, upgrade is idempotent, and each database has its own stable instance id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from peewee import SQL, CharField, Database, IntegerField, PostgresqlDatabase, Table

from engine.db import current_database, instance_id, migrate, open_database
from engine.errors import ConfigError
from engine.migrations import LATEST_VERSION, MIGRATIONS
from engine.migrations.ddl import add_column
from engine.migrations.m0013_catalog_search import POSTGRES_ONLY_INDEXES
from engine.models import ALL_MODELS, Artifact, ExportJob, JobExclusion
from engine.services.setup import upgrade
from engine.settings import Settings
from tests.conftest import empty_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = dt.datetime(2026, 1, 2, 3, 4, 5)


def fresh_settings(tmp_path: Path, name: str) -> Settings:
    return Settings.build(var_dir=str(tmp_path / name))


def schema_snapshot(db: Database) -> dict[str, Any]:
    """Tables, columns (type, nullability, default), indexes (columns, unique) and foreign keys (with their
    ON DELETE rule) of `db`, as plain data that two databases can be compared by."""
    postgres = isinstance(db, PostgresqlDatabase)
    schema = db.execute_sql("SELECT current_schema()").fetchone()[0] if postgres else None
    snapshot: dict[str, Any] = {}
    for table in db.get_tables(schema=schema):
        types = _column_types(db, table, schema)
        snapshot[table] = {
            "columns": {
                column.name: (types[column.name], column.null, column.default, column.primary_key)
                for column in db.get_columns(table, schema=schema)
            },
            "indexes": _indexes(db, table, schema),
            "foreign_keys": sorted(
                (fk.column, fk.dest_table, fk.dest_column, _on_delete(db, table, fk.column, schema))
                for fk in db.get_foreign_keys(table, schema=schema)
            ),
        }
    return snapshot


def _column_types(db: Database, table: str, schema: str | None) -> dict[str, str]:
    """Declared types with their length and precision (PostgreSQL's get_columns leaves them out)."""
    if schema is None:
        return {row[1]: row[2].upper() for row in db.execute_sql(f'PRAGMA table_info("{table}")')}
    rows = db.execute_sql(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped",
        (schema, table),
    )
    return {name: type_name.upper() for name, type_name in rows}


def _indexes(db: Database, table: str, schema: str | None) -> list[tuple[str, tuple[str, ...], bool]]:
    if schema is None:
        indexes = [(index.name, tuple(index.columns), bool(index.unique)) for index in db.get_indexes(table)]
        return sorted(indexes)
    # peewee's PostgreSQL get_indexes matches the table by name in every schema, and fails on the tables other
    # test runs drop meanwhile: read this schema's indexes only
    rows = db.execute_sql(
        "SELECT i.relname, ix.indisunique, array_to_string(ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k + 1, TRUE) "
        "FROM generate_subscripts(ix.indkey, 1) AS k ORDER BY k), ',') "
        "FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s AND t.relname = %s",
        (schema, table),
    )
    return sorted((name, tuple(columns.split(",")), bool(unique)) for name, unique, columns in rows)


def _on_delete(db: Database, table: str, column: str, schema: str | None) -> str:
    if schema is None:
        rules = {row[3]: row[6] for row in db.execute_sql(f'PRAGMA foreign_key_list("{table}")')}
        return str(rules[column]).upper()
    row = db.execute_sql(
        "SELECT rc.delete_rule FROM information_schema.referential_constraints rc "
        "JOIN information_schema.key_column_usage k ON k.constraint_name = rc.constraint_name "
        "AND k.constraint_schema = rc.constraint_schema "
        "WHERE k.table_schema = %s AND k.table_name = %s AND k.column_name = %s",
        (schema, table, column),
    ).fetchone()
    return str(row[0]).upper()


def insert_rows(db: Database, version: int) -> None:
    """A few rows in every table that exists at `version`, written with that version's columns only."""

    def insert(table: str, **values: Any) -> None:
        Table(table, tuple(values)).bind(db).insert(**values).execute()

    insert("category", id=1, name="Maison", slug="maison", parent_id=None, path="Maison", depth=0)
    insert(
        "product",
        id=1,
        sku="SKU-1",
        ean="0123456789012",
        title="Casserole",
        status="active",
        currency="EUR",
        tax_rate=20,
        stock=3,
        category_id=1,
        created_at=NOW,
        updated_at=NOW,
        completeness=50,
        grade="F",
    )
    insert(
        "template",
        id=1,
        name="Mine",
        description="",
        format="csv",
        spec="{}",
        version=1,
        predefined=False,
        created_at=NOW,
        updated_at=NOW,
    )
    insert("template_version", id=1, template_id=1, version=1, spec="{}", created_at=NOW)
    job = {"spec": "{}", "status": "succeeded", "phase": "", "requested_by": "cli", "created_at": NOW}
    counters = dict.fromkeys(("total", "processed", "exported", "excluded", "failed"), 1)
    insert("export_job", id=1, template_name="Mine", template_version=1, **job, **counters)
    insert(
        "artifact",
        id=1,
        job_id=1,
        name="mine.csv",
        format="csv",
        content_type="text/csv",
        rows=1,
        size=10,
        sha256="0" * 64,
        location="/tmp/mine.csv",
        created_at=NOW,
        expires_at=NOW,
    )
    insert("job_exclusion", id=1, job_id=1, product_id=1, sku="SKU-1", rule="price", message="no price")
    if version >= 2:
        insert("api_key", id=1, name="erp", role="admin", prefix="pmx_abc", key_hash="0" * 64, created_at=NOW)
    if version >= 3:
        insert("delta_state", id=1, scope="Mine|local", product_id=1, content_hash="0" * 32)
        insert("delta_pending", id=1, job_id=1, product_id=1, content_hash="0" * 32)
    if version >= 4:
        insert("job_warning", id=1, job_id=1, product_id=1, kind="image", message="timeout")
    if version >= 11:  # m0011_users
        insert("console_user", id=1, username="ana", password_hash="scrypt:x", role="admin", created_at=NOW,
               failed_logins=0)  # fmt: skip
        insert("audit_entry", id=1, at=NOW, actor="ana", action="create", object_type="template", object_name="Mine",
               message="")  # fmt: skip


def row_counts(db: Database) -> dict[str, int]:
    schema = db.execute_sql("SELECT current_schema()").fetchone()[0] if isinstance(db, PostgresqlDatabase) else None
    return {table: Table(table).bind(db).select().count() for table in db.get_tables(schema=schema)}


def fresh_install_snapshot(backend: str, tmp_path: Path) -> dict[str, Any]:
    with empty_database(backend, fresh_settings(tmp_path, "fresh")):
        assert migrate() == [migration.version for migration in MIGRATIONS]
        return schema_snapshot(current_database())


def test_migration_versions_are_consecutive_and_latest_is_known() -> None:
    assert [migration.version for migration in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert len({migration.description for migration in MIGRATIONS}) == len(MIGRATIONS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_every_version_equals_a_fresh_install_and_keeps_the_rows(backend: str, tmp_path: Path) -> None:
    fresh = fresh_install_snapshot(backend, tmp_path)
    for version in range(1, LATEST_VERSION):
        with empty_database(backend, fresh_settings(tmp_path, f"from-{version}")):
            db = current_database()
            assert migrate(up_to=version) == list(range(1, version + 1))
            insert_rows(db, version)
            before = row_counts(db)
            assert migrate() == list(range(version + 1, LATEST_VERSION + 1))
            assert schema_snapshot(db) == fresh, f"upgrading from version {version} differs from a fresh install"
            after = row_counts(db)
            kept = {table: after[table] for table in before if table != "schema_version"}
            assert kept == {table: count for table, count in before.items() if table != "schema_version"}
            job = ExportJob.get_by_id(1)
            assert job.kind == "export"
            # the child rows of the job survive the ALTER of its table (no cascade through a table rebuild)
            assert Artifact.get_by_id(1).job_id == 1
            assert JobExclusion.select().where(JobExclusion.job == job).count() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_version_3_database_without_variant_skus_gets_it(backend: str, tmp_path: Path) -> None:
    """Databases that reached version 3 before `variant_skus` joined the delta tables are repaired by 6."""
    fresh = fresh_install_snapshot(backend, tmp_path)
    with empty_database(backend, fresh_settings(tmp_path, "old-delta")):
        db = current_database()
        migrate(up_to=5)
        for table in ("delta_state", "delta_pending"):
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "variant_skus"')
        assert migrate() == [m.version for m in MIGRATIONS if m.version >= 6]
        assert schema_snapshot(db) == fresh


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_models_match_the_migrated_schema(backend: str, tmp_path: Path) -> None:
    """A column, index or table added to a model without its migration makes this test fail."""
    fresh = fresh_install_snapshot(backend, tmp_path)
    for model in ALL_MODELS:
        table = fresh.get(model._meta.table_name)
        assert table is not None, f"{model.__name__}: no migration creates {model._meta.table_name!r}"
        missing = {field.column_name for field in model._meta.sorted_fields} - set(table["columns"])
        assert not missing, f"{model.__name__}: no migration adds the columns {sorted(missing)}"
    with empty_database(backend, fresh_settings(tmp_path, "models")):
        current_database().create_tables(ALL_MODELS)
        from_models = schema_snapshot(current_database())
    from_models["schema_version"] = fresh["schema_version"]  # the one table the models never create alone
    fresh["product"]["indexes"] = [i for i in fresh["product"]["indexes"] if i[0] not in POSTGRES_ONLY_INDEXES]
    assert from_models == fresh


def test_a_model_column_without_migration_is_detected(tmp_path: Path) -> None:
    fresh = fresh_install_snapshot("sqlite", tmp_path)
    ExportJob._meta.add_field("priority", IntegerField(default=0))
    try:
        with empty_database("sqlite", fresh_settings(tmp_path, "models")):
            current_database().create_tables(ALL_MODELS)
            from_models = schema_snapshot(current_database())
    finally:
        ExportJob._meta.remove_field("priority")
    assert "priority" in from_models["export_job"]["columns"]
    assert from_models != fresh


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_is_idempotent(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, fresh_settings(tmp_path, "db")) as bound:
        first = upgrade(bound)
        snapshot = schema_snapshot(current_database())
        again = upgrade(bound)
        assert first["migrations"] == list(range(1, LATEST_VERSION + 1))
        assert again["migrations"] == []
        assert first["schema_version"] == again["schema_version"] == LATEST_VERSION
        assert set(again["templates"].values()) == {"unchanged"}
        assert schema_snapshot(current_database()) == snapshot
        versions = Table("schema_version", ("version",)).bind(current_database())
        assert sorted(row["version"] for row in versions.select().dicts()) == list(range(1, LATEST_VERSION + 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_instance_id_is_stable_per_database_and_differs_between_databases(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, fresh_settings(tmp_path, "one")) as bound:
        with pytest.raises(ConfigError, match=r"run `pm-exports db upgrade`"):
            instance_id()
        migrate(up_to=4)
        with pytest.raises(ConfigError, match=r"run `pm-exports db upgrade`"):
            instance_id()
        migrate()
        first = instance_id()
        assert len(first) == 32
        int(first, 16)
        migrate()
        assert instance_id() == first
        assert Table("instance").bind(current_database()).select().count() == 1
        reopened = open_database(bound)  # a new database object: read again, not cached
        try:
            assert instance_id() == first
        finally:
            reopened.close()
    with empty_database(backend, fresh_settings(tmp_path, "two")):
        migrate()
        assert instance_id() != first


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_column_keeps_rows_and_refuses_a_not_null_column_without_database_default(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, fresh_settings(tmp_path, "db")):
        db = current_database()
        migrate()
        insert_rows(db, LATEST_VERSION)
        with pytest.raises(ValueError, match="database default"):
            add_column(db, "export_job", "priority", IntegerField(default=0))
        with db.atomic():
            add_column(db, "export_job", "note", CharField(max_length=64, null=True))
            add_column(
                db, "export_job", "lane", CharField(max_length=16, default="x", constraints=[SQL("DEFAULT 'x'")])
            )
        row = db.execute_sql('SELECT "note", "lane" FROM "export_job" WHERE "id" = 1').fetchone()
        assert tuple(row) == (None, "x")
        assert row_counts(db)["artifact"] == row_counts(db)["job_warning"] == 1
