"""`pm-exports serve`, `apikey ...` and `client ...` through the real command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import orjson
from click.testing import CliRunner
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine.cli import main
from engine.models import ApiKey
from engine.settings import Settings
from tests.rpc_support import Engine, free_port

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.effective_database_url,
        "PM_EXPORTS_VAR_DIR": str(settings.var_dir),
        "REDIS_URL": settings.redis_url,
        "PM_EXPORTS_LOG_FORMAT": "text",
    }


def run(settings: Settings, *args: str, extra_env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env={**env_for(settings), **(extra_env or {})}, catch_exceptions=False)


def test_apikey_create_list_revoke(sqlite_db: Settings) -> None:
    result = run(sqlite_db, "apikey", "create", "--name", "erp", "--role", "manager")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[0]
    assert key.startswith("pmx_")
    assert "shown only now" in result.stderr
    row = ApiKey.get(ApiKey.name == "erp")
    assert row.role == "manager" and key not in row.key_hash
    listing = run(sqlite_db, "apikey", "list").output
    assert row.prefix in listing and "erp" in listing and "active" in listing and key not in listing
    assert run(sqlite_db, "apikey", "revoke", row.prefix).exit_code == 0
    assert "revoked" in run(sqlite_db, "apikey", "list").output
    bad = run(sqlite_db, "apikey", "create", "--name", "x", "--role", "owner")
    assert bad.exit_code == 2
    assert run(sqlite_db, "apikey", "revoke", "nope").exit_code == 2


def test_serve_runs_until_sigterm_then_stops_cleanly(sqlite_db: Settings, redis_url: str) -> None:
    port = free_port()
    env = {**os.environ, **env_for(sqlite_db.with_(redis_url=redis_url))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from engine.cli import main; main()",
            "serve",
            "--address",
            f"127.0.0.1:{port}",
            "--grace",
            "5",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=20)
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        channel.close()
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"listening on 127.0.0.1:{port} (plaintext)" in err and "SIGTERM: stopping" in err and "stopped" in err


def client(engine: Engine, *args: str, role: str = "manager"):
    env = {"PM_EXPORTS_TARGET": engine.target, "PM_EXPORTS_API_KEY": engine.keys[role]}
    return CliRunner().invoke(main, ["client", *args], env={**env_for(engine.settings), **env}, catch_exceptions=False)


def test_client_run_export_downloads_the_files(engine: Engine, tmp_path: Path) -> None:
    result = client(engine, "run-export", "--template", "Price & Stock", "-o", "separator=,", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "succeeded — 4 exported of 5, 1 excluded" in result.stdout
    (path,) = tmp_path.glob("price-stock-*.csv")
    assert str(path) in result.stdout and "(verified)" in result.stdout
    assert path.read_text(encoding="utf-8").splitlines()[0] == "SKU,EAN,Price,Sale price,Currency,Stock"
    assert "#1" in result.stderr and "succeeded" in result.stderr  # event lines when not on a terminal

    jobs = client(engine, "jobs", role="reader")
    assert jobs.exit_code == 0 and "succeeded" in jobs.stdout and "Price & Stock" in jobs.stdout
    job_id = jobs.stdout.split()[0]
    watched = client(engine, "watch", job_id, "--after-seq", "1", role="reader")
    assert watched.exit_code == 0 and "#1 " not in watched.stdout and "succeeded" in watched.stdout.splitlines()[-1]
    again = tmp_path / "again"
    downloaded = client(engine, "download", job_id, "--out", str(again), role="reader")
    assert downloaded.exit_code == 0, downloaded.output
    assert (again / path.name).read_bytes() == path.read_bytes()
    shown = orjson.loads(client(engine, "job", job_id, role="reader").stdout)
    assert shown["status"] == "succeeded" and shown["artifacts"][0]["name"] == path.name


def test_client_errors_exit_with_a_message(engine: Engine) -> None:
    bad = client(engine, "run-export", "--template", "Nope", "--no-download")
    assert bad.exit_code == 2
    assert "error: INVALID_ARGUMENT: export.template: no template named 'Nope'" in bad.stderr
    denied = client(engine, "run-export", "--template", "Standard CSV", role="reader")
    assert denied.exit_code == 1 and "PERMISSION_DENIED" in denied.stderr
    no_key = CliRunner().invoke(
        main,
        ["client", "--target", engine.target, "templates"],
        env={**env_for(engine.settings), "PM_EXPORTS_API_KEY": ""},
    )
    assert no_key.exit_code == 2 and "no API key" in no_key.output
    down = CliRunner().invoke(
        main,
        ["client", "--target", f"127.0.0.1:{free_port()}", "--timeout", "2", "templates"],
        env={**env_for(engine.settings), "PM_EXPORTS_API_KEY": engine.keys["reader"]},
    )
    assert down.exit_code == 1 and "UNAVAILABLE" in down.stderr and "pm-exports serve" in down.stderr


def test_client_templates_preview_and_cancel(engine_factory) -> None:
    engine = engine_factory(inline_threshold=0)
    templates = client(engine, "templates", role="reader")
    assert templates.exit_code == 0 and "Standard CSV" in templates.stdout and "predefined" in templates.stdout
    preview = client(engine, "preview", "--template", "Price & Stock", "--limit", "2", role="reader")
    assert preview.exit_code == 0, preview.output
    lines = preview.stdout.splitlines()
    assert lines[0] == "Price & Stock (csv): 5 product(s) selected"
    assert lines[1].split("\t")[:2] == ["SKU", "EAN"] and lines[2].startswith("CAS-001\t")
    job = engine.client("manager").create_export("Standard CSV")  # queued: no worker runs in this test
    cancelled = client(engine, "cancel", str(job.id))
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    assert client(engine, "cancel", str(job.id)).exit_code == 2  # already cancelled: FAILED_PRECONDITION
    retried = client(engine, "retry", str(job.id))
    assert retried.exit_code == 0 and "queued" in retried.stdout


def test_client_upsert_product_and_delete(engine: Engine, tmp_path: Path) -> None:
    feed = tmp_path / "products.jsonl"
    feed.write_bytes(
        b'{"sku": "J-1", "title": "Lampe", "price": "19.90", "status": "active"}\n'
        b"not json\n"
        b"\n"
        b'{"sku": "J-2", "ean": "3760001000017", "title": "Bad EAN"}\n'
        b'{"sku": "CAS-001", "stock": 1}\n'
    )
    result = client(engine, "upsert", str(feed))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "4 product(s) read: 1 created, 1 updated, 2 rejected"
    assert lines[1].startswith("  line 2: not JSON")
    assert lines[2].startswith("  line 4: J-2: ") and "check digit" in lines[2]
    shown = orjson.loads(client(engine, "product", "--sku", "J-1", role="reader").stdout)
    assert shown["title"] == "Lampe" and shown["price"] == "19.90"
    deleted = client(engine, "delete", "--sku", "J-1,CAS-001")
    assert deleted.exit_code == 0 and deleted.stdout.strip() == "2 product(s) deleted"
    assert client(engine, "product", "--sku", "J-1", role="reader").exit_code == 2
