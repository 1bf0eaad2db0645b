"""The conversions on both sides of the API agree, and the client package stands without the engine."""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from pm_exports_client import convert as client

from engine.pipeline.spec import ExportSpec
from engine.rpc.convert import specs as engine

ROOT = Path(__file__).resolve().parent.parent
PREDEFINED = sorted((ROOT / "engine" / "data" / "templates").glob("*.json"))

RICH_SPEC: dict[str, Any] = {
    "format": "csv",
    "rows": "variants",
    "selection": {
        "statuses": ["active", "draft"],
        "categories": ["Maison > Cuisine", 7],
        "ids": [1, 2],
        "price_min": "10.50",
        "stock_min": 1,
        "has_ean": True,
        "updated_since": "2024-05-01T12:30:00+00:00",
    },
    "columns": [
        {"header": "Title", "source": "title", "transforms": ["trim", {"name": "truncate", "length": 80}]},
        {"header": "Brand", "pattern": "{brand} - {title}", "transforms": [{"name": "upper"}]},
        {"header": "Shipping", "literal": "0"},
        {"header": "Price", "literal": 12.5},
        {"header": "Flag", "literal": None, "on": {"field": "stock", "is": 0}},
    ],
    "rules": [{"name": "required", "fields": ["sku"]}],
    "options": {"delimiter": ";", "bom": True},
    "file_name": "{template}-{date}",
    "delta": True,
    "images": {"mode": "url"},
    "notifications": {
        "on": ["failed", "warnings"],
        "warn_excluded_percent": 2.5,
        "email": [{"integration": "mail", "to": ["ops@example.com"]}],
        "webhooks": ["hook"],
        "in_app": False,
    },
}


def test_a_spec_sent_by_the_client_reads_the_same_in_the_engine_and_back() -> None:
    assert engine.spec_from_message(client.spec_to_message(RICH_SPEC)) == RICH_SPEC
    assert client.spec_from_message(engine.spec_to_proto(RICH_SPEC)) == RICH_SPEC


@pytest.mark.parametrize("path", PREDEFINED, ids=[p.stem for p in PREDEFINED])
def test_every_predefined_spec_survives_both_directions(path: Path) -> None:
    stored = orjson.loads(orjson.dumps(ExportSpec.from_dict(orjson.loads(path.read_bytes())["spec"]).to_dict()))
    sent = engine.spec_from_message(client.spec_to_message(stored))
    read = client.spec_from_message(engine.spec_to_proto(stored))
    assert ExportSpec.from_dict(sent).to_dict() == ExportSpec.from_dict(stored).to_dict()
    assert ExportSpec.from_dict(read).to_dict() == ExportSpec.from_dict(stored).to_dict()


def test_the_client_package_imports_without_the_engine(tmp_path: Path) -> None:
    # -I -S: no PYTHONPATH, no current folder, no .pth files (the editable install of the repository); the path
    # is the client package's folder and the site-packages (grpcio, protobuf), so `engine` cannot be found
    script = (
        "import sys; sys.path[:0] = sys.argv[1:]\n"
        "import importlib.util, pm_exports_client, pm_exports_client.convert\n"
        "assert importlib.util.find_spec('engine') is None, 'engine is importable'\n"
        "assert not any(m == 'engine' or m.startswith('engine.') for m in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(ROOT / "clients" / "python"), *site.getsitepackages()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
