"""The export pipeline end to end on the small catalogue, on SQLite and PostgreSQL, against golden files.

Every output is also read back with an independent reader (csv, openpyxl, json) and checked field by field.
Regenerate the golden files with `PM_EXPORTS_UPDATE_GOLDEN=1 pytest tests/test_pipeline.py -p no:xdist`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from engine.errors import EmptySelection, InvalidRequest, OutputError, TemplateError
from engine.models import Artifact, ExportJob, JobExclusion
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from engine.sinks.file import sha256_of
from tests.small_catalog import build_small_catalog

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("PM_EXPORTS_UPDATE_GOLDEN"))


@pytest.fixture
def small(db: Settings) -> Settings:
    build_small_catalog()
    return db


def export(settings: Settings, template: str | None = None, allow_empty: bool = False, **overrides: Any):
    request = resolve_request(template, overrides)
    out = settings.export_dir
    return run_inline(request, settings, out_dir=out, allow_empty=allow_empty)


def xlsx_cells(path: Path) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(path, read_only=False)
    sheets = {}
    for sheet in book.worksheets:
        sheets[sheet.title] = [[_plain(c.value) for c in row] for row in sheet.iter_rows()]
    return sheets


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def check_golden(name: str, produced: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(produced)
    assert path.exists(), f"golden file {name} missing: run with PM_EXPORTS_UPDATE_GOLDEN=1"
    assert produced == path.read_bytes(), f"{name} differs from its golden file"


CASES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "standard.csv": ("Standard CSV", {}),
    "standard-comma-nobom.csv": ("Standard CSV", {"options": {"separator": ",", "encoding": "utf-8"}}),
    "standard-tab-quoted.csv": ("Standard CSV", {"options": {"separator": "\t", "quoting": "all"}}),
    "standard-latin1.csv": ("Standard CSV", {"options": {"encoding": "iso-8859-1"}}),
    "standard-noheader.csv": ("Standard CSV", {"options": {"header": False}}),
    "price-stock.csv": ("Price & Stock", {}),
    "catalogue.json": ("JSON catalogue", {}),
    "catalogue-pretty.json": ("JSON catalogue", {"options": {"pretty": True, "nested": False}}),
    "catalogue.jsonl": ("JSON catalogue", {"format": "jsonl", "options": {"nested": ["variants", "images"]}}),
    "one-product.csv": ("Standard CSV", {"selection": {"skus": ["CAS-001"]}}),
    "empty-fields.json": (
        "JSON catalogue",
        {"selection": {"skus": ["EMPTY-1"]}, "options": {"nested": True}},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_text_formats(small: Settings, case: str) -> None:
    template, overrides = CASES[case]
    job, result = export(small, template, **overrides)
    assert len(result.files) == 1
    produced = result.files[0].path.read_bytes()
    check_golden(case, produced)
    assert job.status == "succeeded"
    artifact = Artifact.get(Artifact.job == job.id)
    assert (artifact.size, artifact.sha256, artifact.rows) == (
        len(produced),
        sha256_of(result.files[0].path),
        result.files[0].rows,
    )
    assert (artifact.expires_at - artifact.created_at).days == 30


def read_csv(path: Path, encoding: str = "utf-8-sig", delimiter: str = ";") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def test_standard_csv_reads_back_field_by_field(small: Settings) -> None:
    _job, result = export(small, "Standard CSV")
    path = result.files[0].path
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_csv(path)
    assert [r["ID"] for r in rows] == ["1", "2", "3", "4", "6"]  # draft and archived left out
    first, pen, _tshirt, empty, cahier = rows
    assert first["Title"] == "Casserole inox 20 cm, « Chef » édition"
    assert first["Brand"] == "Cuisinière & Fils"
    assert first["Category"] == "Maison > Cuisine > Casseroles"
    assert first["Description"].startswith("<p>Casserole en <strong>inox</strong> &amp; fond épais.")
    assert (first["Price"], first["Compare at price"], first["Tax rate"], first["Weight (kg)"]) == (
        "49.90",
        "59.90",
        "20.00",
        "1.250",
    )
    assert first["Tags"] == "inox|induction"
    assert first["Main image"] == "https://cdn.example.com/cas-001-1.jpg"
    assert first["Updated at"] == "2026-03-14 09:26:53"
    assert pen["Title"] == 'Stylo "Plume"\nédition spéciale'
    assert pen["SKU"] == '\'=HYPERLINK("http://evil")'  # formula neutralised
    assert pen["Brand"] == "'@Brand"
    assert pen["Short description"] == "'-50 % aujourd'hui"
    assert pen["Tags"] == "'+promo|-soldes"
    assert empty["Price"] == "" and empty["EAN"] == "" and empty["Category"] == ""
    assert cahier["Title"] == "Cahier A5 — 96 pages" and cahier["SKU"] == ""


def test_latin1_csv_transliterates_what_it_cannot_encode(small: Settings) -> None:
    _job, result = export(small, "Standard CSV", options={"encoding": "iso-8859-1"})
    rows = read_csv(result.files[0].path, encoding="iso-8859-1")
    assert rows[0]["Title"] == "Casserole inox 20 cm, « Chef » édition"  # Latin-1 keeps these
    assert rows[4]["Title"] == "Cahier A5 - 96 pages"  # the em dash is not Latin-1


def test_price_and_stock_excludes_products_without_price(small: Settings) -> None:
    job, result = export(small, "Price & Stock")
    rows = read_csv(result.files[0].path, encoding="utf-8")
    assert [r["SKU"] for r in rows] == ["CAS-001", '\'=HYPERLINK("http://evil")', "TSH-RED", ""]
    assert result.excluded == 1 and result.excluded_by_rule == {"positive:price": 1}
    exclusion = JobExclusion.get(JobExclusion.job == job.id)
    assert (exclusion.sku, exclusion.rule, exclusion.message) == (
        "EMPTY-1",
        "positive:price",
        "price must be greater than 0",
    )
    assert ExportJob.get_by_id(job.id).report["excluded_by_rule"] == {"positive:price": 1}


def test_json_nested_reads_back(small: Settings) -> None:
    _job, result = export(small, "JSON catalogue")
    data = json.loads(result.files[0].path.read_bytes())
    products = {p["id"]: p for p in data["products"]}
    assert set(products) == {1, 2, 3, 4, 6}
    tshirt = products[3]
    assert tshirt["price"] == 19.0 and tshirt["tags"] is None
    assert [v["sku"] for v in tshirt["variants"]] == ["TSH-RED-S", "TSH-RED-M"]
    assert tshirt["variants"][0]["options"] == {"Taille": "S", "Couleur": "Rouge"}
    assert tshirt["variants"][1]["price"] == 21.0
    assert [s["code"] for s in tshirt["suppliers"]] == ["SUP-FR", "SUP-DE"]
    assert tshirt["images"][0]["alt"] == "T-shirt rouge"
    assert products[1]["attributes"] == {"color": "Argent", "material": "Inox 18/10"}
    assert products[2]["sku"] == '=HYPERLINK("http://evil")'  # JSON is not a spreadsheet: values untouched
    assert products[4]["variants"] == [] and products[4]["images"] == []


def test_full_catalogue_xlsx(small: Settings) -> None:
    _job, result = export(small, "Full catalogue XLSX")
    (file,) = result.files
    cells = xlsx_cells(file.path)
    golden = GOLDEN / "full-catalogue.xlsx.json"
    if UPDATE:
        golden.write_text(json.dumps(cells, ensure_ascii=False, indent=1))
    assert cells == json.loads(golden.read_text())
    book = openpyxl.load_workbook(file.path)
    assert book.sheetnames == ["Products", "Suppliers", "Categories"]
    sheet = book["Products"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Price"].data_type == "n" and row["Price"].value == 49.9
    assert row["Updated at"].is_date
    assert row["Stock"].value == 12
    pen = {h: c.value for h, c in zip(header, sheet[3], strict=True)}
    assert pen["SKU"] == '\'=HYPERLINK("http://evil")'
    assert pen["Title"] == 'Stylo "Plume"\nédition spéciale'
    assert [r[0].value for r in book["Suppliers"].iter_rows(min_row=2)] == ["SUP-DE", "SUP-FR"]


def test_xlsx_bigger_than_one_file_is_split(small: Settings) -> None:
    _job, result = export(small, "Full catalogue XLSX", options={"max_rows": 4})
    assert [f.rows for f in result.files] == [4, 2]
    assert [f.path.name.rsplit("-", 1)[-1] for f in result.files] == ["part1.xlsx", "part2.xlsx"]
    ids = []
    for f in result.files:
        book = openpyxl.load_workbook(f.path, read_only=True)
        assert book.sheetnames == ["Products", "Suppliers", "Categories"]
        rows = list(book["Products"].iter_rows(values_only=True))
        assert rows[0][0] == "ID"
        ids += [r[0] for r in rows[1:]]
    assert ids == [1, 2, 3, 4, 5, 6]


def test_zero_products_gives_header_only(small: Settings) -> None:
    _job, result = export(small, "Standard CSV", allow_empty=True, selection={"skus": ["NOPE"]})
    rows = list(csv.reader(io.StringIO(result.files[0].path.read_text("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 and rows[0][0] == "ID"
    with pytest.raises(EmptySelection):
        export(small, "Standard CSV", selection={"skus": ["NOPE"]})


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"categories": ["Bureau"]}, [2, 6]),
        ({"categories": ["Maison"]}, [1]),
        ({"suppliers": ["SUP-DE"]}, [3]),
        ({"statuses": ["draft", "archived"]}, [5, 7]),
        ({"ids": [1, 5, 6]}, [1, 6]),
        ({"eans": ["96385074"], "skus": ["CAS-001"]}, [1, 6]),
        ({"brands": ["ökotex"]}, [3]),
        ({"tags": ["induction"]}, [1]),
        ({"has_images": False}, [4, 6]),
        ({"has_price": False}, [4]),
        ({"has_ean": False}, [4]),
        ({"price_min": 10, "price_max": "20"}, [2, 3]),
        ({"stock_min": 1, "completeness_min": 50}, [1, 3]),
        ({"updated_since": "2026-03-14T09:26:53"}, [1, 2, 3, 4, 6]),
        ({"updated_since": "2026-03-15"}, []),
    ],
)
def test_selection_criteria_combine_with_and(small: Settings, selection: dict, expected: list[int]) -> None:
    _job, result = export(small, "Standard CSV", allow_empty=True, selection=selection, fields=["ID"])
    ids = [int(r["ID"]) for r in read_csv(result.files[0].path)]
    assert ids == expected


def test_fields_override_keeps_named_columns_in_order(small: Settings) -> None:
    _job, result = export(
        small, "Standard CSV", fields=["sku", "Title", "attributes.color"], selection={"skus": ["CAS-001"]}
    )
    rows = read_csv(result.files[0].path)
    assert list(rows[0]) == ["SKU", "Title", "attributes.color"]
    assert rows[0]["attributes.color"] == "Argent"


def test_bad_requests_are_clear(small: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="unknown category 'Jardin'"):
        export(small, "Standard CSV", selection={"categories": ["Jardin"]})
    with pytest.raises(TemplateError, match="unknown field 'colour'"):
        export(small, "Standard CSV", fields=["colour"])
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write to the export folder"):
        run_inline(resolve_request("Standard CSV"), small, out_dir=blocker / "sub")
    failed = ExportJob.select().where(ExportJob.status == "failed").order_by(ExportJob.id)
    errors = [j.error[:34] for j in failed]
    assert errors == ["selection.categories: unknown cate", "cannot write to the export folder "]


def test_failed_export_leaves_no_partial_file(small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.pipeline import mapping

    def explode(self, record):
        if record["id"] == 3:
            raise OSError(28, "No space left on device")
        return [c(record) for c in self.converters]

    monkeypatch.setattr(mapping.CompiledColumns, "row", explode)
    with pytest.raises(OutputError, match="No space left on device"):
        export(small, "Standard CSV")
    assert list(small.export_dir.iterdir()) == []


def test_the_report_pages_through_every_line_in_product_order(small: Settings) -> None:
    from engine.models import JobWarning
    from engine.services.reports import _pages, report_csv

    job, _result = export(small, "Price & Stock")
    for product_id in (9, 3, 3, 7):
        JobExclusion.create(job=job.id, product_id=product_id, sku=f"S{product_id}", rule="r", message="m")
    JobWarning.create(job=job.id, product_id=1, sku="=X", kind="image", message="HTTP 404")
    assert [row[0] for row in _pages(JobExclusion, job.id, size=2)] == [3, 3, 4, 7, 9]
    lines = list(csv.reader(io.StringIO("".join(report_csv(job.id)))))
    assert [(r[0], r[3]) for r in lines[1:]] == [
        ("3", "excluded"),
        ("3", "excluded"),
        ("4", "excluded"),
        ("7", "excluded"),
        ("9", "excluded"),
        ("1", "warning"),
    ]
    assert lines[-1][1] == "'=X"  # formula-looking SKUs neutralised in the report too
