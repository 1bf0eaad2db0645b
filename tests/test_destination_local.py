"""The `local` destination (a folder on the engine's machines): atomic, checked copies, clear errors, and the whole
path from `pm-exports integrations create` to `pm-exports export --deliver` with nothing but the engine installed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.destinations.base import DeliveryFile, DestinationOptions
from engine.destinations.local import LocalFolderDestination
from engine.errors import FatalError, InvalidRequest
from engine.settings import Settings
from tests.small_catalog import build_small_catalog


def delivery_file(path: Path, data: bytes, *, sha256: str | None = None) -> DeliveryFile:
    path.write_bytes(data)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return DeliveryFile(name=path.name, path=path, size=len(data), sha256=digest, content_type="text/csv")


def destination(folder: Path | str) -> LocalFolderDestination:
    return LocalFolderDestination({"folder": str(folder)}, {}, DestinationOptions())


def test_files_are_copied_checked_and_renamed_into_the_folder(tmp_path: Path) -> None:
    source = delivery_file(tmp_path / "feed.csv", b"sku;title\nA;Casserole\n")
    receipts = destination(tmp_path / "drop").deliver([source], "feeds/2027-03-01")
    target = tmp_path / "drop" / "feeds" / "2027-03-01" / "feed.csv"
    assert target.read_bytes() == source.path.read_bytes()
    assert receipts[0].remote == str(target) and receipts[0].checksum == source.sha256
    again = delivery_file(tmp_path / "feed.csv", b"sku;title\nB;Poele\n")
    destination(tmp_path / "drop").deliver([again], "feeds/2027-03-01")
    assert target.read_bytes() == b"sku;title\nB;Poele\n"
    assert [p.name for p in target.parent.iterdir()] == ["feed.csv"], "no temporary file left behind"


def test_a_file_changed_since_the_export_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    changed = delivery_file(tmp_path / "feed.csv", b"new bytes", sha256=hashlib.sha256(b"old bytes").hexdigest())
    with pytest.raises(FatalError, match="changed since the export wrote it"):
        destination(tmp_path / "drop").deliver([changed], "")
    assert list((tmp_path / "drop").iterdir()) == []


def test_connection_test_and_clear_errors(tmp_path: Path) -> None:
    probe = destination(tmp_path / "drop").test()
    assert probe.latency_ms >= 0 and "is writable" in probe.message and list((tmp_path / "drop").iterdir()) == []
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(FatalError, match="cannot write a test file"):
        destination(blocker / "sub").test()
    with pytest.raises(InvalidRequest, match="absolute path"):
        destination("relative/folder")


def test_export_delivered_to_a_local_folder_from_the_command_line(sqlite_db: Settings, tmp_path: Path) -> None:
    build_small_catalog()
    env = {"DATABASE_URL": sqlite_db.effective_database_url, "PM_EXPORTS_VAR_DIR": str(sqlite_db.var_dir)}

    def cli(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    drop = tmp_path / "pickup"
    cli("integrations", "create", "pickup", "--kind", "local", "--set", f"folder={drop}")
    assert cli("integrations", "test", "pickup").startswith("ok in ")
    out = cli("export", "--format", "csv", "--deliver", "pickup:feeds/", "-q")
    assert "delivery to pickup → feeds/: succeeded" in out
    (delivered,) = (drop / "feeds").iterdir()
    job_id = out.split("#", 1)[1].split(" ", 1)[0]
    assert str(delivered) in cli("jobs", "show", job_id)
