"""Odoo product import files: product.template rows with their attribute lines, and the attributes they use.

Odoo's import (`BaseModel.load` / `_extract_records` in odoo/models.py, the converters in
odoo/addons/base/models/ir_fields.py) reads a one2many as sub-rows: the record's first row carries its own
columns and its first sub-record; the rows that follow with every non-one2many column empty carry the next
sub-records. Variants are not imported as product.product rows: Odoo generates them from the template's
attribute lines (`product.template._create_variant_ids`). So a product with variants is written as:

- in the main file (product.template), the template's columns on its first row, plus one attribute line per
  row: `attribute_line_ids/id` (an external id of our own, `<product id>_line_<attribute key>`, so a re-import
  links and updates the line instead of creating a second one), `attribute_line_ids/attribute_id/id` and
  `attribute_line_ids/value_ids/id` (the values' external ids, comma-separated: `_str_to_many2many` splits
  the cell on commas, which is why values are never named there);
- in the companion file `<main>-attributes.csv` (product.attribute, imported first), each attribute once with
  its values as `value_ids/id` + `value_ids/name` sub-rows: Odoo creates a sub-record whose external id is not
  found with that id (`_str_to_one2many` then `O2MIdMapper.create`) and links + updates one that exists.

When a product's variants are every combination of its options' values, each option is an attribute line (Odoo
generates exactly those combinations). Otherwise Odoo would generate combinations the catalogue does not have,
so the options are combined into one attribute (`Couleur / Taille`, values `Noir / M`) whose values are exactly
the product's variants.

External ids: `<module>.attr_<key>` and `<module>.attr_<key>_value_<key>`, where `<module>` is the one of the
product's `id` column and a key is the name slugified plus 8 hex digits of its SHA-1 (names differing only in
case or punctuation, `1,5 L` and `1.5 L`, stay apart; ids never hold a space or a comma).

Options: the CSV writer's, and `attributes_suffix` (default `-attributes`). The distinct attribute values of an
export are held until the end (at most MAX_ATTRIBUTE_VALUES) and journalled beside the file for resumption.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import operator
import re
from collections.abc import Mapping, Sequence
from typing import IO, Any, ClassVar, Self

import orjson

from engine.catalog.text import slugify
from engine.errors import OutputError, TemplateError
from engine.formats.base import ColumnInfo, OutputFile, WriterContext
from engine.formats.csv import _KNOWN as CSV_OPTIONS
from engine.formats.csv import _SUFFIX, CsvWriter
from engine.formats.values import check_state, reject_unknown_options, sync_file, truncate_to

MAX_ATTRIBUTE_VALUES = 100_000  # distinct (attribute, value) pairs in one export
LINE_HEADERS = ("attribute_line_ids/id", "attribute_line_ids/attribute_id/id", "attribute_line_ids/value_ids/id")
ATTRIBUTE_HEADERS = ("id", "name", "create_variant", "value_ids/id", "value_ids/name")
COMBINED = " / "  # joins option names and values when options are combined into one attribute
# a field path as Odoo's import matches it without asking: technical names joined by /, ending in id or .id
_FIELD_PATH = re.compile(r"^(?:\.?id|[a-z_][a-z0-9_]*(?:/[a-z_][a-z0-9_]*)*(?:/\.?id)?)$")
_KNOWN = (*CSV_OPTIONS, "attributes_suffix")  # `companion` is always none: the attributes file is ours


def xid_key(name: str) -> str:
    """An external id part for a name: slug (at most 40 characters) and 8 hex digits of the name's SHA-1."""
    digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{slugify(name, '_')[:40].strip('_') or 'x'}_{digest}"


