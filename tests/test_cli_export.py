"""`pm-exports export` and `templates list` through the real command line entry point."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.settings import Settings
from tests.small_catalog import build_small_catalog


@pytest.fixture
def cli(sqlite_db: Settings):
    build_small_catalog()
    env = {
        "DATABASE_URL": sqlite_db.effective_database_url,
        "PM_EXPORTS_VAR_DIR": str(sqlite_db.var_dir),
        "PM_EXPORTS_LOG_FORMAT": "text",
    }

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_export_csv_with_options_and_summary(cli, sqlite_db: Settings) -> None:
    result = cli(
        "export",
        "--format",
        "csv",
        "--no-bom",
        "--separator",
        ",",
        "--fields",
        "sku,title,price",
        "--category",
        "Bureau",
    )
    assert result.exit_code == 0, result.output
    assert "2 products exported of 2 selected" in result.output
    (path,) = sqlite_db.export_dir.glob("standard-csv-*.csv")
    assert str(path) in result.output and "sha256" in result.output
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(data.decode().splitlines(), delimiter=","))
    assert rows[0] == ["SKU", "Title", "Price"]
    assert rows[2] == ["", "Cahier A5 — 96 pages", "3.20"]


def test_export_summary_counts_exclusions_by_rule(cli) -> None:
    result = cli("export", "--template", "Price & Stock")
    assert result.exit_code == 0, result.output
    assert "1 product(s) excluded:" in result.output
    assert "positive:price" in result.output and "EMPTY-1" in result.output


@pytest.mark.parametrize("fmt", ["xlsx", "json", "jsonl"])
def test_export_each_format(cli, sqlite_db: Settings, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("export", "--format", fmt, "--out", str(out), "--file-name", "cat-{count}")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    expected_rows = 6 if fmt == "xlsx" else 5  # the XLSX template takes drafts too
    assert names == [f"cat-{expected_rows}.{fmt}"]


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["export", "--separator", "|"], "use ';', ',' or 'tab'", 2),
        (["export", "--template", "Nope"], "error: no template named 'Nope'", 2),
        (["export", "--sku", "NOPE"], "error: the selection matches no product", 2),
        (["export", "--fields", "sku,colour"], "unknown field 'colour'", 2),
        (["export", "--category", "Jardin"], "selection.categories: unknown category 'Jardin'", 2),
        (["export", "--status", "gone"], "unknown status 'gone'", 2),
        (["export", "--format", "xlsx", "--max-rows", "2000000"], "max_rows", 2),
        (["export", "--format", "pdf"], "Invalid value for '--format'", 2),
    ],
)
def test_bad_input_gets_a_clear_error(cli, args: list[str], message: str, code: int) -> None:
    result = cli(*args)
    assert result.exit_code == code
    assert message in result.output


def test_unwritable_folder(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("export", "--out", str(blocker / "sub"))
    assert result.exit_code == 1
    assert "cannot write to the export folder" in result.output


def test_templates_list_and_db_upgrade_is_idempotent(cli) -> None:
    listing = cli("templates", "list")
    for name in ("Standard CSV", "Full catalogue XLSX", "Price & Stock", "JSON catalogue"):
        assert name in listing.output
    lines = {line.split("  ")[0]: line.split() for line in listing.output.splitlines()}
    assert lines["Standard CSV"][2:6] == ["csv", "v1", "predefined", "active"]
    assert lines["Full catalogue XLSX"][3:7] == ["xlsx", "v1", "predefined", "active,inactive,draft"]
    again = cli("db", "upgrade")
    assert again.exit_code == 0
    assert "migrations applied: none (up to date)" in again.output
    assert "'Standard CSV': unchanged" in again.output
