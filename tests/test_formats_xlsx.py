"""XlsxWriter: every workbook read back with openpyxl, cell by cell (values, types, formats)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from engine.errors import OutputError, TemplateError
from engine.formats.base import ColumnInfo, OutputFile, ValueKind
from engine.formats.registry import get_writer
from engine.formats.xlsx import XlsxWriter
from tests.formats_helpers import folder_names, make_ctx, run_writer

SUPPLIERS = [
    {"code": "ACME", "name": "Acme & Fils", "country": "FR", "products": 12},
    {"code": "GLB", "name": "=Globex", "country": None, "products": 0},
]
CATEGORIES = [
    {"id": 1, "name": "Maison", "path": "Maison", "parent_id": None, "depth": 0},
    {"id": 2, "name": "Cuisine", "path": "Maison > Cuisine", "parent_id": 1, "depth": 1},
]
_CONTROL_ESCAPE = re.compile(r"_x([0-9A-F]{4})_")
ALL_SHEETS = {"products": "Products", "suppliers": "Suppliers", "categories": "Categories"}


def write_xlsx(tmp_path: Path, columns: list[Any], rows: list[list[Any]], **options: Any) -> list[OutputFile]:
    ctx = make_ctx(tmp_path, columns, options, writer=XlsxWriter, suppliers=SUPPLIERS, categories=CATEGORIES)
    files = run_writer(XlsxWriter, ctx, rows)
    assert all(f.content_type.endswith("spreadsheetml.sheet") for f in files)
    assert folder_names(tmp_path) == sorted(f.path.name for f in files)  # no temp file left behind
    return files


def sheet(path: Path, name: str = "Products") -> Worksheet:
    ws = openpyxl.load_workbook(path)[name]
    assert isinstance(ws, Worksheet)
    return ws


def excel_value(value: Any) -> Any:
    """Undo the _xHHHH_ escapes of control characters as Excel does (openpyxl leaves them)."""
    if isinstance(value, str):
        return _CONTROL_ESCAPE.sub(lambda m: chr(int(m[1], 16)), value)
    return value


def values(ws: Worksheet) -> list[list[Any]]:
    return [[excel_value(v) for v in row] for row in ws.iter_rows(values_only=True)]


def test_registered() -> None:
    assert get_writer("xlsx") is XlsxWriter


def test_header_is_bold_and_frozen(tmp_path: Path) -> None:
    (out,) = write_xlsx(tmp_path, ["SKU", "Title"], [["A-1", "Crème brûlée œ ß 日本"]])
    ws = sheet(out.path)
    assert values(ws) == [["SKU", "Title"], ["A-1", "Crème brûlée œ ß 日本"]]
    assert ws.freeze_panes == "A2"
    assert [c.font.b for c in ws[1]] == [True, True]
    assert [c.font.b for c in ws[2]] == [False, False]
    assert out.rows == 1


def test_header_off(tmp_path: Path) -> None:
    (out,) = write_xlsx(tmp_path, ["SKU"], [["A"], ["B"]], header=False)
    ws = sheet(out.path)
    assert values(ws) == [["A"], ["B"]]
    assert ws.freeze_panes is None
    assert out.rows == 2


@pytest.mark.parametrize(
    ("kind", "value", "expected", "data_type", "number_format"),
    [
        ("integer", 42, 42, "n", "General"),
        ("integer", -7, -7, "n", "General"),
        ("decimal", Decimal("1.250"), 1.25, "n", "General"),
        ("decimal", Decimal("-2.5"), -2.5, "n", "General"),
        ("money", Decimal("49.90"), 49.9, "n", "0.00"),
        ("money", 5, 5, "n", "0.00"),
        ("decimal", 0.1, 0.1, "n", "General"),
        ("text", 12, 12, "n", "General"),
        ("bool", True, True, "b", "General"),
        ("bool", False, False, "b", "General"),
        ("integer", True, True, "b", "General"),
        ("date", date(2024, 2, 29), datetime(2024, 2, 29), "d", "yyyy-mm-dd"),
        ("datetime", datetime(2024, 2, 29, 8, 5, 9), datetime(2024, 2, 29, 8, 5, 9), "d", "yyyy-mm-dd hh:mm:ss"),
        ("datetime", datetime(2024, 2, 29, 8, 5, 9, tzinfo=UTC), datetime(2024, 2, 29, 8, 5, 9), "d", None),
        ("date", date(1850, 1, 1), "1850-01-01", "s", "General"),  # before Excel's first date
        ("integer", 12345678901234567, "12345678901234567", "s", "General"),  # beyond 15 digits
        ("decimal", Decimal("NaN"), "NaN", "s", "General"),
        ("decimal", float("inf"), "inf", "s", "General"),
        ("list", ["a", "b"], "a|b", "s", "General"),
        ("list", [1, Decimal("2.50"), None], "1|2.50|", "s", "General"),
        ("object", {"color": "rouge", "n": Decimal("1.5")}, '{"color":"rouge","n":1.5}', "s", "General"),
        ("integer", "N/A", "N/A", "s", "General"),
        ("text", "https://example.com/a.jpg", "https://example.com/a.jpg", "s", "General"),
        ("text", "0123", "0123", "s", "General"),  # never turned into a number
        ("text", "a\x01b", "a\x01b", "s", "General"),
    ],
)
def test_cell_types(
    tmp_path: Path, kind: ValueKind, value: Any, expected: Any, data_type: str, number_format: str | None
) -> None:
    (out,) = write_xlsx(tmp_path, [ColumnInfo("V", kind)], [[value]])
    cell = sheet(out.path)["A2"]
    assert excel_value(cell.value) == expected
    assert type(cell.value) is type(expected)
    assert cell.data_type == data_type
    if number_format is not None:
        assert cell.number_format == number_format


def test_none_is_a_blank_cell(tmp_path: Path) -> None:
    columns = [ColumnInfo(h, k) for h, k in [("A", "text"), ("B", "integer"), ("C", "date"), ("D", "list")]]
    (out,) = write_xlsx(tmp_path, columns, [[None, None, None, None]])
    assert values(sheet(out.path)) == [["A", "B", "C", "D"]]
    assert out.rows == 1


@pytest.mark.parametrize("text", ["=SUM(A1)", "+33", "-2", "@x", "\tlead", "\rcr"])
def test_formula_text_is_neutralised(tmp_path: Path, text: str) -> None:
    columns = [ColumnInfo("T"), ColumnInfo("L", "list"), ColumnInfo("N", "integer"), ColumnInfo("D", "decimal")]
    (out,) = write_xlsx(tmp_path, columns, [[text, [text], -2, Decimal("-2.5")]])
    assert values(sheet(out.path))[1] == ["'" + text, "'" + text, -2, -2.5]


def test_formula_escaping_can_be_turned_off(tmp_path: Path) -> None:
    (out,) = write_xlsx(tmp_path, ["T"], [["=SUM(A1)"]], escape_formulas=False)
    cell = sheet(out.path)["A2"]
    assert (cell.value, cell.data_type) == ("=SUM(A1)", "s")  # still text, never a formula


def test_long_text_is_cut_at_excel_limit(tmp_path: Path) -> None:
    (out,) = write_xlsx(tmp_path, ["T"], [["x" * 40_000], ["=" + "y" * 40_000]])
    got = values(sheet(out.path))
    assert got[1] == ["x" * 32_767]
    assert got[2] == ["'=" + "y" * 32_765]


def test_column_widths(tmp_path: Path) -> None:
    columns = [ColumnInfo("ID", "integer"), ColumnInfo("Title"), ColumnInfo("Description"), ColumnInfo("Day", "date")]
    rows = [[1, "A mid-sized product title", "z" * 500, date(2024, 1, 1)]]
    (out,) = write_xlsx(tmp_path, columns, rows)
    widths = {k: round(v.width) for k, v in sheet(out.path).column_dimensions.items()}
    assert 8 <= widths["A"] <= 9  # clamped up
    assert 25 <= widths["B"] <= 30  # from the title's length
    assert widths["C"] == 61  # clamped down to 60 (+ Excel's padding)
    assert 10 <= widths["D"] <= 13


def test_reference_sheets(tmp_path: Path) -> None:
    (out,) = write_xlsx(tmp_path, ["SKU"], [["A"]], sheets=ALL_SHEETS)
    wb = openpyxl.load_workbook(out.path)
    assert wb.sheetnames == ["Products", "Suppliers", "Categories"]
    suppliers, categories = wb["Suppliers"], wb["Categories"]
    assert values(suppliers) == [
        ["Code", "Name", "Country", "Products"],
        ["ACME", "Acme & Fils", "FR", 12],
        ["GLB", "'=Globex", None, 0],
    ]
    assert values(categories) == [
        ["ID", "Name", "Path", "Parent ID", "Depth"],
        [1, "Maison", "Maison", None, 0],
        [2, "Cuisine", "Maison > Cuisine", 1, 1],
    ]
    for ws in (suppliers, categories):
        assert isinstance(ws, Worksheet)
        assert ws.freeze_panes == "A2"
        assert all(c.font.b for c in ws[1])


@pytest.mark.parametrize(
    ("sheets", "names"),
    [
        ({}, ["Products"]),
        ({"suppliers": "Fournisseurs"}, ["Products", "Fournisseurs"]),
        ({"products": "Produits", "categories": "Catégories"}, ["Produits", "Catégories"]),
        ({"categories": "C", "suppliers": "S", "products": "P"}, ["P", "S", "C"]),
    ],
)
def test_sheet_selection_and_names(tmp_path: Path, sheets: dict[str, str], names: list[str]) -> None:
    (out,) = write_xlsx(tmp_path, ["SKU"], [["A"]], sheets=sheets)
    assert openpyxl.load_workbook(out.path).sheetnames == names


def test_split_into_files_of_max_rows(tmp_path: Path) -> None:
    rows = [[f"SKU-{i}", i] for i in range(7)]
    files = write_xlsx(tmp_path, ["SKU", ColumnInfo("N", "integer")], rows, max_rows=3, sheets=ALL_SHEETS)
    assert [(f.path.name, f.rows) for f in files] == [("export-1.xlsx", 3), ("export-2.xlsx", 3), ("export-3.xlsx", 1)]
    for number, out in enumerate(files):
        wb = openpyxl.load_workbook(out.path)
        assert wb.sheetnames == ["Products", "Suppliers", "Categories"]
        products = wb["Products"]
        assert isinstance(products, Worksheet)
        assert values(products) == [["SKU", "N"], *rows[number * 3 : number * 3 + 3]]
        assert products.freeze_panes == "A2"
        assert len(values(wb["Suppliers"])) == 1 + len(SUPPLIERS)
        assert len(values(wb["Categories"])) == 1 + len(CATEGORIES)


def test_exactly_max_rows_makes_one_file(tmp_path: Path) -> None:
    files = write_xlsx(tmp_path, ["SKU"], [["a"], ["b"]], max_rows=2)
    assert [f.rows for f in files] == [2]


def test_no_products_still_makes_one_file(tmp_path: Path) -> None:
    (out,) = write_xlsx(tmp_path, ["SKU", "Title"], [], sheets=ALL_SHEETS)
    assert out.rows == 0
    wb = openpyxl.load_workbook(out.path)
    assert values(wb["Products"]) == [["SKU", "Title"]]
    assert len(values(wb["Suppliers"])) == 3


@pytest.mark.parametrize(
    ("sheets", "field", "message"),
    [
        ({"products": None}, "options.sheets.products", "cannot be left out"),
        ({"products": ""}, "options.sheets.products", "cannot be empty"),
        ({"suppliers": "x" * 32}, "options.sheets.suppliers", "31 characters"),
        ({"suppliers": "A/B"}, "options.sheets.suppliers", "cannot contain /"),
        ({"categories": "[Cat]"}, "options.sheets.categories", "cannot contain \\[ \\]"),
        ({"categories": "a:b*c?"}, "options.sheets.categories", "cannot contain \\* : \\?"),
        ({"suppliers": "Back\\slash"}, "options.sheets.suppliers", "cannot contain"),
        ({"suppliers": "'quoted'"}, "options.sheets.suppliers", "apostrophe"),
        ({"suppliers": "history"}, "options.sheets.suppliers", "reserves"),
        ({"suppliers": "PRODUCTS"}, "options.sheets.suppliers", "already used by the products sheet"),
        ({"suppliers": "S", "categories": "s"}, "options.sheets.categories", "already used by the suppliers"),
        ({"suppliers": 3}, "options.sheets.suppliers", "text or null"),
        ({"variants": "Variants"}, "options.sheets.variants", "unknown sheet"),
    ],
)
def test_bad_sheet_names(sheets: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as caught:
        XlsxWriter.validate_options({"sheets": sheets})
    assert caught.value.field == field


def test_emoji_sheet_name_counts_utf16_units() -> None:
    with pytest.raises(TemplateError, match="31 characters"):
        XlsxWriter.validate_options({"sheets": {"suppliers": "😀" * 16}})
    assert XlsxWriter.validate_options({"sheets": {"suppliers": "😀" * 15}})["sheets"]["suppliers"] == "😀" * 15


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"max_rows": 0}, "options.max_rows", "at least 1"),
        ({"max_rows": 1_048_576}, "options.max_rows", "1,048,576 rows"),
        ({"max_rows": 2_000_000}, "options.max_rows", "1,048,576 rows"),
        ({"max_rows": "many"}, "options.max_rows", "whole number"),
        ({"max_rows": 10.5}, "options.max_rows", "whole number"),
        ({"max_rows": True}, "options.max_rows", "whole number"),
        ({"sheets": ["Products"]}, "options.sheets", "an object"),
        ({"header": "perhaps"}, "options.header", "true or false"),
        ({"escape_formulas": 2}, "options.escape_formulas", "true or false"),
        ({"separator": ";"}, "options.separator", "unknown option"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as caught:
        XlsxWriter.validate_options(options)
    assert caught.value.field == field


def test_defaults() -> None:
    defaults = XlsxWriter.validate_options({})
    assert defaults == {
        "max_rows": 50_000,
        "sheets": {"products": "Products", "suppliers": None, "categories": None},
        "escape_formulas": True,
        "header": True,
    }
    assert XlsxWriter.validate_options(defaults) == defaults
    assert XlsxWriter.validate_options({"max_rows": 1_048_575, "header": "false"})["max_rows"] == 1_048_575
    assert XlsxWriter.relations({}) == set()


def test_abort_removes_every_file(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, ["SKU"], {"max_rows": 2, "sheets": ALL_SHEETS}, writer=XlsxWriter)
    writer = XlsxWriter(ctx)
    for i in range(5):
        writer.write([f"SKU-{i}"], {})
    assert "export-1.xlsx" in folder_names(tmp_path)  # finished parts, plus temp files of the open one
    writer.abort()
    assert folder_names(tmp_path) == []


def test_abort_after_close_removes_every_file(tmp_path: Path) -> None:
    writer = XlsxWriter(make_ctx(tmp_path, ["SKU"], {"max_rows": 1}, writer=XlsxWriter))
    writer.write(["a"], {})
    writer.write(["b"], {})
    assert [f.path.name for f in writer.close()] == ["export-1.xlsx", "export-2.xlsx"]
    writer.abort()
    assert folder_names(tmp_path) == []


def test_missing_folder_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot create"):
        XlsxWriter(make_ctx(tmp_path / "missing", ["SKU"], writer=XlsxWriter))


def test_bad_file_name_leaves_nothing_behind(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, ["SKU"], writer=XlsxWriter)
    ctx.file_name = lambda part: "sub/escape.xlsx"
    with pytest.raises(OutputError, match="plain file name"):
        XlsxWriter(ctx)
    assert folder_names(tmp_path) == []