def attribute_lines(variants: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The attribute lines (name, values in order) Odoo needs to generate exactly these variants."""
    combos: list[tuple[tuple[str, str], ...]] = []
    for variant in variants:
        options = variant.get("options") or {}
        combo = tuple((str(k).strip(), str(v).strip()) for k, v in options.items() if v is not None and str(v).strip())
        if combo and combo not in combos:
            combos.append(combo)
    if not combos:
        return []
    names = list(dict.fromkeys(name for combo in combos for name, _value in combo))
    values: dict[str, list[str]] = {name: [] for name in names}
    for combo in combos:
        for name, value in combo:
            if value not in values[name]:
                values[name].append(value)
    # the combinations Odoo generates from one line per option, and those the variants have, in names order
    generated = set(itertools.product(*values.values()))
    present = {tuple(dict(combo).get(name) for name in names) for combo in combos}
    if present == generated:
        return [(name, values[name]) for name in names]
    return [(COMBINED.join(names), [COMBINED.join(value for _name, value in combo) for combo in combos])]


class OdooCsvWriter(CsvWriter):
    """product.template rows with attribute-line sub-rows, and a product.attribute companion file."""

    name: ClassVar[str] = "odoo_csv"
    extension: ClassVar[str] = "csv"
    content_type: ClassVar[str] = "text/csv"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, _KNOWN, cls.name)
        if options.get("companion") is not None:
            raise TemplateError("the odoo_csv format writes its own attributes file", "options.companion")
        suffix = options.get("attributes_suffix", "-attributes")
        if not isinstance(suffix, str) or not _SUFFIX.match(suffix):
            raise TemplateError(
                "must be - then 1 to 40 lower-case letters, digits, - or _", "options.attributes_suffix"
            )
        out = CsvWriter.validate_options({k: v for k, v in options.items() if k != "attributes_suffix"})
        out["attributes_suffix"] = suffix
        return out

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        return {"variants"}

    @classmethod
    def check_headers(cls, headers: Sequence[str]) -> None:
        if not headers or headers[0] != "id":
            raise TemplateError("an Odoo import's first column is `id`, the product's external id", "columns")
        for header in headers:
            if not _FIELD_PATH.match(header):
                raise TemplateError(
                    f"{header!r} is not an Odoo field path (technical names joined by /, e.g. categ_id or "
                    "seller_ids/partner_id/id)",
                    "columns",
                )
        taken = [h for h in headers if h in LINE_HEADERS]
        if taken:
            raise TemplateError(f"{taken[0]!r} is written by the odoo_csv format itself (from the variants)", "columns")

    def _setup(self, ctx: WriterContext) -> None:
        self.check_headers([c.header for c in ctx.columns])
        self._product_width = len(ctx.columns)
        columns = [*ctx.columns, *(ColumnInfo(h) for h in LINE_HEADERS)]
        super()._setup(dataclasses.replace(ctx, columns=columns))
        stem, _dot, extension = self._path.name.rpartition(".")
        self._attributes_path = self._path.with_name(f"{stem}{self._options['attributes_suffix']}.{extension}")
        self._journal_path = self._path.with_name(f".{self._path.name}.attributes.journal")
        self._values: dict[str, dict[str, str]] = {}  # attribute xid -> {value name: value xid}
        self._attribute_names: dict[str, str] = {}  # attribute xid -> name
        self._pairs = 0
        self._journal: IO[bytes] | None = None

    def __init__(self, ctx: WriterContext) -> None:
        super().__init__(ctx)
        self._open_journal("wb")

    def _open_journal(self, mode: str) -> None:
        try:
            self._journal = open(self._journal_path, mode)  # noqa: SIM115 - closed in close()/abort()
        except OSError as exc:
            raise OutputError(f"cannot create {self._journal_path}: {exc.strerror or exc}") from exc

    def _remember(self, attribute: str, value: str, module: str, journal: bool = True) -> tuple[str, str]:
        """The external ids of an attribute and one of its values, journalled the first time they are met."""
        attribute_xid = f"{module}.attr_{xid_key(attribute)}"
        known = self._values.setdefault(attribute_xid, {})
        self._attribute_names.setdefault(attribute_xid, attribute)
        value_xid = known.get(value)
        if value_xid is None:
            if self._pairs >= MAX_ATTRIBUTE_VALUES:
                raise OutputError(
                    f"more than {MAX_ATTRIBUTE_VALUES} distinct attribute values in one Odoo export: export the "
                    "catalogue in several parts (selection) or check the variants' option values"
                )
            value_xid = known[value] = f"{attribute_xid}_value_{xid_key(value)}"
            self._pairs += 1
            if journal:
                assert self._journal is not None
                self._journal.write(orjson.dumps([module, attribute, value]) + b"\n")
        return attribute_xid, value_xid

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        lines = attribute_lines(record.get("variants") or [])
        cells: list[list[Any]] = []
        if lines:
            product_xid = str(values[0] or "")
            if "." not in product_xid:
                raise OutputError(
                    f"product {record.get('id')}: its `id` cell {product_xid!r} is not an external id "
                    "(module.name): its attribute lines need one"
                )
            module = product_xid.partition(".")[0]
            for attribute, attribute_values in lines:
                xids = [self._remember(attribute, value, module) for value in attribute_values]
                attribute_xid = xids[0][0]
                line_xid = f"{product_xid}_line_{attribute_xid.partition('.attr_')[2]}"
                cells.append([line_xid, attribute_xid, ",".join(xid for _a, xid in xids)])
        first = cells[0] if cells else [None, None, None]
        super().write([*values, *first], record)
        blank = [None] * self._product_width
        for line in cells[1:]:
            self._emit(list(map(operator.call, self._converters, [*blank, *line])), f"product row {self._rows}")

    def checkpoint(self) -> dict[str, Any]:
        state = super().checkpoint()
        assert self._journal is not None
        state["attributes_journal"] = sync_file(self._journal, self._journal_path)
        return state

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> Self:
        check_state(state, cls.name)
        offset = state.get("attributes_journal")
        if not isinstance(offset, int) or offset < 0:
            raise OutputError("cannot resume the odoo_csv export: its checkpoint has no attributes journal offset")
        writer = super().resume(ctx, state)
        truncate_to(writer._journal_path, offset)
        writer._reload_journal()
        writer._open_journal("ab")
        return writer

    def _reload_journal(self) -> None:
        try:
            lines = self._journal_path.read_bytes().splitlines()
        except OSError as exc:
            raise OutputError(f"cannot read {self._journal_path}: {exc.strerror or exc}") from exc
        for line in lines:
            module, attribute, value = orjson.loads(line)
            self._remember(attribute, value, module, journal=False)

    def _write_attributes(self) -> int:
        options = self._options
        with open(self._attributes_path, "w", encoding=self._encoding, errors="strict", newline="") as file:
            writer = csv.writer(
                file,
                delimiter=options["separator"],
                quoting=csv.QUOTE_ALL if options["quoting"] == "all" else csv.QUOTE_MINIMAL,
                lineterminator=options["line_terminator"],
            )
            if options["header"]:
                writer.writerow(ATTRIBUTE_HEADERS)
            for attribute_xid, values in self._values.items():
                first = [attribute_xid, self._attribute_names[attribute_xid], "always"]
                for value, value_xid in values.items():
                    writer.writerow([*first, value_xid, value])
                    first = ["", "", ""]
        return len(self._values)

    def close(self) -> list[OutputFile]:
        if self._done is not None:
            return list(self._done)
        done = super().close()
        if self._journal is not None:
            self._journal.close()
        try:
            attributes = self._write_attributes()
        except (OSError, UnicodeError) as exc:
            self._attributes_path.unlink(missing_ok=True)
            raise OutputError(f"cannot write {self._attributes_path}: {exc}") from exc
        self._journal_path.unlink(missing_ok=True)
        suffix = self._options["attributes_suffix"]
        self._done = [*done, OutputFile(self._attributes_path, attributes, self.content_type, suffix=suffix)]
        return list(self._done)

    def abort(self) -> None:
        super().abort()
        if self._journal is not None:
            self._journal.close()
        self._journal_path.unlink(missing_ok=True)
        self._attributes_path.unlink(missing_ok=True)
