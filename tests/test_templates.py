"""Templates as first-class objects: create, update (versioned), copy, delete, and the job snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import InvalidRequest, InvalidState, NotFound, TemplateError
from engine.services import templates as svc
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from tests.small_catalog import build_small_catalog

SPEC = {"format": "csv", "columns": [{"header": "SKU", "source": "sku"}, {"header": "Title", "source": "title"}]}


def test_create_update_version_copy_delete(db: Settings) -> None:
    created = svc.create_template("Mine", SPEC, "my columns")
    assert (created.version, created.predefined, created.format) == (1, False, "csv")
    updated = svc.update_template("Mine", spec={**SPEC, "columns": SPEC["columns"][:1]}, description="just SKU")
    assert updated.version == 2 and updated.description == "just SKU"
    assert svc.update_template("Mine", spec={**SPEC, "columns": SPEC["columns"][:1]}).version == 2  # unchanged
    assert [v.version for v in svc.template_versions("Mine")] == [1, 2]
    assert svc.template_version("Mine", 1)["columns"][1]["header"] == "Title"
    renamed = svc.update_template("Mine", new_name="Mine v2")
    assert renamed.name == "Mine v2"
    copy = svc.copy_template("Standard CSV", "Standard CSV (FR)")
    assert copy.predefined is False and copy.spec == svc.get_template("Standard CSV").spec
    svc.delete_template("Standard CSV (FR)")
    with pytest.raises(NotFound):
        svc.get_template("Standard CSV (FR)")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: svc.create_template("X", {**SPEC, "columns": [{"header": "A", "source": "colour"}]}),
            TemplateError,
            "column 1 ('A'): unknown field 'colour'",
        ),
        (
            lambda: svc.create_template(
                "X", {**SPEC, "columns": [{"header": "A", "source": "sku", "transforms": ["zap"]}]}
            ),
            TemplateError,
            "unknown transformation 'zap'",
        ),
        (
            lambda: svc.create_template(
                "X",
                {
                    **SPEC,
                    "columns": [
                        {"header": "A", "source": "sku", "transforms": [{"name": "regex_replace", "pattern": "[a-"}]}
                    ],
                },
            ),
            TemplateError,
            "bad regular expression",
        ),
        (
            lambda: svc.create_template(
                "X", {**SPEC, "columns": [{"header": "A", "source": "sku"}, {"header": "a", "source": "ean"}]}
            ),
            TemplateError,
            "duplicate header",
        ),
        (lambda: svc.create_template("Standard CSV", SPEC), InvalidRequest, "already exists"),
        (lambda: svc.create_template(" ", SPEC), InvalidRequest, "a template needs a name"),
        (lambda: svc.update_template("Standard CSV", description="x"), InvalidState, "predefined and read-only"),
        (lambda: svc.delete_template("Price & Stock"), InvalidState, "predefined and read-only"),
        (lambda: svc.template_version("Standard CSV", 99), NotFound, "no version 99"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(db: Settings, call, error, message) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_a_job_keeps_the_snapshot_it_ran_with(sqlite_db: Settings) -> None:
    build_small_catalog()
    svc.create_template("Mine", SPEC)
    job, _ = run_inline(resolve_request("Mine"), sqlite_db)
    svc.update_template("Mine", spec={**SPEC, "columns": SPEC["columns"][:1]})
    assert (job.template_version, [c["header"] for c in job.spec["columns"]]) == (1, ["SKU", "Title"])
    job2, _ = run_inline(resolve_request("Mine"), sqlite_db)
    assert (job2.template_version, [c["header"] for c in job2.spec["columns"]]) == (2, ["SKU"])


def test_template_commands(sqlite_db: Settings, tmp_path: Path) -> None:
    env = {"DATABASE_URL": sqlite_db.effective_database_url, "PM_EXPORTS_VAR_DIR": str(sqlite_db.var_dir)}
    runner = CliRunner()
    spec_file = tmp_path / "mine.json"
    spec_file.write_text(json.dumps(SPEC))
    assert (
        "created (version 1)"
        in runner.invoke(main, ["templates", "create", "Mine", "--file", str(spec_file)], env=env).output
    )
    shown = runner.invoke(main, ["templates", "show", "Mine"], env=env)
    assert json.loads(shown.output)["columns"] == SPEC["columns"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SPEC, "columns": [{"header": "A", "source": "colour"}]}))
    result = runner.invoke(main, ["templates", "update", "Mine", "--file", str(bad)], env=env)
    assert result.exit_code == 2 and "unknown field 'colour'" in result.output
    assert "created" in runner.invoke(main, ["templates", "copy", "Standard CSV", "Copy"], env=env).output
    assert "v1" in runner.invoke(main, ["templates", "versions", "Copy"], env=env).output
    assert runner.invoke(main, ["templates", "delete", "Copy"], env=env).exit_code == 0
    refused = runner.invoke(main, ["templates", "delete", "Standard CSV"], env=env)
    assert refused.exit_code == 2 and "read-only" in refused.output
