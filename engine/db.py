"""Database binding (peewee proxy), connection helpers, the schema version, migrate and the instance id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse
from weakref import WeakKeyDictionary

from peewee import Database, DatabaseError, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect as connect_url

from engine.errors import ConfigError
from engine.migrations import apply_migrations
from engine.settings import Settings

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


def migrate(up_to: int | None = None) -> list[int]:
    """Apply the schema migrations the open database lacks (up to version `up_to`, default all); returns the
    versions applied. Idempotent. `engine.services.setup.upgrade` also installs the data files."""
    return apply_migrations(current_database(), up_to)


_instance_ids: WeakKeyDictionary[Database, str] = WeakKeyDictionary()


def instance_id() -> str:
    """The id of the open database's engine instance, read once per database object. Keys shared with other
    databases (Redis) carry it, so that a new or reset database never sees another one's jobs."""
    from engine.models import Instance

    db = current_database()
    cached = _instance_ids.get(db)
    if cached is not None:
        return cached
    try:
        row = Instance.select(Instance.id).order_by(Instance.created_at).first()
    except DatabaseError:
        with suppress(Exception):
            db.rollback()
        row = None
    if row is None:
        raise ConfigError("the database has no engine instance id yet: run `pm-exports db upgrade`")
    _instance_ids[db] = cached = str(row.id)
    return cached
