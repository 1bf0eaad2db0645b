"""Export specs, validation rules and file naming."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import OutputError, TemplateError
from engine.pipeline.naming import render_name, safe_file_name, unique_target
from engine.pipeline.spec import ExportSpec
from engine.pipeline.validate import compile_rules

COLUMNS = [{"header": "SKU", "source": "sku"}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "pdf", "columns": COLUMNS}, "format: unknown format 'pdf'"),
        ({"columns": COLUMNS}, "format: a format is required"),
        ({"format": "csv", "columns": []}, "columns: a template needs at least one column"),
        ({"format": "csv", "columns": COLUMNS, "options": {"separator": "|"}}, "options.separator"),
        (
            {"format": "csv", "columns": COLUMNS, "selection": {"colour": ["red"]}},
            "selection.colour: unknown",
        ),
        ({"format": "csv", "columns": COLUMNS, "selection": {"statuses": ["gone"]}}, "unknown status 'gone'"),
        (
            {"format": "csv", "columns": COLUMNS, "selection": {"updated_since": "yesterday"}},
            "selection.updated_since",
        ),
        ({"format": "csv", "columns": COLUMNS, "selection": {"stock_min": "many"}}, "selection.stock_min"),
        (
            {"format": "csv", "columns": COLUMNS, "file_name": "{template}-{user}.csv"},
            "unknown placeholder {user}",
        ),
        (
            {"format": "csv", "columns": COLUMNS, "rules": [{"rule": "fancy", "field": "sku"}]},
            "unknown rule 'fancy'",
        ),
        (
            {"format": "csv", "columns": COLUMNS, "rules": [{"rule": "required", "field": "nope"}]},
            "unknown field",
        ),
        ({"format": "csv", "columns": COLUMNS, "extra": 1}, "template: unknown key(s) extra"),
    ],
)
def test_bad_specs_name_the_problem(data: dict, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        ExportSpec.from_dict(data)
    assert message in str(info.value)


def test_overrides_merge_selection_and_options() -> None:
    spec = ExportSpec.from_dict(
        {
            "format": "csv",
            "columns": COLUMNS,
            "selection": {"statuses": ["active"]},
            "options": {"separator": ","},
        }
    )
    merged = spec.with_overrides({"selection": {"brands": ["X"]}, "options": {"header": False}})
    assert merged.selection == {"statuses": ["active"], "brands": ["X"]}
    assert merged.options == {"separator": ",", "header": False}
    assert spec.selection == {"statuses": ["active"]}  # the original is untouched


def test_overrides_merge_mappings_key_by_key() -> None:
    spec = ExportSpec.from_dict(
        {
            "format": "csv",
            "columns": COLUMNS,
            "mappings": {
                "categories": {"Maison": "HOME", "Jardin": "LAWN_AND_GARDEN"},
                "values": {"color": {"Noir": "Black"}, "gender": {"femme": "female"}},
                "themes": {"size": "SIZE"},
                "required": ["category", "theme"],
            },
        }
    )
    merged = spec.with_overrides(
        {"mappings": {"categories": {"Maison": "KITCHEN"}, "values": {"color": {"Blanc": "White"}}, "required": []}}
    )
    assert merged.mappings["categories"] == {"Maison": "KITCHEN", "Jardin": "LAWN_AND_GARDEN"}
    assert merged.mappings["values"] == {"color": {"Noir": "Black", "Blanc": "White"}, "gender": {"femme": "female"}}
    assert merged.mappings["themes"] == {"size": "SIZE"}
    assert merged.mappings["required"] == []
    assert spec.mappings["categories"]["Maison"] == "HOME"  # the original is untouched


RECORD = {
    "id": 1,
    "sku": "A",
    "ean": "96385075",
    "price": Decimal("0"),
    "title": "x" * 300,
    "completeness": 40,
    "images": [],
    "status": "active",
}


@pytest.mark.parametrize(
    ("rule", "rule_id", "message"),
    [
        ({"rule": "required", "field": "brand"}, "required:brand", "brand is missing"),
        ({"rule": "positive", "field": "price"}, "positive:price", "price must be greater than 0"),
        ({"rule": "gtin", "field": "ean"}, "gtin:ean", "bad check digit (expected 4)"),
        (
            {"rule": "max_length", "field": "title", "length": 150},
            "max_length:title",
            "300 characters long (at most 150)",
        ),
        (
            {"rule": "min_count", "field": "images", "count": 1},
            "min_count:images",
            "0 item(s), at least 1 needed",
        ),
        (
            {"rule": "enum", "field": "status", "values": ["draft"]},
            "enum:status",
            "'active' is not one of draft",
        ),
        ({"rule": "regex", "field": "sku", "pattern": "^[0-9]+$"}, "regex:sku", "does not match"),
        ({"rule": "min_completeness", "score": 70}, "min_completeness", "completeness 40 is below 70"),
    ],
)
def test_rules_report_the_rule_and_a_message(rule: dict, rule_id: str, message: str) -> None:
    failure = compile_rules([rule]).first_failure(RECORD)
    assert failure is not None
    assert failure[0] == rule_id
    assert message in failure[1]


def test_rules_pass_a_good_product() -> None:
    rules = compile_rules(
        [
            {"rule": "required", "field": "sku"},
            {"rule": "gtin", "field": "ean"},
            {"rule": "max_length", "field": "sku", "length": 3},
        ]
    )
    assert rules.first_failure({**RECORD, "ean": "96385074"}) is None


WHEN = dt.datetime(2026, 11, 27, 8, 5, 9)


@pytest.mark.parametrize(
    ("pattern", "parts", "expected"),
    [
        ("{template}-{datetime}.{format}", 1, "standard-csv-20261127-080509.csv"),
        ("{template}-{date}", 1, "standard-csv-2026-11-27.csv"),
        ("export-{count}-{timestamp}.csv", 1, f"export-42-{int(WHEN.timestamp())}.csv"),
        ("{template}.{format}", 3, "standard-csv-part2.csv"),
        ("{template}-{part}.{format}", 3, "standard-csv-2.csv"),
        ("../../etc/passwd", 1, "etc_passwd.csv"),
        ("/abs/path/x.csv", 1, "abs_path_x.csv"),
        ("..", 1, "export.csv"),
        ("a:b*c?.csv", 1, "a_b_c.csv"),
    ],
)
def test_file_names_stay_in_the_folder(pattern: str, parts: int, expected: str) -> None:
    name = render_name(
        pattern, template="Standard CSV", fmt="csv", extension="csv", when=WHEN, count=42, part=2, parts=parts
    )
    assert name == expected
    assert "/" not in name and not name.startswith(".")


def test_a_tab_separated_file_gets_one_extension() -> None:
    name = render_name("{template}-{date}.{format}", template="Feed", fmt="csv", extension="tsv", when=WHEN,
                       count=1, part=1, parts=1)  # fmt: skip
    assert name == "feed-2026-11-27.tsv"


def test_unique_target_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    assert unique_target(tmp_path, "a.csv").name == "a-2.csv"
    assert unique_target(tmp_path, "b.csv").name == "b.csv"
    with pytest.raises(OutputError):
        unique_target(tmp_path, "../b.csv")


def test_safe_file_name_bounds_its_utf8_bytes() -> None:
    assert safe_file_name("é" * 500) == "é" * 90  # 180 bytes, cut between characters
    assert safe_file_name("a" + "é" * 500).encode() == ("a" + "é" * 89).encode()
