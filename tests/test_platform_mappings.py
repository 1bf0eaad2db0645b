"""Template mappings (category, option -> attribute, values, themes), channel completeness and rules on columns:
checked on save, applied before the rules, and products excluded with the missing mapping named."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import TemplateError
from engine.models import JobExclusion
from engine.pipeline.platform_mappings import MAX_CATEGORY_ENTRIES, check_mappings, compile_mappings
from engine.pipeline.spec import ExportSpec
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from tests.platform_catalog import build_platform_catalog

COLUMNS = [
    {"header": "sku", "source": "sku", "transforms": [{"name": "or_field", "field": "ean"}]},
    {"header": "category", "source": "mapped.category"},
    {"header": "size", "source": "mapped.size"},
]


def spec_with(**extra: Any) -> dict[str, Any]:
    return {"format": "csv", "columns": COLUMNS, "options": {"separator": ",", "encoding": "utf-8"}, **extra}


@pytest.mark.parametrize(
    ("mappings", "field", "reason"),
    [
        ({"categories": []}, "mappings.categories", "must be an object"),
        ({"categories": {"Mode": ""}}, "mappings.categories", "'Mode' must map to a text"),
        ({"attributes": {"Taille": "Size!"}}, "mappings.attributes", "must be lower-case"),
        ({"themes": {"size color": "SIZE"}}, "mappings.themes", "joined by /"),
        ({"required": ["category"]}, "mappings.required", "mappings.categories is empty"),
        ({"required": ["brand"]}, "mappings.required", "must be a list of category, attributes, theme"),
        ({"colours": {}}, "mappings", "unknown key(s) colours"),
        (
            {
                "categories": {"Audio": "HEADPHONES"},
                "themes": {"color": "COLOR"},
                "allowed_themes": {"HEADPHONE": ["COLOR"]},
            },
            "mappings.allowed_themes",
            "product type 'HEADPHONE' is not one mappings.categories maps to",
        ),
        (
            {
                "categories": {"Audio": "HEADPHONES"},
                "themes": {"color": "COLOR"},
                "allowed_themes": {"HEADPHONES": ["SIZE"]},
            },
            "mappings.allowed_themes.HEADPHONES",
            "theme 'SIZE' allowed for HEADPHONES is not a theme of mappings.themes (known: COLOR)",
        ),
        (
            {"categories": {f"C{i}": "X" for i in range(MAX_CATEGORY_ENTRIES + 1)}},
            "mappings.categories",
            f"at most {MAX_CATEGORY_ENTRIES} entries",
        ),
    ],
)
def test_mappings_are_checked_when_the_template_is_saved(mappings: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(TemplateError) as caught:
        ExportSpec.from_dict(spec_with(mappings=mappings))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_column_rules_name_an_existing_header_and_completeness_known_criteria() -> None:
    with pytest.raises(TemplateError, match="column 'SKU2' is not one of the template's headers"):
        ExportSpec.from_dict(spec_with(rules=[{"rule": "required", "column": "SKU2"}]))
    with pytest.raises(TemplateError, match="criteria must be a non-empty list"):
        ExportSpec.from_dict(spec_with(rules=[{"rule": "min_completeness", "score": 90, "criteria": ["colour"]}]))
    spec = ExportSpec.from_dict(spec_with(mappings={"categories": {"Mode": "SHIRT"}}))
    assert spec.to_dict()["mappings"] == {"categories": {"Mode": "SHIRT"}}


def test_a_conditional_column_rule_is_checked_on_save() -> None:
    apparel = {"field": "mapped.category", "prefix": "Apparel & Accessories"}
    ExportSpec.from_dict(spec_with(rules=[{"rule": "required", "column": "size", "when": apparel}]))
    with pytest.raises(TemplateError, match="'when' applies to rules on a 'column'"):
        ExportSpec.from_dict(spec_with(rules=[{"rule": "required", "field": "title", "when": apparel}]))
    with pytest.raises(TemplateError, match="must be"):
        ExportSpec.from_dict(spec_with(rules=[{"rule": "required", "column": "size", "when": {"field": "x"}}]))
    with pytest.raises(TemplateError, match="prefix: a text or a list"):
        bad = {"field": "mapped.category", "prefix": ["x"] * 51}
        ExportSpec.from_dict(spec_with(rules=[{"rule": "required", "column": "size", "when": bad}]))


def test_apply_maps_category_by_longest_path_options_values_and_theme() -> None:
    mappings = compile_mappings(
        check_mappings(
            {
                "categories": {"Mode": "APPAREL", "Mode > Hauts": "SHIRT"},
                "attributes": {"Finition": "pattern"},
                "values": {"color": {"Blanc": "White"}},
                "themes": {"size/color": "SIZE/COLOR"},
                "required": ["category", "attributes", "theme"],
            }
        )
    )
    record: dict[str, Any] = {
        "categories": [{"path": "Mode > Hauts > T-shirts"}],
        "attributes": {"Matière": "Coton", "url": "x"},
        "variants": [{"options": {"Taille": "S", "Couleur": "blanc"}}, {"options": {"Taille": "M", "Couleur": "Noir"}}],
    }
    assert mappings.apply(record) is None
    assert record["mapped"] == {"material": "Coton", "category": "SHIRT", "theme": "SIZE/COLOR"}
    assert record["variants"][0]["mapped"] == {"size": "S", "color": "White"}
    assert record["variants"][1]["mapped"] == {"size": "M", "color": "Noir"}

    odd: dict[str, Any] = {"categories": [], "variants": [{"options": {"Parfum": "Rose", "Gravure": "Oui"}}]}
    failure = mappings.apply(odd)
    assert failure is not None and failure.rule_id == "mapping:category"
    assert "it has no category" in failure.message
    odd["categories"] = [{"path": "Mode > Bas"}]
    failure = mappings.apply(odd)
    assert failure is not None and failure.rule_id == "mapping:attributes"
    assert failure.message.startswith("option(s) Gravure have no platform attribute")
    odd["variants"] = [{"options": {"Parfum": "Rose"}}]
    failure = mappings.apply(odd)
    assert failure is not None and failure.rule_id == "mapping:theme"
    assert "platform attributes scent" in failure.message


def test_a_product_type_gets_only_the_themes_it_allows() -> None:
    mappings = compile_mappings(
        check_mappings(
            {
                "categories": {"Audio": "HEADPHONES", "Mode": "SHIRT"},
                "themes": {"size": "SIZE", "color": "COLOR", "size/color": "SIZE/COLOR"},
                "allowed_themes": {"HEADPHONES": ["COLOR"]},
                "required": ["category", "theme"],
            }
        )
    )
    headphones: dict[str, Any] = {
        "categories": [{"path": "Audio"}],
        "variants": [{"options": {"Couleur": "Noir"}}, {"options": {"Couleur": "Blanc"}}],
    }
    assert mappings.apply(headphones) is None and headphones["mapped"]["theme"] == "COLOR"
    headphones["variants"] = [{"options": {"Taille": "S"}}, {"options": {"Taille": "M"}}]
    failure = mappings.apply(headphones)
    assert failure is not None and failure.rule_id == "mapping:theme"
    assert failure.message.startswith("product type HEADPHONES allows the variation themes COLOR; the options Taille")
    assert "give SIZE" in failure.message
    shirt: dict[str, Any] = {"categories": [{"path": "Mode"}], "variants": headphones["variants"]}
    assert mappings.apply(shirt) is None and shirt["mapped"]["theme"] == "SIZE"  # a type not listed: every theme


@pytest.fixture
def catalog(db: Settings) -> Settings:
    build_platform_catalog()
    return db


def run(settings: Settings, spec: dict[str, Any]) -> tuple[dict[int, tuple[str, str]], list[str]]:
    job, result = run_inline(resolve_request(None, spec), settings, out_dir=settings.export_dir)
    exclusions = {e.product_id: (e.rule, e.message) for e in JobExclusion.select().where(JobExclusion.job == job.id)}
    return exclusions, result.files[0].path.read_text(encoding="utf-8").splitlines()


def test_products_without_a_required_mapping_are_excluded_naming_it(catalog: Settings) -> None:
    spec = spec_with(
        rows="variants",
        mappings={"categories": {"Maison > Cuisine": "COOKWARE"}, "required": ["category"]},
        selection={"ids": [1, 2]},
    )
    exclusions, lines = run(catalog, spec)
    assert exclusions == {
        2: (
            "mapping:category",
            "no platform category is mapped for its categories (Mode > Hauts): add one to mappings.categories",
        )
    }
    assert lines == ["sku,category,size", "PAN-28,COOKWARE,"]


def test_rules_on_a_column_run_on_the_value_after_its_fallbacks(catalog: Settings) -> None:
    # product 7 has no SKU but an EAN: the column falls back to it, so a rule on the column keeps it
    on_field = spec_with(rules=[{"rule": "required", "field": "sku"}], selection={"ids": [1, 7]})
    exclusions, _lines = run(catalog, on_field)
    assert exclusions == {7: ("required:sku", "sku is missing")}
    on_column = spec_with(rules=[{"rule": "required", "column": "sku"}], selection={"ids": [1, 7]})
    exclusions, lines = run(catalog, on_column)
    assert exclusions == {}
    assert lines[2] == "96385074,,"


def test_channel_completeness_counts_only_what_the_channel_requires(catalog: Settings) -> None:
    # product 10 has title, EAN, price and brand only: 36 on the catalogue's global score
    required = ["title", "price", "brand", "gtin"]
    spec = spec_with(rules=[{"rule": "min_completeness", "score": 100, "criteria": required}], selection={"ids": [10]})
    exclusions, _lines = run(catalog, spec)
    assert exclusions == {}
    spec["rules"] = [{"rule": "min_completeness", "score": 100, "criteria": [*required, "image", "description"]}]
    exclusions, _lines = run(catalog, spec)
    assert exclusions == {10: ("min_completeness", "channel completeness 67 is below 100: missing image, description")}
