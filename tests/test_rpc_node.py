"""Another language uses the API from proto/ alone: clients/node/example.js (grpc-js + proto-loader) lists the
templates and runs an export against a real server. Skipped when node or npm is not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.rpc_support import Engine

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db


NODE_DIR = Path(__file__).resolve().parent.parent / "clients" / "node"


def _node_ready() -> str | None:
    """None when the example can run, else why not."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm are not installed"
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            return f"npm ci failed: {result.stderr.strip()[-500:]}"
    return None


@pytest.mark.slow
def test_node_client_lists_templates_runs_an_export_and_reports_a_bad_key(engine: Engine) -> None:
    reason = _node_ready()
    if reason is not None:
        if os.environ.get("CI") and "not installed" not in reason:
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "PM_EXPORTS_API_KEY": engine.keys["manager"]}
    result = subprocess.run(
        ["node", "example.js", "--target", engine.target, "--template", "Price & Stock"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "Standard CSV" in {t["name"] for t in lines[0]["templates"]}
    events = [line["event"] for line in lines[1:]]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["status"] == "JOB_STATUS_SUCCEEDED"
    assert events[-1]["artifacts"][0]["format"] == "csv" and events[-1]["exported"] == 4

    env["PM_EXPORTS_API_KEY"] = "pmx_00000000_wrong"
    result = subprocess.run(
        ["node", "example.js", "--target", engine.target],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "ListTemplates failed: UNAUTHENTICATED: unknown API key" in result.stderr
