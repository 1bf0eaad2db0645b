"""Writer checkpoints in detail: what XLSX, CSV and JSON states hold, files that are the same at another time,
and what cannot be resumed (a missing, shortened, changed or renamed file; another format's state).

That every writer resumed after a crash gives byte-identical files is checked for every registered format by
tests/test_writer_contract.py; the helpers here write products with a checkpoint every few products and stop
some products after one of them (`run_until_crash`), then drop the writer as a killed process would (`abandon`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import engine.formats.xlsx as xlsx_module
from engine.errors import OutputError
from engine.formats.base import ColumnInfo, FormatWriter, OutputFile, WriterContext
from engine.formats.csv import CsvWriter
from engine.formats.json import JsonLinesWriter, JsonWriter
from engine.formats.xlsx import XlsxWriter

CREATED_AT = datetime(2024, 5, 1, 12, 30, 15, tzinfo=timezone(timedelta(hours=2)))
COLUMNS = [
    ColumnInfo("SKU"),
    ColumnInfo("Title"),
    ColumnInfo("Price", "money"),
    ColumnInfo("Stock", "integer"),
    ColumnInfo("Weight", "decimal"),
    ColumnInfo("Updated", "datetime"),
    ColumnInfo("Release", "date"),
    ColumnInfo("Active", "bool"),
    ColumnInfo("Tags", "list"),
    ColumnInfo("Notes"),
]
SUPPLIERS = [{"code": "ACME", "name": "Acme & Fils", "country": "FR", "products": 12}]
CATEGORIES = [{"id": 1, "name": "Maison", "path": "Maison", "parent_id": None, "depth": 0}]
TITLES = ["Crème brûlée œ € — “quoted”", "日本 tea", "=SUM(A1:A9)", 'Pan; 28 cm, "pro"', "Line one\r\nline two"]

Row = tuple[list[Any], dict[str, Any]]
Product = tuple[int, list[Row]]


def catalogue(count: int, variants: bool = False) -> list[Product]:
    """`count` products with ids 7, 10, 13... (gaps on purpose); with `variants`, 1 to 3 rows each."""
    products = []
    for i in range(count):
        product_id = 7 + 3 * i
        record = {
            "id": product_id,
            "images": [{"url": f"https://cdn.example.com/{product_id}.jpg", "position": 1}],
            "variants": [{"sku": f"V-{product_id}", "price": Decimal("9.90"), "released": date(2024, 1, 2)}],
            "suppliers": [{"code": "ACME", "supplier_sku": f"A{i}"}],
            "categories": [],
        }
        rows = []
        for v in range(1 + i % 3 if variants else 1):
            values = [
                f"SKU-{i:04d}-{v}",
                TITLES[i % len(TITLES)] + " x" * (i % 7),  # lengths vary: XLSX column widths keep changing
                Decimal(1000 + 37 * i) / 100,
                i * 3 if i % 4 else None,
                Decimal("0.125") * i,
                datetime(2024, 3, 1, 8, 0, i % 60),
                date(2024, 5, 1 + i % 28),
                i % 2 == 0,
                ["new", "sale"] if i % 3 else [],
                "é" * (i % 11),
            ]
            rows.append((values, record))
        products.append((product_id, rows))
    return products


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    writer: type[FormatWriter]
    options: Mapping[str, Any]
    count: int  # products
    every: int  # a checkpoint every `every` products
    crash_at: int  # products written when the checkpoint resumed from was taken (0: right after creation)
    extra: int  # products written after it before the crash
    variants: bool = False


CASES = [
    Case("csv-utf8-sig", CsvWriter, {}, 40, 4, 12, 5),
    Case("csv-utf8", CsvWriter, {"encoding": "utf-8"}, 40, 4, 12, 5),
    Case("json-compact", JsonWriter, {}, 40, 4, 12, 5),
    Case("json-pretty", JsonWriter, {"pretty": True}, 40, 4, 24, 7),
    Case("json-nested", JsonWriter, {"nested": True, "pretty": True}, 40, 5, 10, 4),
    Case("jsonl", JsonLinesWriter, {}, 40, 4, 12, 5),
    # XLSX: 10 product rows per file, 27 products -> 3 files
    Case("xlsx-mid-first-part", XlsxWriter, {"max_rows": 10}, 27, 5, 5, 7),
    Case("xlsx-at-part-boundary", XlsxWriter, {"max_rows": 10}, 27, 5, 10, 3),
    Case("xlsx-mid-second-part", XlsxWriter, {"max_rows": 10}, 27, 5, 15, 8),
    Case("xlsx-at-0", XlsxWriter, {"max_rows": 10}, 27, 5, 0, 4),
    Case(
        "xlsx-all-sheets-header-off",
        XlsxWriter,
        {"max_rows": 10, "header": False, "sheets": {"suppliers": "Suppliers", "categories": "Categories"}},
        27,
        3,
        12,
        9,
    ),
    # 1, 2, 3, 1, 2, 3... rows per product, 5 rows per file: the 3rd product's rows straddle files 1 and 2
    Case("xlsx-variants-across-parts", XlsxWriter, {"max_rows": 5}, 12, 2, 4, 3, variants=True),
]
CASES_BY_ID = {case.id: case for case in CASES}


def make_context(case: Case, folder: Path, created_at: datetime | None = CREATED_AT) -> WriterContext:
    folder.mkdir(parents=True, exist_ok=True)
    writer = case.writer
    return WriterContext(
        folder=folder,
        file_name=lambda part: f"export-{part}.{writer.extension}",
        columns=COLUMNS,
        options=writer.validate_options(case.options),
        iter_suppliers=lambda: iter(SUPPLIERS),
        iter_categories=lambda: iter(CATEGORIES),
        created_at=created_at,
    )


def write_product(writer: FormatWriter, rows: Sequence[Row]) -> None:
    for values, record in rows:
        writer.write(values, record)


def uninterrupted(case: Case, folder: Path, created_at: datetime | None = CREATED_AT) -> list[OutputFile]:
    """The reference: every product, no checkpoint at all."""
    writer = case.writer(make_context(case, folder, created_at))
    for _, rows in catalogue(case.count, case.variants):
        write_product(writer, rows)
    return writer.close()


def run_until_crash(case: Case, folder: Path) -> tuple[FormatWriter, dict[str, Any], int | None]:
    """Write up to the checkpoint at `crash_at`, then `extra` more products; returns the live writer, the
    checkpoint's state as the pipeline would have stored it, and the id of the checkpoint's last product."""
    products = catalogue(case.count, case.variants)
    writer = case.writer(make_context(case, folder))
    saved: dict[str, Any] | None = None
    last_id: int | None = None
    if case.crash_at == 0:
        saved = json.loads(json.dumps(writer.checkpoint()))
    for done, (product_id, rows) in enumerate(products, start=1):
        if done > case.crash_at + case.extra:
            break
        write_product(writer, rows)
        if done % case.every == 0:
            state = writer.checkpoint()
            if done == case.crash_at:
                saved, last_id = json.loads(json.dumps(state)), product_id
    assert saved is not None, f"{case.id}: no checkpoint after product {case.crash_at}"
    writer.checkpoint()  # not stored: the rows written since the saved checkpoint are on disk
    return writer, saved, last_id


def abandon(writer: FormatWriter) -> None:
    """Drop a writer as SIGKILL would: no close(), and no finaliser writing anything afterwards."""
    if isinstance(writer, XlsxWriter):
        if writer._part is not None:
            writer._part.workbook.fileclosed = True
            for ws in writer._part.sheets.values():
                ws._opt_close()  # the constant_memory temp file stays behind, as after a kill
    else:
        writer._file.close()  # type: ignore[attr-defined]  # everything was flushed by the last checkpoint


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def _small_width_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # XLSX column widths come from the first rows of the export: stop sampling within the second file
    monkeypatch.setattr(xlsx_module, "WIDTH_SAMPLE_ROWS", 12)


def test_xlsx_state_at_part_boundary_has_nothing_to_replay(tmp_path: Path) -> None:
    writer, state, last_id = run_until_crash(CASES_BY_ID["xlsx-at-part-boundary"], tmp_path)
    writer.abort()
    assert last_id == 7 + 3 * 9
    assert "replay_after_id" not in state
    assert [(p["file"], p["rows"]) for p in state["parts"]] == [("export-1.xlsx", 10)]


def test_xlsx_state_replays_the_current_part_from_its_first_product(tmp_path: Path) -> None:
    writer, state, _ = run_until_crash(CASES_BY_ID["xlsx-mid-second-part"], tmp_path)
    writer.abort()
    # products 11..15 are in the second file; the 11th product has id 7 + 3 * 10
    assert state["replay_after_id"] == 7 + 3 * 10 - 1
    assert state["replay_skip_rows"] == 0
    assert [(p["file"], p["rows"]) for p in state["parts"]] == [("export-1.xlsx", 10)]


def test_xlsx_state_skips_the_rows_of_a_product_already_in_the_previous_part(tmp_path: Path) -> None:
    writer, state, _ = run_until_crash(CASES_BY_ID["xlsx-variants-across-parts"], tmp_path)
    writer.abort()
    # rows per product 1, 2, 3, 1: the 3rd product (id 13) has 2 rows in file 1 and 1 in file 2
    assert state["replay_after_id"] == 12
    assert state["replay_skip_rows"] == 2
    assert [(p["file"], p["rows"]) for p in state["parts"]] == [("export-1.xlsx", 5)]


def test_csv_and_json_states(tmp_path: Path) -> None:
    writer, state, _ = run_until_crash(CASES_BY_ID["csv-utf8-sig"], tmp_path / "csv")
    abandon(writer)
    assert state == {"format": "csv", "version": 1, "file": "export-1.csv", "offset": state["offset"], "rows": 12}
    content = (tmp_path / "csv" / "export-1.csv").read_bytes()[: state["offset"]]
    assert content.startswith(b"\xef\xbb\xbfSKU;") and content.endswith(b"\r\n")
    writer, state, _ = run_until_crash(CASES_BY_ID["json-pretty"], tmp_path / "json")
    abandon(writer)
    assert state == {"format": "json", "version": 1, "file": "export-1.json", "offset": state["offset"], "rows": 24}
    assert (tmp_path / "json" / "export-1.json").read_bytes()[: state["offset"]].endswith(b"\n    }")


# ---------------------------------------------------------------------------------------------------------
# Determinism


def test_every_format_writes_the_same_bytes_at_another_time(tmp_path: Path) -> None:
    cases = [CASES_BY_ID[i] for i in ("csv-utf8-sig", "json-nested", "jsonl", "xlsx-all-sheets-header-off")]
    first = {case.id: uninterrupted(case, tmp_path / "first" / case.id) for case in cases}
    second_started = int(time.time()) + 1
    time.sleep(second_started - time.time())  # the wall-clock second has changed
    for case in cases:
        again = uninterrupted(case, tmp_path / "second" / case.id)
        assert [sha256(f.path) for f in again] == [sha256(f.path) for f in first[case.id]], case.id


def core_created(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        core = archive.read("docProps/core.xml").decode()
    return core.split('<dcterms:created xsi:type="dcterms:W3CDTF">')[1].split("<")[0]


def test_xlsx_created_is_the_context_time_in_utc(tmp_path: Path) -> None:
    files = uninterrupted(CASES_BY_ID["xlsx-mid-first-part"], tmp_path)
    assert [core_created(f.path) for f in files] == ["2024-05-01T10:30:15Z"] * 3


def test_xlsx_without_created_at_uses_one_time_for_every_part_and_keeps_it_on_resume(tmp_path: Path) -> None:
    case = CASES_BY_ID["xlsx-mid-second-part"]
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    writer = case.writer(make_context(case, tmp_path, created_at=None))
    products = catalogue(case.count)
    for _, rows in products[:15]:
        write_product(writer, rows)
    state = json.loads(json.dumps(writer.checkpoint()))
    abandon(writer)
    resumed = case.writer.resume(make_context(case, tmp_path, created_at=None), state)
    for product_id, rows in products:
        if product_id > state["replay_after_id"]:
            write_product(resumed, rows)
    times = {core_created(f.path) for f in resumed.close()}
    assert len(times) == 1
    assert datetime.strptime(times.pop(), "%Y-%m-%dT%H:%M:%SZ") >= before


# ---------------------------------------------------------------------------------------------------------
# What cannot be resumed fails the job


@pytest.mark.parametrize("case_id", ["csv-utf8-sig", "json-pretty", "jsonl"])
def test_resume_with_a_missing_file(case_id: str, tmp_path: Path) -> None:
    case = CASES_BY_ID[case_id]
    writer, state, _ = run_until_crash(case, tmp_path)
    abandon(writer)
    (tmp_path / f"export-1.{case.writer.extension}").unlink()
    with pytest.raises(OutputError, match=r"export-1\.\w+ is missing"):
        case.writer.resume(make_context(case, tmp_path), state)


@pytest.mark.parametrize("case_id", ["csv-utf8-sig", "json-pretty", "jsonl"])
def test_resume_with_a_file_shorter_than_the_checkpoint(case_id: str, tmp_path: Path) -> None:
    case = CASES_BY_ID[case_id]
    writer, state, _ = run_until_crash(dataclasses.replace(case, extra=0), tmp_path)
    abandon(writer)
    os.truncate(tmp_path / f"export-1.{case.writer.extension}", state["offset"] - 1)
    with pytest.raises(OutputError, match=rf"holds {state['offset'] - 1} bytes, fewer than the {state['offset']}"):
        case.writer.resume(make_context(case, tmp_path), state)


def test_xlsx_resume_with_a_finished_part_missing_or_changed(tmp_path: Path) -> None:
    case = CASES_BY_ID["xlsx-mid-second-part"]
    writer, state, _ = run_until_crash(case, tmp_path)
    abandon(writer)
    part = tmp_path / "export-1.xlsx"
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(OutputError, match=r"held \d+ when it was finished"):
        case.writer.resume(make_context(case, tmp_path), state)
    part.unlink()
    with pytest.raises(OutputError, match=r"export-1\.xlsx is missing"):
        case.writer.resume(make_context(case, tmp_path), state)


def test_resume_refuses_another_format_or_version(tmp_path: Path) -> None:
    case = CASES_BY_ID["csv-utf8"]
    writer, state, _ = run_until_crash(case, tmp_path)
    abandon(writer)
    with pytest.raises(OutputError, match="not a version 1 json state"):
        JsonWriter.resume(make_context(CASES_BY_ID["json-compact"], tmp_path), state)
    with pytest.raises(OutputError, match="not a version 1 csv state"):
        CsvWriter.resume(make_context(case, tmp_path), dict(state, version=0))


def test_resume_refuses_a_renamed_file(tmp_path: Path) -> None:
    case = CASES_BY_ID["jsonl"]
    writer, state, _ = run_until_crash(case, tmp_path)
    abandon(writer)
    ctx = dataclasses.replace(make_context(case, tmp_path), file_name=lambda part: f"other-{part}.jsonl")
    with pytest.raises(OutputError, match="must not change between runs"):
        JsonLinesWriter.resume(ctx, state)


def test_xlsx_checkpoint_needs_integer_product_ids(tmp_path: Path) -> None:
    writer = XlsxWriter(make_context(CASES_BY_ID["xlsx-at-0"], tmp_path))
    assert "replay_after_id" not in writer.checkpoint()  # nothing to replay yet: no id needed
    writer.write(["A"] + [None] * (len(COLUMNS) - 1), {})
    with pytest.raises(OutputError, match=r"integer record\['id'\]"):
        writer.checkpoint()
    writer.abort()
