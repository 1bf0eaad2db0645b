"""Columns, source paths and the transformation vocabulary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.errors import TemplateError
from engine.pipeline.mapping import compile_columns
from engine.pipeline.transforms import REGISTRY

RECORD = {
    "id": 7,
    "sku": "ab-1",
    "title": "  Crème brûlée <b>maison</b>, 250 g  ",
    "brand": "Ökotex",
    "price": Decimal("1234.5"),
    "currency": "EUR",
    "tax_rate": Decimal("20"),
    "weight": Decimal("1.2345"),
    "tags": ["a", "b", "c"],
    "attributes": {"color": "Rouge"},
    "ean": "96385074",
    "status": "active",
    "description": "<p>Un &amp; deux</p><ul><li>trois</li><li>quatre</li></ul>",
    "updated_at": dt.datetime(2026, 3, 14, 9, 26, 53),
    "category": {
        "id": 3,
        "name": "Casseroles",
        "path": "Maison > Cuisine > Casseroles",
        "slug": "casseroles",
    },
    "images": [{"url": "https://x/1.jpg", "alt": None}, {"url": "https://x/2.jpg", "alt": "deux"}],
    "suppliers": [{"code": "S1", "supplier_sku": "X-1", "cost_price": Decimal("3.10")}],
}


def value(source: str, *transforms: object, record: dict | None = None) -> object:
    compiled = compile_columns([{"header": "h", "source": source, "transforms": list(transforms)}])
    return compiled.row(record or RECORD)[0]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("sku", "ab-1"),
        ("category.path", "Maison > Cuisine > Casseroles"),
        ("category", "Maison > Cuisine > Casseroles"),
        ("images[0].url", "https://x/1.jpg"),
        ("images[1].alt", "deux"),
        ("images[5].url", None),
        ("images[-1].url", "https://x/2.jpg"),
        ("images.url", ["https://x/1.jpg", "https://x/2.jpg"]),
        ("images", ["https://x/1.jpg", "https://x/2.jpg"]),
        ("attributes.color", "Rouge"),
        ("attributes.size", None),
        ("suppliers[0].supplier_sku", "X-1"),
        ("tags[1]", "b"),
        ("tags", ["a", "b", "c"]),
        ("variants", []),
    ],
)
def test_sources(source: str, expected: object) -> None:
    record = {**RECORD, "variants": []}
    assert value(source, record=record) == expected


@pytest.mark.parametrize(
    ("source", "steps", "expected"),
    [
        ("title", ["trim"], "Crème brûlée <b>maison</b>, 250 g"),
        ("title", ["strip_html", "upper"], "CRÈME BRÛLÉE MAISON , 250 G"),
        ("title", ["trim", "lower", "capitalize"], "Crème brûlée <b>maison</b>, 250 g"),
        ("title", ["strip_html", {"name": "truncate", "length": 12, "ellipsis": "…"}], "Crème brûlé…"),
        ("title", ["strip_html", {"name": "truncate", "length": 14, "words": True}], "Crème brûlée"),
        ("title", ["strip_html", "slugify"], "creme-brulee-maison-250-g"),
        ("sku", [{"name": "replace", "old": "-", "new": "_"}, "upper"], "AB_1"),
        ("sku", [{"name": "regex_replace", "pattern": r"^(\w+)-(\d)$", "replacement": r"\2-\1"}], "1-ab"),
        ("sku", [{"name": "prefix", "text": "FR-"}, {"name": "suffix", "text": "!"}], "FR-ab-1!"),
        ("mpn", [{"name": "default", "value": "n/a"}], "n/a"),
        ("tags", [{"name": "join", "separator": ", "}], "a, b, c"),
        ("tags", ["first"], "a"),
        ("tags", [{"name": "nth", "index": -1}], "c"),
        ("sku", [{"name": "split", "separator": "-"}], ["ab", "1"]),
        ("status", [{"name": "map", "table": {"active": "TRUE"}, "default": "FALSE"}], "TRUE"),
        ("brand", [{"name": "map", "table": {"x": "y"}}], "Ökotex"),
        ("price", ["format_price"], "1234.50"),
        (
            "price",
            [
                {
                    "name": "format_price",
                    "decimal_separator": ",",
                    "thousands_separator": " ",
                    "currency": True,
                }
            ],
            "1 234,50 EUR",
        ),
        ("price", [{"name": "format_price", "currency": "USD", "decimals": 0}], "1235 USD"),
        ("price", [{"name": "markup", "percent": 10}, "round"], Decimal("1357.95")),
        ("price", [{"name": "multiply", "factor": 0.5}], Decimal("617.25")),
        ("price", ["tax_excluded"], Decimal("1028.75")),
        ("weight", ["grams"], 1235),
        ("weight", [{"name": "round", "decimals": 1}], Decimal("1.2")),
        ("updated_at", [{"name": "date_format", "format": "%d/%m/%Y"}], "14/03/2026"),
        ("status", ["bool_format"], "1"),
        ("mpn", [{"name": "bool_format", "true": "yes", "false": "no"}], "no"),
        ("ean", ["gtin_normalize"], "0000096385074"),
        ("ean", [{"name": "gtin_normalize", "length": 14}], "00000096385074"),
        ("sku", ["gtin_normalize"], None),
        ("description", ["html_to_text"], "Un & deux\ntrois\nquatre"),
        ("description", ["strip_html"], "Un & deux trois quatre"),
        ("mpn", ["upper", "trim", "strip_html"], None),
        ("images.url", [{"name": "slice", "start": 1}], ["https://x/2.jpg"]),
        ("images.alt", ["unique"], ["deux"]),
        ("attributes", ["keys"], ["color"]),
        ("attributes", [{"name": "pluck", "key": ["colour", "COLOR"]}], "Rouge"),
        ("ean", ["gtin_valid"], "96385074"),
        ("mpn", [{"name": "or_field", "field": "sku"}], "ab-1"),
        ("mpn", [{"name": "or_format", "pattern": "PM-{id}-{sku}"}], "PM-7-ab-1"),
        ("sku", [{"name": "or_format", "pattern": "PM-{id}"}], "ab-1"),
        ("attributes", ["values"], ["Rouge"]),
        ("price", [{"name": "subtract_field", "field": "price"}], Decimal("0")),
        ("sku", [{"name": "when", "field": "row.first"}], None),  # no row: one row per product
        ("sku", [{"name": "from_variant", "field": "sku"}], "ab-1"),  # no variant: the value stays
    ],
)
def test_transformations(source: str, steps: list, expected: object) -> None:
    assert value(source, *steps) == expected


def test_every_transformation_is_covered_above() -> None:
    import inspect

    covered = set()
    for params in test_transformations.pytestmark[0].args[1]:  # type: ignore[attr-defined]
        for step in params[1]:
            covered.add(step if isinstance(step, str) else step["name"])
    assert set(REGISTRY) - covered == set(), "add a case for each transformation"
    assert all(t.doc for t in REGISTRY.values()), inspect.getdoc(REGISTRY)


def test_pattern_and_literal_columns() -> None:
    compiled = compile_columns(
        [
            {"header": "Name", "pattern": "{brand} - {title}", "transforms": ["strip_html"]},
            {"header": "Channel", "literal": "web"},
            {"header": "Qty", "literal": 3},
        ]
    )
    assert compiled.row(RECORD) == ["Ökotex - Crème brûlée maison , 250 g", "web", 3]
    assert [i.kind for i in compiled.infos] == ["text", "text", "integer"]
    assert compiled.product_columns == {"brand", "title"}


def test_needs_are_collected() -> None:
    compiled = compile_columns(
        [
            {"header": "a", "source": "images[0].url"},
            {"header": "b", "source": "suppliers[0].code"},
            {"header": "c", "source": "price"},
            {"header": "d", "pattern": "{category.path}"},
        ]
    )
    assert compiled.relations == {"images", "suppliers", "category"}
    assert compiled.product_columns == {"price"}
    assert [i.kind for i in compiled.infos] == ["text", "text", "money", "text"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([{"header": "X", "source": "colour"}], "column 1 ('X'): unknown field 'colour'"),
        ([{"header": "X", "source": "images[0].href"}], "column 1 ('X'): 'images' has no sub-field 'href'"),
        ([{"header": "X", "source": "title[0]"}], "column 1 ('X'): field 'title' is not a list"),
        (
            [{"header": "X", "source": "price", "transforms": ["shout"]}],
            "column 1 ('X'): unknown transformation 'shout'",
        ),
        (
            [{"header": "X", "source": "title", "transforms": [{"name": "truncate"}]}],
            "truncate: argument 'length' is required",
        ),
        (
            [{"header": "X", "source": "title", "transforms": [{"name": "truncate", "length": "ten"}]}],
            "truncate: argument 'length' must be int",
        ),
        (
            [
                {
                    "header": "X",
                    "source": "title",
                    "transforms": [{"name": "truncate", "length": 5, "size": 1}],
                }
            ],
            "truncate: unknown argument(s) size",
        ),
        (
            [{"header": "X", "source": "title", "transforms": [{"name": "truncate", "length": 0}]}],
            "truncate: length must be at least 1",
        ),
        (
            [{"header": "X", "source": "title", "transforms": [{"name": "regex_replace", "pattern": "(a"}]}],
            "regex_replace: bad regular expression",
        ),
        (
            [{"header": "X", "source": "title", "transforms": [{"name": "date_format", "format": "%s"}]}],
            "date_format: format may only use",
        ),
        (
            [{"header": "X", "source": "title"}, {"header": "x", "source": "sku"}],
            "column 2 ('x'): duplicate header (also column 1)",
        ),
        ([{"header": "", "source": "sku"}], "column 1: a column needs a non-empty header"),
        ([{"header": "X"}], "exactly one of source, literal or pattern"),
        ([{"header": "X", "source": "sku", "literal": "a"}], "exactly one of source, literal or pattern"),
        ([{"header": "X", "pattern": "{brand} {nope}"}], "unknown field 'nope'"),
        ([{"header": "X", "source": "sku", "transforms": "upper"}], "transforms must be a list"),
        ([{"header": "X", "source": "sku", "colour": 1}], "unknown key(s) colour"),
        (["sku"], "columns[1]: a column must be an object"),
    ],
)
def test_bad_columns_are_rejected_with_the_column_and_reason(columns: list, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_columns(columns)
    assert message in str(info.value)


PRODUCT = {
    "id": 1, "sku": "TS", "ean": None, "title": "T-shirt", "price": Decimal("19.00"), "stock": 30,
    "weight": Decimal("0.200"),
    "images": [{"url": "u1", "alt": None, "position": 1, "is_primary": True},
               {"url": "u2", "alt": "b", "position": 2, "is_primary": False},
               {"url": "u3", "alt": None, "position": 3, "is_primary": False}],
    "variants": [
        {"sku": "TS-S", "ean": "4012345678901", "options": {"Taille": "S", "Couleur": "Rouge"}, "price": None,
         "stock": 10, "weight": None, "image_url": None, "position": 1},
        {"sku": "TS-M", "ean": None, "options": {"Taille": "M", "Couleur": "Rouge"}, "price": Decimal("21.00"),
         "stock": 20, "weight": None, "image_url": None, "position": 2},
    ],
}  # fmt: skip
ROW_COLUMNS = [
    {"header": "Handle", "source": "sku"},
    {"header": "Title", "source": "title", "on": "first"},
    {"header": "Kind", "source": "row.kind"},
    {"header": "Variant SKU", "source": "variant.sku"},
    {"header": "Option1", "source": "variant.option1_value"},
    {"header": "Price", "source": "variant.price"},
    {"header": "Image", "source": "image.url"},
]


def rows_of(mode: str, product: dict) -> list[list]:
    compiled = compile_columns(ROW_COLUMNS, mode)
    return [values for values, _row in compiled.rows(product)]


def test_variants_images_rows_zip_variants_and_images() -> None:
    assert rows_of("variants_images", PRODUCT) == [
        ["TS", "T-shirt", "variant", "TS-S", "S", Decimal("19.00"), "u1"],
        ["TS", None, "variant", "TS-M", "M", Decimal("21.00"), "u2"],
        ["TS", None, "image", None, None, None, "u3"],
    ]


def test_a_product_without_variants_has_its_default_variant() -> None:
    single = {**PRODUCT, "variants": [], "images": []}
    assert rows_of("variants_images", single) == [["TS", "T-shirt", "variant", "TS", None, Decimal("19.00"), None]]
    assert rows_of("variants", single) == [["TS", "T-shirt", "variant", "TS", None, Decimal("19.00"), None]]
    assert rows_of("parent_variants", single) == [["TS", "T-shirt", "simple", "TS", None, Decimal("19.00"), None]]


def test_parent_variants_rows() -> None:
    rows = rows_of("parent_variants", {**PRODUCT, "images": []})
    assert [r[2] for r in rows] == ["parent", "variation", "variation"]
    assert [r[3] for r in rows] == [None, "TS-S", "TS-M"]


def test_columns_limited_to_row_kinds() -> None:
    compiled = compile_columns(
        [{"header": "Type", "source": "row.kind", "on": ["parent", "simple"]}], "parent_variants"
    )
    assert [v for v, _ in compiled.rows({**PRODUCT, "images": []})] == [["parent"], [None], [None]]
    assert compiled.relations == {"variants"}


@pytest.mark.parametrize(
    ("columns", "mode", "message"),
    [
        ([{"header": "X", "source": "variant.sku"}], "product", "need a row mode"),
        ([{"header": "X", "source": "sku", "on": "first"}], "product", "'on' needs a row mode"),
        ([{"header": "X", "source": "sku", "on": ["nope"]}], "variants", "'on' must be a row kind"),
        ([{"header": "X", "source": "variant.colour"}], "variants", "'variant' has no sub-field 'colour'"),
        ([{"header": "X", "source": "sku"}], "rows_please", "unknown row mode 'rows_please'"),
    ],
)
def test_bad_row_columns(columns: list, mode: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        compile_columns(columns, mode)
