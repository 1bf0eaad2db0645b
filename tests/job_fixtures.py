"""Fixtures of the job tests (a plugin: test modules load it with `pytest_plugins`): the 20,000-product demo
catalogue seeded once per test process, a stack (SQLite copy + isolated Redis) and real worker processes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.db import database_proxy, open_database
from engine.services.setup import upgrade
from engine.settings import Settings
from tests.job_support import Workers

DEMO_PRODUCTS = 20_000


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the 20,000-product demo catalogue, seeded once per test process."""
    from engine.catalog.demo import seed_demo

    folder = tmp_path_factory.mktemp("seeded")
    settings = Settings.build(var_dir=str(folder))
    db = open_database(settings)
    upgrade(settings)
    seed_demo(DEMO_PRODUCTS)
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    database_proxy.initialize(None)
    return folder / "pm_exports.db"


@pytest.fixture
def stack(seeded_db: Path, tmp_path: Path, redis_url: str) -> Iterator[Settings]:
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(seeded_db, var / "pm_exports.db")
    settings = Settings.build(var_dir=str(var), redis_url=redis_url, chunk_size=500, job_lease_seconds=3)
    db = open_database(settings)
    yield settings
    db.close()
    database_proxy.initialize(None)


@pytest.fixture
def workers(stack: Settings) -> Iterator[Workers]:
    pool = Workers(stack)
    yield pool
    pool.stop_all()
