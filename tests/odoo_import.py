"""Reads CSV files the way Odoo's import does, into an in-memory database, for the Odoo contract test.

Follows odoo/models.py `BaseModel.load` / `_extract_records` (a record's rows: its first row, then the rows whose
non-one2many columns are all empty; each relational field gets the sub-rows that have a value for it) and
odoo/addons/base/models/ir_fields.py: many2one by external id (`field/id`) or by name (`name_search` with '=':
several matches is a warning and the first wins, none is an error); many2many cells split on commas, each part
resolved the same way; one2many sub-records with an `id` that exists are linked and updated, otherwise created
with that external id (`O2MIdMapper`). A record whose external id exists is updated, otherwise created
(`_load_records`). `generate_variants` is `product.template._create_variant_ids` for attribute lines whose
attributes create variants: every combination of the lines' values.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from typing import Any

# model -> field -> ("char",) | ("many2one" | "many2many" | "one2many", comodel)
MODELS: dict[str, dict[str, tuple[str, ...]]] = {
    "product.attribute": {
        "name": ("char",),
        "create_variant": ("selection",),
        "value_ids": ("one2many", "product.attribute.value"),
    },
    "product.attribute.value": {"name": ("char",)},
    "product.template.attribute.line": {
        "attribute_id": ("many2one", "product.attribute"),
        "value_ids": ("many2many", "product.attribute.value"),
    },
    "product.category": {"name": ("char",)},
    "account.tax": {"name": ("char",)},
    "product.template": {
        **{
            name: ("char",)
            for name in (
                "name",
                "default_code",
                "barcode",
                "list_price",
                "standard_price",
                "description_sale",
                "active",
                "weight",
                "type",
            )
        },
        "categ_id": ("many2one", "product.category"),
        "taxes_id": ("many2many", "account.tax"),
        "attribute_line_ids": ("one2many", "product.template.attribute.line"),
    },
}


class ImportError_(Exception):
    """An error Odoo's import reports (the whole import is rolled back)."""


@dataclass
class Database:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # model -> records (id = index)
    xids: dict[str, tuple[str, int]] = field(default_factory=dict)  # external id -> (model, index)
    warnings: list[str] = field(default_factory=list)

    def table(self, model: str) -> list[dict[str, Any]]:
        return self.records.setdefault(model, [])

    def add(self, model: str, values: dict[str, Any], xid: str | None = None) -> int:
        table = self.table(model)
        table.append(values)
        if xid:
            self.xids[xid] = (model, len(table) - 1)
        return len(table) - 1

    def by_xid(self, model: str, xid: str) -> int | None:
        found = self.xids.get(xid)
        if found is None:
            return None
        if found[0] != model:
            raise ImportError_(f"Invalid external ID {xid}: expected model {model!r}, found {found[0]!r}")
        return found[1]

    def by_name(self, model: str, name: str) -> int:
        matches = [i for i, r in enumerate(self.table(model)) if r.get("name") == name]
        if not matches:
            raise ImportError_(f"No matching record found for name '{name}' in {model}")
        if len(matches) > 1:
            self.warnings.append(f"Found multiple matches for value '{name}' ({len(matches)} matches)")
        return matches[0]


