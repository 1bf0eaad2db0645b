"""Shared fixtures: settings in a temp folder, a database on SQLite and on PostgreSQL, a Redis database, and the
platform specifications in ../shared/specs. The servers are the session's own unless named (tests/servers.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from engine.db import database_proxy, open_database
from engine.services.setup import upgrade
from engine.settings import Settings
from tests.servers.session import POSTGRES_ENV, ServerUnavailable, SessionServers

# the console's fixtures: console_url, browser (a real process and browser); console, client (Flask's test client)
pytest_plugins = ["tests.console_support", "tests.browser_support"]

# the platforms' own contracts (CSV headers, JSON schemas...), beside the repository's root, also in CI
SHARED_SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
SERVERS = SessionServers()


@pytest.fixture(scope="session", autouse=True)
def _stop_test_servers() -> Iterator[None]:
    """Stop the servers this test process started (each started on first use)."""
    yield
    SERVERS.stop_all()


def _unavailable(what: str, reason: str) -> NoReturn:
    """Fail in CI (env CI set), where every server must answer; skip the test with the reason elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} must answer in CI: {reason}")
    pytest.skip(f"{what} tests skipped: {reason}")


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


def postgres_url() -> str:
    """The PostgreSQL server of the tests (the session's own cluster, or the one named by
    PM_EXPORTS_TEST_POSTGRES_URL), answering; else the test fails in CI and is skipped elsewhere."""
    import psycopg2

    try:
        url = SERVERS.postgres_url()
        psycopg2.connect(url, connect_timeout=3).close()
    except ServerUnavailable as exc:
        _unavailable("PostgreSQL", str(exc))
    except psycopg2.Error as exc:
        _unavailable("PostgreSQL", f"no answer at {os.environ.get(POSTGRES_ENV)}: {str(exc).strip()}")
    return url


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
    pg_url = postgres_url()
    import psycopg2

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    pg_settings = settings.with_(database_url=f"{pg_url}?options=-csearch_path%3D{schema}")
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


CLAIM_KEY = "pm-exports-tests:claimed"


@pytest.fixture(scope="session")
def redis_base_url() -> str:
    """The Redis server of the tests, without a database number: the session's own redis-server, or the one
    named by PM_EXPORTS_TEST_REDIS_URL."""
    try:
        return SERVERS.redis_url()
    except ServerUnavailable as exc:
        _unavailable("Redis", str(exc))


@pytest.fixture(scope="session")
def redis_db_number(redis_base_url: str) -> Iterator[int]:
    """A Redis database (1-15) that this test process has to itself, even when several test runs share a named
    server (another run's workers would otherwise take this run's jobs): claimed with SET NX, released at the end."""
    from redis import Redis
    from redis.exceptions import RedisError

    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(1, 16):
        client = Redis.from_url(f"{redis_base_url}/{number}", socket_connect_timeout=3)
        try:
            if client.set(CLAIM_KEY, token, nx=True, ex=6 * 3600):
                break
        except RedisError as exc:
            _unavailable("Redis", f"no answer at {redis_base_url}: {exc}")
        finally:
            client.close()
    else:
        pytest.fail("no free Redis database among 1-15 (other test runs hold them all)")
    yield number
    client = Redis.from_url(f"{redis_base_url}/{number}")
    if client.get(CLAIM_KEY) == token.encode():
        client.flushdb()
    client.close()


@pytest.fixture
def redis_url(redis_base_url: str, redis_db_number: int) -> Iterator[str]:
    """This test process's own Redis database, flushed before and after the test."""
    from redis import Redis

    url = f"{redis_base_url}/{redis_db_number}"
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
