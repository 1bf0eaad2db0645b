"""Database binding (peewee proxy), schema migrations and data-file loading for `db upgrade`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
from peewee import Database, DatabaseError, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect as connect_url

from engine.errors import ConfigError
from engine.settings import Settings

log = logging.getLogger(__name__)

database_proxy = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16 * 1024,  # 16 MB page cache: enough for keyset scans, keeps exports small in memory
    "busy_timeout": 10_000,
}


def sqlite_path(settings: Settings) -> Path | None:
    """The file of a SQLite database URL (None for an in-memory or non-SQLite database)."""
    url = settings.effective_database_url
    if not urlparse(url).scheme.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1]
    return Path(path) if path and path != ":memory:" else None


def open_database(settings: Settings) -> Database:
    """Open the configured database and bind every model to it (through the proxy)."""
    url = settings.effective_database_url
    scheme = urlparse(url).scheme
    db: Database
    if scheme.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = SqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS)
    elif scheme in {"postgres", "postgresql", "postgresext"}:
        db = connect_url(url)
        if not isinstance(db, PostgresqlDatabase):  # pragma: no cover - defensive
            raise ConfigError(f"DATABASE_URL {scheme!r} did not give a PostgreSQL database")
    else:
        raise ConfigError(f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite:/// or postgresql://)")
    database_proxy.initialize(db)
    return db


def current_database() -> Database:
    db = database_proxy.obj
    if db is None:
        raise ConfigError("the database is not open: call engine.db.open_database(settings) first")
    return db


def is_postgres() -> bool:
    return isinstance(current_database(), PostgresqlDatabase)


@contextmanager
def connection() -> Iterator[Database]:
    """This thread's connection for the block, closed after it (worker tasks, background threads)."""
    db = current_database()
    db.connect(reuse_if_open=True)
    try:
        yield db
    finally:
        with suppress(Exception):
            db.close()


@contextmanager
def atomic() -> Iterator[None]:
    with current_database().atomic():
        yield


def schema_version() -> int | None:
    """The schema version of the open database, or None when `db upgrade` never ran on it."""
    from engine.models import SchemaVersion

    db = current_database()
    try:
        row = SchemaVersion.select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).first()
    except DatabaseError:
        with suppress(Exception):
            db.rollback()
        return None
    return int(row.version) if row is not None else None


# --- migrations ---------------------------------------------------------------------------------------------


def _migration_1(db: Database) -> None:
    from engine.catalog.models import CATALOG_MODELS
    from engine.models import Artifact, ExportJob, JobExclusion, SchemaVersion, Template, TemplateVersion

    db.create_tables([*CATALOG_MODELS, SchemaVersion, Template, TemplateVersion, ExportJob, Artifact, JobExclusion])


def _migration_2(db: Database) -> None:
    from engine.models import ApiKey

    db.create_tables([ApiKey], safe=True)


def _migration_3(db: Database) -> None:
    from engine.models import DeltaPending, DeltaState

    db.create_tables([DeltaState, DeltaPending], safe=True)


def _migration_4(db: Database) -> None:
    from engine.models import JobWarning

    db.create_tables([JobWarning], safe=True)


MIGRATIONS: list[tuple[int, str, Callable[[Database], None]]] = [
    (1, "initial schema: catalogue, templates, jobs, artifacts", _migration_1),
    (2, "API keys for the gRPC engine", _migration_2),
    (3, "delta exports: content hash per product and destination", _migration_3),
    (4, "job warnings (images that could not be fetched or processed)", _migration_4),
]


def upgrade(settings: Settings) -> dict[str, Any]:
    """Create or migrate the schema, then load the data files. Idempotent: a second run changes nothing."""
    from engine.models import SchemaVersion

    db = current_database()
    db.create_tables([SchemaVersion], safe=True)
    applied = {row.version for row in SchemaVersion.select()}
    done: list[int] = []
    for version, description, migrate in MIGRATIONS:
        if version in applied:
            continue
        with db.atomic():
            migrate(db)
            SchemaVersion.create(version=version, description=description)
        done.append(version)
        log.info("migration applied", extra={"version": version, "description": description})
    loaded = load_data_files()
    return {"migrations": done, "schema_version": MIGRATIONS[-1][0], "templates": loaded}


DATA_DIR = Path(__file__).parent / "data"


def load_data_files() -> dict[str, str]:
    """Install or refresh the predefined templates shipped under engine/data/templates."""
    from engine.services import templates as template_service

    result: dict[str, str] = {}
    for path in sorted((DATA_DIR / "templates").glob("*.json")):
        data = orjson.loads(path.read_bytes())
        result[data["name"]] = template_service.install_predefined(data)
    return result
