"""Setup: bring a database up to date for `pm-exports db upgrade` (schema migrations, then the data files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from engine.db import migrate
from engine.migrations import LATEST_VERSION
from engine.services import templates as template_service
from engine.settings import Settings

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def upgrade(settings: Settings) -> dict[str, Any]:
    """Migrate the open database's schema, then install the data files. Idempotent: a second run changes nothing.
    Returns the migrations applied, the schema version and what happened to each predefined template."""
    done = migrate()
    loaded = load_data_files()
    return {"migrations": done, "schema_version": LATEST_VERSION, "templates": loaded}


def load_data_files() -> dict[str, str]:
    """Install or refresh the predefined templates shipped under engine/data/templates."""
    result: dict[str, str] = {}
    for path in sorted((DATA_DIR / "templates").glob("*.json")):
        data = orjson.loads(path.read_bytes())
        result[data["name"]] = template_service.install_predefined(data)
    return result
