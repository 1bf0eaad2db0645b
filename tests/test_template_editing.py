"""The services behind the console's template editor: where a spec's problems are (per column and step), what the
editor offers (source fields, transformation vocabulary) generated from the engine's own tables, starter specs,
diffs and restores of versions, and the preview of an unsaved spec."""

from __future__ import annotations

import pytest

from engine.errors import InvalidRequest, InvalidState, NotFound, TemplateError
from engine.pipeline.fields import parse_path
from engine.pipeline.spec import SELECTION_KEYS, ExportSpec
from engine.pipeline.transforms import REGISTRY
from engine.services import templates as svc
from engine.services.exports import ResolvedRequest
from engine.services.jobs import preview_request
from engine.settings import Settings
from tests.small_catalog import build_small_catalog

SPEC = {"format": "csv", "columns": [{"header": "SKU", "source": "sku"}, {"header": "Title", "source": "title"}]}


def _paths(spec: dict) -> dict[str, str]:
    return {p.path: p.message for p in svc.spec_problems(spec)}


def test_every_offered_source_field_is_one_the_engine_accepts() -> None:
    fields = svc.source_fields()
    assert {"title", "images[0].url", "category.path", "suppliers[0].supplier_sku", "variant.sku"} <= set(fields)
    for path in fields:
        parse_path(path, "test")  # raises on a path the engine refuses


def test_the_vocabulary_is_the_engines_registry() -> None:
    vocabulary = {t.name: t for t in svc.transform_vocabulary()}
    assert set(vocabulary) == set(REGISTRY)
    truncate = {a.name: a for a in vocabulary["truncate"].args}
    assert truncate["length"].required and truncate["length"].types == ("int",)
    assert not truncate["words"].required and truncate["words"].default is False
    assert {a.name: a.types for a in vocabulary["map"].args}["table"] == ("dict",)


def test_spec_problems_name_each_column_part_and_step(db: Settings) -> None:
    assert svc.spec_problems(SPEC) == []
    spec = {
        "format": "csv",
        "columns": [
            {"header": "SKU", "source": "colour"},
            {"header": "Title", "source": "title", "transforms": ["trim", {"name": "truncate"}, "zap"]},
            {"header": "sku", "source": "sku"},
            {"header": "", "source": "ean"},
        ],
    }
    problems = _paths(spec)
    assert "unknown field 'colour'" in problems["columns[1].value"]
    assert "argument 'length' is required" in problems["columns[2].transforms[2]"]
    assert "unknown transformation 'zap'" in problems["columns[2].transforms[3]"]
    assert "columns[2].transforms[1]" not in problems
    assert problems["columns[3].header"] == "duplicate header (also column 1)"
    assert "non-empty header" in problems["columns[4].header"]
    known = ", ".join(SELECTION_KEYS)
    wrong_criterion = _paths({**SPEC, "selection": {"colour": ["red"]}})
    assert wrong_criterion == {"selection": f"unknown selection criterion (known: {known})"}
    assert list(_paths({**SPEC, "options": {"separator": "|"}})) == ["options"]
    assert list(_paths({**SPEC, "format": "pdf"})) == ["format"]
    assert list(_paths({**SPEC, "columns": [{"header": "x" * 20_000, "source": "sku"}]})) == ["columns[1].header"]
    google = {"format": "google_xml", "columns": [{"header": "not a name!", "source": "sku"}]}
    assert list(_paths(google)) == ["columns[1].header"]  # a header the format refuses
    assert list(_paths({**SPEC, "notifications": {"webhooks": ["nowhere"]}})) == ["notifications"]


def test_starter_specs_are_valid_and_a_feed_starts_from_its_predefined_template(db: Settings) -> None:
    for format in svc.template_formats():
        ExportSpec.from_dict(svc.starter_spec(format))
    assert svc.starter_spec("amazon_json") == svc.get_template("Amazon Listings Feed").spec
    with pytest.raises(TemplateError, match="format"):
        svc.starter_spec("pdf")
    created = svc.create_blank_template("Blank", "xlsx")
    assert [c["header"] for c in created.spec["columns"]] == ["SKU", "Title", "Price"] and created.version == 1


def test_diff_and_restore_versions(db: Settings) -> None:
    svc.create_template("Mine", SPEC)
    svc.update_template("Mine", spec={**SPEC, "columns": SPEC["columns"][:1]})
    diff = svc.diff_template_versions("Mine", 1, 2)
    assert diff[:2] == ["--- Mine v1", "+++ Mine v2"]
    assert '-      "header": "Title",' in diff and all(not line.startswith("+ ") for line in diff[2:])
    assert svc.diff_template_versions("Mine", 2, 2) == []
    with pytest.raises(NotFound):
        svc.diff_template_versions("Mine", 1, 7)
    restored = svc.restore_template_version("Mine", 1)
    assert restored.version == 3 and restored.spec == svc.template_version("Mine", 1)
    with pytest.raises(InvalidRequest, match="current spec already"):
        svc.restore_template_version("Mine", 3)
    with pytest.raises(InvalidState):
        svc.restore_template_version("Standard CSV", 1)


def test_the_platform_of_a_predefined_template_comes_from_its_data_file_and_a_copy_keeps_it(
    sqlite_db: Settings,
) -> None:
    assert svc.template_platform("Shopify Standard") == "Shopify"
    assert svc.template_platform("Google Shopping TSV") == "Google Merchant Center"
    assert svc.template_platform("Standard CSV") == ""
    svc.copy_template("Shopify Standard", "Mon Shopify")
    svc.copy_template("WooCommerce Standard", "Ma boutique")
    svc.copy_template("Standard CSV", "Mine")
    spec = svc.get_template("Mon Shopify").spec
    spec["columns"][0]["header"] = "Titre modifié"  # edited since: the copy stays a Shopify file
    svc.update_template("Mon Shopify", spec=spec)
    svc.create_template("Fresh", svc.starter_spec("csv"))
    names = ["Mon Shopify", "Ma boutique", "Mine", "Fresh", "Amazon Flat File", "Nope"]
    assert svc.template_platforms(names) == {
        "Mon Shopify": "Shopify", "Ma boutique": "WooCommerce", "Mine": "", "Fresh": "",
        "Amazon Flat File": "Amazon", "Nope": "",
    }  # fmt: skip


def test_preview_of_an_unsaved_spec(db: Settings) -> None:
    build_small_catalog()
    spec = {**SPEC, "columns": [{"header": "Name", "source": "title", "transforms": ["upper"]}]}
    spec["rules"] = [{"rule": "required", "field": "price"}]
    preview = preview_request(ResolvedRequest(ExportSpec.from_dict(spec), "Unsaved", None), 20)
    assert preview.headers == ["Name"] and preview.rows and all(row[0] == row[0].upper() for row in preview.rows)
    assert preview.excluded and {e["rule"] for e in preview.excluded} == {"required:price"}
    with pytest.raises(InvalidRequest):
        preview_request(ResolvedRequest(ExportSpec.from_dict(spec), "Unsaved", None), 5000)
