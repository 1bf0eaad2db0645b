"""The odoo_csv writer alone: attribute lines (one per option, or combined), the attributes file, resumption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import engine.formats.odoo_csv as odoo_csv
from engine.errors import OutputError, TemplateError
from engine.formats.base import ColumnInfo, WriterContext
from engine.formats.odoo_csv import COMBINED, OdooCsvWriter, attribute_lines, xid_key

COLUMNS = [ColumnInfo("id"), ColumnInfo("name"), ColumnInfo("type")]


def variants(*options: dict[str, str]) -> list[dict[str, Any]]:
    return [{"options": o} for o in options]


def test_every_combination_gives_one_line_per_option_else_one_combined_attribute() -> None:
    full = variants(*({"Couleur": c, "Taille": t} for c in ("Noir", "Blanc") for t in ("S", "M")))
    assert attribute_lines(full) == [("Couleur", ["Noir", "Blanc"]), ("Taille", ["S", "M"])]
    partial = variants({"Couleur": "Noir", "Contenance": "1,5 L"}, {"Couleur": "Blanc", "Contenance": "50 cl"})
    assert attribute_lines(partial) == [(f"Couleur{COMBINED}Contenance", ["Noir / 1,5 L", "Blanc / 50 cl"])]
    assert attribute_lines(variants({}, {})) == []
    assert attribute_lines(variants({"Gravure": "Oui, dorée"})) == [("Gravure", ["Oui, dorée"])]


def test_external_ids_never_hold_a_comma_or_a_space_and_keep_close_names_apart() -> None:
    keys = {xid_key(name) for name in ("1,5 L", "1.5 L", "1 5 L", "Noir", "noir")}
    assert len(keys) == 5 and not any(set(k) & {",", " "} for k in keys)


def context(folder: Path) -> WriterContext:
    options = OdooCsvWriter.validate_options({"separator": ",", "encoding": "utf-8"})
    return WriterContext(folder=folder, file_name=lambda part: "odoo.csv", columns=COLUMNS, options=options)


def product(i: int) -> tuple[list[Any], dict[str, Any]]:
    colours = ("Noir", "Blanc", f"Teinte {i % 3}")
    record = {"id": i, "variants": variants(*({"Couleur": c, "Contenance": "1,5 L"} for c in colours))}
    return [f"pm_exports.product_{i}", f"Produit {i}", "consu"], record


def run(folder: Path, crash_after: int | None = None) -> tuple[bytes, bytes]:
    folder.mkdir()
    writer = OdooCsvWriter(context(folder))
    for i in range(1, 9):
        writer.write(*product(i))
        if i == crash_after:
            state = writer.checkpoint()
            writer.write(*product(i + 1))  # written after the checkpoint, then the process dies
            writer.checkpoint()
            writer._file.close()  # the process dies: its files stay as they are on disk
            assert writer._journal is not None
            writer._journal.close()
            writer = OdooCsvWriter.resume(context(folder), state)
    main, attributes = writer.close()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # the journal is gone
    return main.path.read_bytes(), attributes.path.read_bytes()


def test_a_resumed_export_writes_the_same_files(tmp_path: Path) -> None:
    whole = run(tmp_path / "whole")
    assert run(tmp_path / "resumed", crash_after=4) == whole
    main, attributes = whole
    assert main.count(b"\n") == 1 + 8 * 2  # a product row and one sub-row per product
    assert attributes.decode().count("Teinte") == 3 and attributes.count(b"1,5 L") == 1


def test_bad_headers_and_too_many_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TemplateError, match="first column is `id`"):
        OdooCsvWriter.check_headers(["name", "id"])
    with pytest.raises(TemplateError, match="written by the odoo_csv format"):
        OdooCsvWriter.check_headers(["id", "attribute_line_ids/id"])
    monkeypatch.setattr(odoo_csv, "MAX_ATTRIBUTE_VALUES", 2)
    writer = OdooCsvWriter(context(tmp_path))
    with pytest.raises(OutputError, match="more than 2 distinct attribute values"):
        writer.write(*product(1))
    writer.abort()
    assert list(tmp_path.iterdir()) == []
