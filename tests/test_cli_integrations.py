"""`pm-exports integrations`, `secrets rotate`, `export --deliver`, `jobs show|redeliver` through the real entry
point, against a real S3 server; secrets come from the environment or stdin and are never printed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from engine.cli import main
from engine.settings import Settings
from tests.small_catalog import build_small_catalog

if TYPE_CHECKING:
    from tests.s3_server import S3Server

pytest_plugins = ["tests.s3_server"]  # fixture: s3_server


def test_integrations_cli_end_to_end(sqlite_db: Settings, s3_server: S3Server) -> None:
    build_small_catalog()
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = {
        "DATABASE_URL": sqlite_db.effective_database_url,
        "PM_EXPORTS_VAR_DIR": str(sqlite_db.var_dir),
        "PM_EXPORTS_LOG_FORMAT": "text",
        "PM_EXPORTS_SECRET_KEY": old_key,
        "PM_SECRET_SECRET_ACCESS_KEY": s3_server.secret_key,
    }

    def cli(*args: str, input: str | None = None, code: int = 0, **extra: str) -> str:
        result = CliRunner().invoke(main, list(args), env={**env, **extra}, input=input, catch_exceptions=False)
        assert result.exit_code == code, result.output
        assert s3_server.secret_key not in result.output
        return result.output

    bucket = s3_server.new_bucket()
    out = cli(
        "integrations", "create", "bucket", "--kind", "s3", "--set", f"bucket={bucket}",
        "--set", f"endpoint_url={s3_server.endpoint_url}", "--secret", "secret_access_key",
        "--secrets-stdin", input=f'{{"access_key_id": "{s3_server.access_key}"}}',
    )  # fmt: skip
    assert "secret_access_key = ******** (secret)" in out
    assert "required" in cli("integrations", "create", "x", "--kind", "s3", code=2)
    assert "bucket" in cli("integrations", "list")
    assert cli("integrations", "test", "bucket").startswith("ok in ")
    out = cli("export", "--format", "csv", "--deliver", "bucket:feeds/{date}/", "-q")
    assert "delivery to bucket → feeds/{date}/: succeeded" in out
    job_id = out.split("#", 1)[1].split(" ", 1)[0]
    shown = cli("jobs", "show", job_id)
    assert f"s3://{bucket}/feeds/" in shown and "succeeded (1 attempt(s))" in shown
    out = cli("jobs", "redeliver", job_id, "--to", "bucket")
    assert "succeeded (1 attempt(s))" in out
    assert "no failed delivery" in cli("jobs", "redeliver", job_id, code=2)
    assert "1 integration(s)" in cli("secrets", "rotate", PM_EXPORTS_SECRET_KEY=f"{new_key},{old_key}")
    assert cli("integrations", "test", "bucket", PM_EXPORTS_SECRET_KEY=new_key).startswith("ok in ")
    cli("integrations", "update", "bucket", "--secret", "secret_access_key", PM_EXPORTS_SECRET_KEY=new_key,
        PM_SECRET_SECRET_ACCESS_KEY="wrong")  # fmt: skip
    out = cli("export", "--format", "csv", "--deliver", "bucket", "-q", code=1, PM_EXPORTS_SECRET_KEY=new_key)
    assert "delivery to bucket: failed: delivery to bucket: " in out
    cli("integrations", "delete", "bucket", "--yes", PM_EXPORTS_SECRET_KEY=new_key)
    assert "no integration named 'bucket'" in cli("integrations", "show", "bucket", code=2)


@pytest.mark.parametrize("bad", ["feeds/../../etc", "/abs"])
def test_export_refuses_an_escaping_delivery_path(sqlite_db: Settings, bad: str) -> None:
    env = {"DATABASE_URL": sqlite_db.effective_database_url, "PM_EXPORTS_VAR_DIR": str(sqlite_db.var_dir)}
    result = CliRunner().invoke(main, ["export", "--format", "csv", "--deliver", f"x:{bad}"], env=env)
    assert result.exit_code == 2 and "deliveries[0].path: must stay inside" in result.output
