"""Shared fixtures: settings in a temp folder, and a database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from engine.db import database_proxy, open_database, upgrade
from engine.settings import Settings

PG_URL = os.environ.get("PM_EXPORTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.build(var_dir=str(tmp_path / "var"))


def _postgres_available() -> str | None:
    """None when the PostgreSQL test server answers, else the reason it does not."""
    import psycopg2

    try:
        psycopg2.connect(PG_URL, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return str(exc).strip()
    return None


def _open_sqlite(settings: Settings) -> Iterator[Settings]:
    db = open_database(settings)
    upgrade(settings)
    yield settings
    db.close()
    database_proxy.initialize(None)


def _open_postgres(settings: Settings) -> Iterator[Settings]:
    reason = _postgres_available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must answer in CI at {PG_URL}: {reason}")
        pytest.skip(f"PostgreSQL does not answer at {PG_URL} ({reason}); PostgreSQL tests skipped")
    import psycopg2

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    pg_settings = settings.with_(database_url=f"{PG_URL}?options=-csearch_path%3D{schema}")
    db = open_database(pg_settings)
    try:
        upgrade(pg_settings)
        yield pg_settings
    finally:
        db.close()
        database_proxy.initialize(None)
        with admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, settings) -> Iterator[Settings]:
    """An upgraded, empty database, once on SQLite and once on PostgreSQL; yields the settings bound to it."""
    opener = _open_sqlite if request.param == "sqlite" else _open_postgres
    yield from opener(settings)


@pytest.fixture
def sqlite_db(settings) -> Iterator[Settings]:
    """An upgraded, empty SQLite database (for tests that are not about the database backend)."""
    yield from _open_sqlite(settings)


REDIS_BASE_URL = os.environ.get("PM_EXPORTS_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of this test process alone (1 + the xdist worker number), flushed before the test."""
    from redis import Redis
    from redis.exceptions import RedisError

    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "")
    number = 1 + (int(worker_id[2:]) if worker_id.startswith("gw") else 14)
    url = f"{REDIS_BASE_URL}/{number}"
    client = Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    except RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis must answer in CI at {url}: {exc}")
        pytest.skip(f"Redis does not answer at {url} ({exc}); Redis tests skipped")
    from engine.jobs.queues import _redis

    _redis.cache_clear()
    yield url
    client.flushdb()
    client.close()
