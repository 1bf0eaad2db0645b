"""JsonWriter and JsonLinesWriter: outputs parsed back with the stdlib json module, value by value."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.errors import OutputError, TemplateError
from engine.formats.base import ColumnInfo, FormatWriter
from engine.formats.json import JsonLinesWriter, JsonWriter
from engine.formats.registry import get_writer
from tests.formats_helpers import folder_names, make_ctx, run_writer

COLUMNS = [
    ColumnInfo("sku"),
    ColumnInfo("title"),
    ColumnInfo("price", "money"),
    ColumnInfo("weight", "decimal"),
    ColumnInfo("stock", "integer"),
    ColumnInfo("active", "bool"),
    ColumnInfo("released", "date"),
    ColumnInfo("updated_at", "datetime"),
    ColumnInfo("tags", "list"),
    ColumnInfo("attributes", "object"),
]
ROWS: list[list[Any]] = [
    [
        "CAS-001",
        'Crème "brûlée" œ ß 日本\nligne 2',
        Decimal("49.90"),
        Decimal("1.250"),
        12,
        True,
        date(2024, 2, 29),
        datetime(2024, 2, 29, 8, 5, 9),
        ["inox", "induction"],
        {"color": "Argent", "ratio": Decimal("0.5")},
    ],
    ["EMPTY", None, None, None, None, None, None, None, None, None],
    ["=SUM(A1)", "-2", Decimal("-3.5"), 0.1, -4, False, None, None, [], {}],
]
EXPECTED: list[dict[str, Any]] = [
    {
        "sku": "CAS-001",
        "title": 'Crème "brûlée" œ ß 日本\nligne 2',
        "price": 49.9,
        "weight": 1.25,
        "stock": 12,
        "active": True,
        "released": "2024-02-29",
        "updated_at": "2024-02-29T08:05:09",
        "tags": ["inox", "induction"],
        "attributes": {"color": "Argent", "ratio": 0.5},
    },
    {"sku": "EMPTY", **{c.header: None for c in COLUMNS[1:]}},
    # JSON is not a spreadsheet: text is never neutralised
    {
        "sku": "=SUM(A1)",
        "title": "-2",
        "price": -3.5,
        "weight": 0.1,
        "stock": -4,
        "active": False,
        "released": None,
        "updated_at": None,
        "tags": [],
        "attributes": {},
    },
]

RECORD: dict[str, Any] = {
    "images": [{"url": "https://cdn.example.com/a.jpg", "alt": "Vue", "position": 1, "is_primary": True}],
    "suppliers": [
        {
            "code": "ACME",
            "name": "Acme",
            "country": "FR",
            "supplier_sku": "AC-1",
            "cost_price": Decimal("21.30"),
            "stock": 4,
            "position": 1,
        }
    ],
    "categories": [{"id": 2, "name": "Cuisine", "path": "Maison > Cuisine", "slug": "cuisine"}],
    "variants": [
        {
            "sku": "CAS-001-20",
            "ean": "3760001000016",
            "options": {"Taille": "20 cm"},
            "price": Decimal("49.90"),
            "stock": 3,
            "weight": Decimal("1.250"),
            "image_url": None,
            "position": 1,
        }
    ],
}
RECORD_JSON = json.loads(json.dumps(RECORD, default=float))


def write(
    tmp_path: Path,
    writer: type[FormatWriter],
    rows: list[list[Any]],
    columns: list[Any] | None = None,
    records: list[dict[str, Any]] | None = None,
    **options: Any,
) -> tuple[bytes, int]:
    ctx = make_ctx(tmp_path, columns or COLUMNS, options, writer=writer)
    (out,) = run_writer(writer, ctx, rows, records)
    assert out.path == tmp_path / f"export-1.{writer.extension}"
    assert out.content_type == writer.content_type
    return out.path.read_bytes(), out.rows


def parse_lines(raw: bytes) -> list[Any]:
    assert raw == b"" or raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode().split("\n")[:-1]]


@pytest.mark.parametrize(
    ("name", "writer", "content_type"),
    [("json", JsonWriter, "application/json"), ("jsonl", JsonLinesWriter, "application/x-ndjson")],
)
def test_registered(name: str, writer: type[FormatWriter], content_type: str) -> None:
    assert get_writer(name) is writer
    assert (writer.extension, writer.content_type) == (name, content_type)


@pytest.mark.parametrize("pretty", [False, True])
def test_document(tmp_path: Path, pretty: bool) -> None:
    raw, count = write(tmp_path, JsonWriter, ROWS, pretty=pretty)
    assert count == 3
    document = json.loads(raw)
    assert document == {"products": EXPECTED}
    assert [list(item) for item in document["products"]] == [[c.header for c in COLUMNS]] * 3  # column order
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.endswith(b"}\n")
    assert 'Crème \\"brûlée\\" œ ß 日本'.encode() in raw  # UTF-8, no \\u escapes


def test_document_compact_has_one_product_per_line(tmp_path: Path) -> None:
    raw, _ = write(tmp_path, JsonWriter, ROWS)
    lines = raw.decode().split("\n")
    assert lines[0] == '{"products":['
    assert [json.loads(line.rstrip(",")) for line in lines[1:4]] == EXPECTED
    assert lines[4:] == ["]}", ""]


def test_document_pretty_indents_items_inside_the_array(tmp_path: Path) -> None:
    raw, _ = write(tmp_path, JsonWriter, ROWS[:2], pretty=True)
    lines = raw.decode().split("\n")
    assert lines[:4] == ["{", '  "products": [', "    {", '      "sku": "CAS-001",']
    assert lines[-4:] == ["    }", "  ]", "}", ""]
    assert "    }," in lines


@pytest.mark.parametrize(("pretty", "expected"), [(False, b'{"products":[]}\n'), (True, b'{\n  "products": []\n}\n')])
def test_document_without_products(tmp_path: Path, pretty: bool, expected: bytes) -> None:
    raw, count = write(tmp_path, JsonWriter, [], pretty=pretty)
    assert (raw, count) == (expected, 0)
    assert json.loads(raw) == {"products": []}


def test_json_lines(tmp_path: Path) -> None:
    raw, count = write(tmp_path, JsonLinesWriter, ROWS)
    assert count == 3
    assert raw.count(b"\n") == 3  # the newline inside the title is escaped
    assert parse_lines(raw) == EXPECTED
    assert b"\xc5\x93" in raw  # œ in UTF-8


@pytest.mark.parametrize(("rows", "lines"), [([], 0), ([["a"]], 1), ([[None]], 1)])
def test_json_lines_small(tmp_path: Path, rows: list[list[Any]], lines: int) -> None:
    raw, count = write(tmp_path, JsonLinesWriter, rows, columns=["sku"])
    assert count == lines
    assert parse_lines(raw) == [{"sku": row[0]} for row in rows]


@pytest.mark.parametrize("writer", [JsonWriter, JsonLinesWriter])
@pytest.mark.parametrize(
    ("nested", "keys"),
    [
        (False, []),
        (True, ["suppliers", "categories", "variants", "images"]),
        (["images"], ["images"]),
        (["variants", "suppliers"], ["suppliers", "variants"]),
        ("categories", ["categories"]),
    ],
)
def test_nested_relations(tmp_path: Path, writer: type[FormatWriter], nested: Any, keys: list[str]) -> None:
    assert writer.relations({"nested": nested}) == set(keys)
    raw, _ = write(tmp_path, writer, [["A"], ["B"]], ["sku"], [RECORD, {}], nested=nested)
    items = json.loads(raw)["products"] if writer is JsonWriter else parse_lines(raw)
    assert list(items[0]) == ["sku", *keys]
    assert items[0] == {"sku": "A", **{k: RECORD_JSON[k] for k in keys}}
    assert items[1] == {"sku": "B", **{k: [] for k in keys}}  # a product without them gets empty lists


def test_nested_values_keep_their_types(tmp_path: Path) -> None:
    raw, _ = write(tmp_path, JsonLinesWriter, [["A"]], ["sku"], [RECORD], nested=True)
    (item,) = parse_lines(raw)
    assert item["suppliers"][0]["cost_price"] == 21.3
    assert item["variants"][0]["options"] == {"Taille": "20 cm"}
    assert item["variants"][0]["price"] == 49.9
    assert item["images"][0]["is_primary"] is True


def test_a_column_named_like_a_relation_wins(tmp_path: Path) -> None:
    raw, _ = write(tmp_path, JsonLinesWriter, [["A", "x|y"]], ["sku", "images"], [RECORD], nested=True)
    (item,) = parse_lines(raw)
    assert item["images"] == "x|y"
    assert list(item) == ["sku", "images", "suppliers", "categories", "variants"]


def test_defaults() -> None:
    for writer in (JsonWriter, JsonLinesWriter):
        assert writer.validate_options({}) == {"pretty": False, "nested": []}
        assert writer.relations({}) == set()
    options = JsonWriter.validate_options({"pretty": "yes", "nested": True})
    assert options == {"pretty": True, "nested": ["suppliers", "categories", "variants", "images"]}
    assert JsonWriter.validate_options(options) == options


@pytest.mark.parametrize(
    ("writer", "options", "field", "message"),
    [
        (JsonWriter, {"pretty": "maybe"}, "options.pretty", "true or false"),
        (JsonWriter, {"nested": ["images", "prices"]}, "options.nested", "unknown relation 'prices'"),
        (JsonWriter, {"nested": 3}, "options.nested", "true, false or a list"),
        (JsonWriter, {"indent": 2}, "options.indent", "unknown option"),
        (JsonLinesWriter, {"pretty": True}, "options.pretty", "one compact object per line"),
        (JsonLinesWriter, {"nested": {"images": True}}, "options.nested", "true, false or a list"),
    ],
)
def test_bad_options_name_the_option(
    writer: type[FormatWriter], options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message) as caught:
        writer.validate_options(options)
    assert caught.value.field == field


@pytest.mark.parametrize("writer", [JsonWriter, JsonLinesWriter])
def test_abort_removes_the_file(tmp_path: Path, writer: type[FormatWriter]) -> None:
    instance = writer(make_ctx(tmp_path, ["sku"], writer=writer))
    instance.write(["A"], {})
    assert folder_names(tmp_path) == [f"export-1.{writer.extension}"]
    instance.abort()
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("writer", [JsonWriter, JsonLinesWriter])
def test_unserialisable_value_is_an_output_error(tmp_path: Path, writer: type[FormatWriter]) -> None:
    instance = writer(make_ctx(tmp_path, ["sku"], writer=writer))
    with pytest.raises(OutputError, match="product row 1 cannot be written as JSON"):
        instance.write([object()], {})
    instance.abort()
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("writer", [JsonWriter, JsonLinesWriter])
def test_missing_folder_is_an_output_error(tmp_path: Path, writer: type[FormatWriter]) -> None:
    with pytest.raises(OutputError, match="cannot create"):
        writer(make_ctx(tmp_path / "missing", ["sku"], writer=writer))


@pytest.mark.parametrize("writer", [JsonWriter, JsonLinesWriter])
def test_decimal_columns_write_what_orjson_default_writes(tmp_path: Path, writer: type[FormatWriter]) -> None:
    """The decimal columns' Decimals become floats outside orjson (its default is a Python call a value): the
    bytes must stay those of orjson's Decimal default, with signed zeros, equal values of another scale, NaN, the
    same Decimal objects coming again (as the loader hands them out) and a header used twice."""
    columns = [ColumnInfo("price", "money"), ColumnInfo("weight", "decimal"), ColumnInfo("price", "text")]
    texts = ["-0.00", "0.00", "0", "49.90", "49.9", "49.900", "-3.5", "NaN", "1E+2", "0.1", "-0.0"]
    shared = [Decimal(t) for t in texts]
    rows = [[a, b, Decimal(str(b)) if n % 2 else "x"] for n, a in enumerate(shared * 2) for b in shared]
    raw, count = write(tmp_path, writer, rows, columns=columns)
    option = orjson.OPT_APPEND_NEWLINE if writer is JsonLinesWriter else 0
    headers = ["price", "weight", "price"]
    expected = [orjson.dumps(dict(zip(headers, row, strict=True)), default=float, option=option) for row in rows]
    assert count == len(rows)
    if writer is JsonLinesWriter:
        assert raw == b"".join(expected)
    else:
        assert raw == b'{"products":[\n' + b",\n".join(expected) + b"\n]}\n"
    assert b"-0.0," in raw and b"0.0," in raw and b"null" in raw  # NaN is null, as orjson writes a float NaN
