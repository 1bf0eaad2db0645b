"""Command-line details: `client report --out` as a file or a folder, downloaded files' mode, exit 2 for every bad
request (a predefined template is read-only), and a quiet exit when stdout is a pipe closed early."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main
from engine.settings import Settings
from tests.rpc_support import Engine
from tests.test_rpc_templates import client_cli

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db


def _new_file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def test_client_report_out_is_a_folder_or_a_file_and_says_which(engine: Engine, tmp_path: Path) -> None:
    job_id = str(engine.client("manager").create_export("Price & Stock").id)
    name = f"job-{job_id}-report.csv"

    new_folder = client_cli(engine, "report", job_id, "--out", f"{tmp_path / 'new'}/", role="reader")
    assert new_folder.exit_code == 0, new_folder.output
    assert new_folder.stdout == f"report of job {job_id} written into the folder {tmp_path / 'new'} as {name}\n"
    assert (tmp_path / "new" / name).is_file()

    existing = client_cli(engine, "report", job_id, "--out", str(tmp_path / "new"), role="reader")
    assert existing.stdout == f"report of job {job_id} written into the folder {tmp_path / 'new'} as {name}\n"

    as_file = client_cli(engine, "report", job_id, "--out", str(tmp_path / "out"), role="reader")
    assert as_file.stdout == f"report of job {job_id} written to the file {tmp_path / 'out'}\n"
    assert (tmp_path / "out").read_bytes() == (tmp_path / "new" / name).read_bytes()
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == _new_file_mode()

    no_parent = client_cli(engine, "report", job_id, "--out", str(tmp_path / "missing" / "out"), role="reader")
    assert no_parent.exit_code == 2
    assert f"the folder {tmp_path / 'missing'} does not exist" in no_parent.stderr
    assert not (tmp_path / "missing").exists()
    a_file = client_cli(engine, "report", job_id, "--out", f"{tmp_path / 'out'}/", role="reader")
    assert a_file.exit_code == 2 and "is a file, not a folder" in a_file.stderr


def test_downloaded_files_have_the_mode_of_exports(engine: Engine, tmp_path: Path) -> None:
    job = engine.client("manager").create_export("Price & Stock")
    result = client_cli(engine, "download", str(job.id), "--out", str(tmp_path), role="reader")
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("price-stock-*.csv")
    assert stat.S_IMODE(path.stat().st_mode) == _new_file_mode()


def _env(settings: Settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.effective_database_url, "PM_EXPORTS_VAR_DIR": str(settings.var_dir),
            "PM_EXPORTS_LOG_FORMAT": "text"}  # fmt: skip


def test_changing_a_predefined_template_is_a_bad_request(sqlite_db: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["templates", "delete", "Standard CSV"], env=_env(sqlite_db))
    assert result.exit_code == 2
    assert result.stderr == "error: 'Standard CSV' is predefined and read-only: copy it to change it\n"


def test_output_into_a_closed_pipe_exits_quietly(sqlite_db: Settings) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "templates", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, **_env(sqlite_db)},
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == 1
