"""pytest fixtures of the gRPC tests (a plugin: test modules load it with `pytest_plugins`): real servers on
port 0 over the small catalogue, with API keys of each role, on the isolated Redis database of conftest's
`redis_url`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from engine.settings import Settings
from tests.rpc_support import Engine, make_keys, start_engine
from tests.small_catalog import build_small_catalog


@pytest.fixture
def engine_factory(sqlite_db: Settings, redis_url: str) -> Iterator[Callable[..., Engine]]:
    """Start engines over the small catalogue (SQLite); `factory(**settings_changes)`."""
    build_small_catalog()
    keys = make_keys()
    started: list[Engine] = []

    def factory(**changes: Any) -> Engine:
        settings = sqlite_db.with_(redis_url=redis_url, **changes)
        server, port = start_engine(settings)
        engine = Engine(server, port, settings, keys)
        started.append(engine)
        return engine

    yield factory
    for engine in started:
        engine.close_clients()
        engine.server.stop(0).wait(10)


@pytest.fixture
def engine(engine_factory: Callable[..., Engine]) -> Engine:
    """A running engine over the small catalogue, on SQLite, with keys of each role."""
    return engine_factory()


@pytest.fixture
def engine_any_db(db: Settings, redis_url: str) -> Iterator[Engine]:
    """A running engine over the small catalogue, once on SQLite and once on PostgreSQL."""
    build_small_catalog()
    settings = db.with_(redis_url=redis_url)
    server, port = start_engine(settings)
    engine = Engine(server, port, settings, make_keys())
    yield engine
    engine.close_clients()
    server.stop(0).wait(10)
