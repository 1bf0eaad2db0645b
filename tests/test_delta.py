"""Delta exports: only products whose mapped content changed since the last successful run, plus removals."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engine.catalog.store import delete_products, upsert_product
from engine.errors import OutputError
from engine.models import DeltaPending, DeltaState, ExportJob
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from tests.small_catalog import build_small_catalog


def run(settings: Settings, **overrides):
    request = resolve_request("Standard CSV", {"delta": True, "fields": ["SKU", "EAN", "Title", "Price"], **overrides})
    _job, result = run_inline(request, settings, out_dir=settings.export_dir, allow_empty=True)
    return result


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def test_change_three_delete_one_then_exactly_those_appear(db: Settings) -> None:
    build_small_catalog()
    first = run(db)
    assert first.exported == 5 and first.unchanged == 0 and first.removed == 0
    assert [f.format for f in first.files] == ["csv", "removed-csv"]
    assert rows(first.files[1].path) == []

    upsert_product({"sku": "CAS-001", "price": "44.90"})
    upsert_product({"sku": "TSH-RED", "title": "T-shirt coton bio, nouvelle coupe"})
    upsert_product({"ean": "96385074", "price": "3.50"})
    upsert_product({"sku": "EMPTY-1", "stock": 3})  # stock is not a mapped column: not a change
    delete_products(skus=['=HYPERLINK("http://evil")'])
    second = run(db)
    changed = rows(second.files[0].path)
    assert [r["SKU"] or r["EAN"] for r in changed] == ["CAS-001", "TSH-RED", "96385074"]
    assert changed[0]["Price"] == "44.90"
    assert (second.exported, second.unchanged, second.removed) == (3, 1, 1)
    (removed,) = rows(second.files[1].path)
    assert removed == {"id": "2", "sku": '\'=HYPERLINK("http://evil")', "ean": "4006381333931"}  # neutralised
    assert "-removed" in second.files[1].path.name

    third = run(db)
    assert (third.exported, third.unchanged, third.removed) == (0, 4, 0)
    assert rows(third.files[0].path) == []
    assert DeltaState.select().count() == 4 and DeltaPending.select().count() == 0
    assert ExportJob.select().order_by(ExportJob.id.desc()).first().report["unchanged"] == 4


def test_a_failed_delta_run_changes_nothing(db: Settings, tmp_path: Path) -> None:
    build_small_catalog()
    run(db)
    upsert_product({"sku": "CAS-001", "price": "1.00"})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    request = resolve_request("Standard CSV", {"delta": True})
    with pytest.raises(OutputError, match="cannot write"):
        run_inline(request, db, out_dir=blocker / "sub")
    assert DeltaPending.select().count() == 0
    assert run(db).exported == 1  # the change is still pending


def test_delta_scopes_are_per_template(db: Settings) -> None:
    build_small_catalog()
    run(db)
    other = resolve_request("Price & Stock", {"delta": True})
    _job, result = run_inline(other, db, out_dir=db.export_dir)
    assert result.exported == 4 and result.unchanged == 0