def read_rows(data: bytes) -> tuple[list[list[str]], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return [h.split("/") for h in header], rows


def extract_records(model: str, paths: list[list[str]], rows: list[list[str]]) -> list[dict[str, Any]]:
    """`_extract_records`: group rows into records, relational fields into lists of sub-records."""
    fields = MODELS[model]

    def kind(name: str) -> str:
        if name in ("id", ".id"):
            return "char"
        if name not in fields:
            raise ImportError_(f"{model} has no field {name!r}")
        return fields[name][0]

    o2m = [i for i, p in enumerate(paths) if kind(p[0]) == "one2many"]
    other = [i for i, p in enumerate(paths) if kind(p[0]) != "one2many"]
    records = []
    index = 0
    while index < len(rows):
        span = [rows[index]]
        for row in rows[index + 1 :]:
            if any(row[i] for i in o2m) and not any(row[i] for i in other):
                span.append(row)
            else:
                break
        record: dict[str, Any] = {p[0]: rows[index][i] for i, p in enumerate(paths) if kind(p[0]) == "char"}
        for name in dict.fromkeys(p[0] for p in paths if kind(p[0]) != "char"):
            indices = [i for i, p in enumerate(paths) if p[0] == name]
            sub_paths = [paths[i][1:] or [None] for i in indices]
            sub_rows = [[row[i] for i in indices] for row in span]
            sub_rows = [r for r in sub_rows if any(r)]
            if kind(name) == "one2many":
                record[name] = extract_records(fields[name][1], sub_paths, sub_rows)  # type: ignore[arg-type]
            else:  # many2one / many2many: a reference by name (None), external id or database id
                record[name] = [dict(zip([p[0] for p in sub_paths], r, strict=True)) for r in sub_rows]
        records.append(record)
        index += len(span)
    return records


def _reference(db: Database, comodel: str, reference: dict[str, str], value: str) -> int:
    (subfield,) = reference
    if subfield == "id":
        found = db.by_xid(comodel, value)
        if found is None:
            raise ImportError_(f"No matching record found for external id '{value}' in {comodel}")
        return found
    if subfield is None:
        return db.by_name(comodel, value)
    raise ImportError_(f"unsupported sub-field {subfield!r}")


def convert(db: Database, model: str, record: dict[str, Any]) -> dict[str, Any]:
    """The values to write for one record (ir_fields' converters)."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name in ("id", ".id"):
            continue
        spec = MODELS[model][name]
        if not value:
            out[name] = [] if spec[0] in ("many2many", "one2many") else None
        elif spec[0] == "many2one":
            [reference] = value
            out[name] = _reference(db, spec[1], reference, next(iter(reference.values())))
        elif spec[0] == "many2many":
            [reference] = value
            out[name] = [_reference(db, spec[1], reference, part) for part in next(iter(reference.values())).split(",")]
        elif spec[0] == "one2many":
            ids = []
            for sub in value:
                xid = sub.get("id")
                existing = db.by_xid(spec[1], xid) if xid else None
                values = convert(db, spec[1], sub)
                if existing is not None:
                    db.table(spec[1])[existing].update(values)
                    ids.append(existing)
                else:
                    ids.append(db.add(spec[1], values, xid))
            out[name] = ids
        else:
            out[name] = value
    return out


def load(db: Database, model: str, data: bytes) -> list[int]:
    """Import one file into `model`: the records' ids, created or updated by external id."""
    paths, rows = read_rows(data)
    ids = []
    for record in extract_records(model, paths, rows):
        values = convert(db, model, record)
        xid = record.get("id") or None
        existing = db.by_xid(model, xid) if xid else None
        if existing is not None:
            current = db.table(model)[existing]
            for name, value in values.items():
                if MODELS[model][name][0] == "one2many":  # link + update: earlier sub-records stay
                    current[name] = list(dict.fromkeys([*current.get(name, []), *value]))
                else:
                    current[name] = value
            ids.append(existing)
        else:
            ids.append(db.add(model, values, xid))
    return ids


def generate_variants(db: Database, template: dict[str, Any]) -> list[dict[str, str]]:
    """The variants Odoo generates for a template: each combination of its lines' values, as {attribute: value}."""
    lines = [db.table("product.template.attribute.line")[i] for i in template.get("attribute_line_ids") or []]
    attributes = db.table("product.attribute")
    values = db.table("product.attribute.value")
    seen = [line["attribute_id"] for line in lines]
    if len(seen) != len(set(seen)):
        raise ImportError_("two attribute lines for the same attribute")
    axes = [
        [(attributes[line["attribute_id"]]["name"], values[v]["name"]) for v in line["value_ids"]] for line in lines
    ]
    for line in lines:
        own = attributes[line["attribute_id"]].get("value_ids") or []
        assert set(line["value_ids"]) <= set(own), "a line's values belong to its attribute"
    return [dict(combo) for combo in itertools.product(*axes)]
