"""Shared fixtures: settings in a temp folder, a database on SQLite and on PostgreSQL, a Redis database, and the
platform specifications in ../shared/specs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.db import database_proxy, open_database
from engine.services.setup import upgrade
from engine.settings import Settings

# the platforms' own contracts (CSV headers, JSON schemas...), beside the repository's root, also in CI
SHARED_SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
PG_URL = os.environ.get("PM_EXPORTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def shared_spec(relative: str) -> Path:
    """The path of a platform specification in ../shared/specs: a test that needs an absent one fails in CI
    (env CI set) and is skipped with the reason elsewhere."""
    path = SHARED_SPECS / relative
    if not path.exists():
        reason = f"platform specification {path} is absent (it lives in ../shared/specs beside the project)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must copy shared/ beside the clone")
        pytest.skip(reason)
    return path


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


@contextmanager
def empty_database(backend: str, settings: Settings) -> Iterator[Settings]:
    """A new database on `backend` ("sqlite": the settings' file, "postgres": a schema of its own), opened and
    never upgraded; yields the settings bound to it and drops it afterwards."""
    if backend == "sqlite":
        db = open_database(settings)
        try:
            yield settings
        finally:
            db.close()
            database_proxy.initialize(None)
        return
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
        yield pg_settings
    finally:
        db.close()
        database_proxy.initialize(None)
        with admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def _open_upgraded(backend: str, settings: Settings) -> Iterator[Settings]:
    with empty_database(backend, settings) as bound:
        upgrade(bound)
        yield bound


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, settings) -> Iterator[Settings]:
    """An upgraded, empty database, once on SQLite and once on PostgreSQL; yields the settings bound to it."""
    yield from _open_upgraded(request.param, settings)


@pytest.fixture
def sqlite_db(settings) -> Iterator[Settings]:
    """An upgraded, empty SQLite database (for tests that are not about the database backend)."""
    yield from _open_upgraded("sqlite", settings)


REDIS_BASE_URL = os.environ.get("PM_EXPORTS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM_KEY = "pm-exports-tests:claimed"


@pytest.fixture(scope="session")
def redis_db_number() -> Iterator[int]:
    """A Redis database (1-15) that this test process has to itself, even when several test runs share the
    server (another run's workers would otherwise take this run's jobs): claimed with SET NX, released at the end."""
    from redis import Redis
    from redis.exceptions import RedisError

    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(1, 16):
        client = Redis.from_url(f"{REDIS_BASE_URL}/{number}", socket_connect_timeout=3)
        try:
            if client.set(CLAIM_KEY, token, nx=True, ex=6 * 3600):
                break
        except RedisError as exc:
            if os.environ.get("CI"):
                pytest.fail(f"Redis must answer in CI at {REDIS_BASE_URL}: {exc}")
            pytest.skip(f"Redis does not answer at {REDIS_BASE_URL} ({exc}); Redis tests skipped")
        finally:
            client.close()
    else:
        pytest.fail("no free Redis database among 1-15 (other test runs hold them all)")
    yield number
    client = Redis.from_url(f"{REDIS_BASE_URL}/{number}")
    if client.get(CLAIM_KEY) == token.encode():
        client.flushdb()
    client.close()


@pytest.fixture
def redis_url(redis_db_number: int) -> Iterator[str]:
    """This test process's own Redis database, flushed before and after the test."""
    from redis import Redis

    url = f"{REDIS_BASE_URL}/{redis_db_number}"
    client = Redis.from_url(url, socket_connect_timeout=3)
    token = client.get(CLAIM_KEY)
    client.flushdb()
    client.set(CLAIM_KEY, token or b"claimed", ex=6 * 3600)  # keep the claim across the flush
    from engine.jobs.queues import _redis

    _redis.cache_clear()
    yield url
    client.flushdb()
    client.set(CLAIM_KEY, token or b"claimed", ex=6 * 3600)
    client.close()
