"""Settings from the environment and .env, and the README's configuration table."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.settings import ENV_VARS, Settings


def test_defaults() -> None:
    s = Settings.from_env({}, dotenv=None)
    assert s.var_dir == Path("var") and s.export_dir == Path("var/exports")
    assert s.effective_database_url == "sqlite:///var/pm_exports.db"
    assert (s.chunk_size, s.xlsx_max_rows, s.artifact_retention_days) == (1000, 50_000, 30)


def test_booleans() -> None:
    assert Settings.from_env({}, dotenv=None).images_allow_private_networks is False
    assert Settings.from_env(
        {"PM_EXPORTS_IMAGES_ALLOW_PRIVATE_NETWORKS": "true"}, dotenv=None
    ).images_allow_private_networks


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PM_EXPORTS_CHUNK_SIZE=50\nPM_EXPORTS_VAR_DIR=/srv/pm\n")
    s = Settings.from_env({"PM_EXPORTS_CHUNK_SIZE": "70"}, dotenv=dotenv)
    assert s.chunk_size == 70 and s.var_dir == Path("/srv/pm") and s.export_dir == Path("/srv/pm/exports")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PM_EXPORTS_CHUNK_SIZE": "lots"}, "PM_EXPORTS_CHUNK_SIZE must be an integer"),
        ({"PM_EXPORTS_CHUNK_SIZE": "0"}, "PM_EXPORTS_CHUNK_SIZE must be at least 1"),
        ({"PM_EXPORTS_XLSX_MAX_ROWS": "2000000"}, "PM_EXPORTS_XLSX_MAX_ROWS must be between 1 and 1048575"),
        ({"PM_EXPORTS_LOG_FORMAT": "xml"}, "PM_EXPORTS_LOG_FORMAT must be auto, json or text"),
        ({"PM_EXPORTS_IMAGES_ALLOW_PRIVATE_NETWORKS": "maybe"}, "must be true or false"),
    ],
)
def test_bad_values_are_named(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env, dotenv=None)


def test_readme_documents_every_variable_with_its_default() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for var, (_attr, default, _help) in ENV_VARS.items():
        expected = f"`{default}`" if default else "*(empty)*"
        assert f"| `{var}` | {expected} |" in readme, f"README configuration table lacks {var} = {default!r}"
