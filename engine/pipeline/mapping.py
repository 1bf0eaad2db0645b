"""Columns -> one compiled function per column: getter (field, literal or pattern) then transformations."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.errors import TemplateError
from engine.formats.base import ColumnInfo, ValueKind
from engine.pipeline.fields import PRODUCT_FIELDS, FieldRef, Getter, make_getter, parse_path
from engine.pipeline.rows import EXPANDERS, ROW_KINDS, ROW_MODE_COLUMNS, Expander, check_mode, relations_for
from engine.pipeline.transforms import MAX_CELL_CHARS, CellTooLarge, build_step

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
COLUMN_KEYS = {"header", "source", "literal", "pattern", "transforms", "on"}


@dataclass
class CompiledColumns:
    """What a template's columns need loaded, and how to turn a product record into a row."""

    infos: list[ColumnInfo]
    converters: list[Getter]
    product_columns: set[str] = field(default_factory=set)
    relations: set[str] = field(default_factory=set)
    whole_relations: set[str] = field(default_factory=set)  # relations read beyond their first item
    row_fields: list[str] = field(default_factory=list)  # labels of columns reading variant/image/row
    expander: Expander | None = None  # None: one row per product
    plain_keys: list[str | None] = field(default_factory=list)  # per column: the record key it copies as is
    reads_mapped: bool = False  # a column reads mapped.* (the template's mappings must be applied first)
    _fast: tuple[Callable[[dict[str, Any]], Any], list[tuple[str, Getter]]] | None = None

    def finish(self) -> None:
        """Prepare the fast path: one C-level itemgetter over the record, after computing the columns that are
        more than a plain copy of a field into private keys of the record."""
        if len(self.converters) < 2:
            return
        keys, computed = [], []
        for position, (key, convert) in enumerate(zip(self.plain_keys, self.converters, strict=True)):
            if key is None:
                key = f"\x00col{position}"
                computed.append((key, convert))
            keys.append(key)
        self._fast = (operator.itemgetter(*keys), computed)

    def row(self, record: dict[str, Any]) -> list[Any]:
        try:
            if self._fast is not None:
                getter, computed = self._fast
                for key, convert in computed:
                    record[key] = convert(record)
                try:
                    return list(getter(record))
                except KeyError:  # a record without some field (hand-made, not from the loader)
                    pass
            return [convert(record) for convert in self.converters]
        except CellTooLarge as exc:
            raise self._too_large(record, exc) from None

    def _too_large(self, record: dict[str, Any], exc: CellTooLarge) -> TemplateError:
        """The error naming the column and the product whose value grew too large (found again, column by
        column: this path is taken once, when the export stops)."""
        label = "a column"
        for info, convert in zip(self.infos, self.converters, strict=True):
            try:
                convert(record)
            except CellTooLarge:
                label = f"column {info.header!r}"
                break
        product = f"product {record.get('id')}" + (f" (SKU {record['sku']})" if record.get("sku") else "")
        return TemplateError(f"{exc.reason} for {product}", label)

    def rows(self, record: dict[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
        """Every (values, row record) a product gives in the template's row mode."""
        if self.expander is None:
            yield self.row(record), record
            return
        for row_record in self.expander(record):
            yield self.row(row_record), row_record

    def preview(self, record: dict[str, Any]) -> dict[str, Any]:
        return {info.header: value for info, value in zip(self.infos, self.row(record), strict=True)}


def _render_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "|".join(_render_text(v) for v in value)
    return str(value)


def _is_plain(source: str) -> bool:
    """A source that is a product column read as stored (the record holds it under that name)."""
    return source.strip() in PRODUCT_FIELDS


def _only_on(getter: Getter, on: Any, label: str) -> Getter:
    """Limit a column to some rows: `on` is "first" or a list of row kinds (and/or "first")."""
    wanted = [on] if isinstance(on, str) else on
    if not isinstance(wanted, list) or not wanted or any(w not in (*ROW_KINDS, "first") for w in wanted):
        known = ", ".join(("first", *ROW_KINDS))
        raise TemplateError(f"'on' must be a row kind or a list of them (known: {known})", label)
    kinds = frozenset(w for w in wanted if w != "first")
    first = "first" in wanted

    def limited(rec: dict[str, Any]) -> Any:
        row = rec["row"]
        return getter(rec) if (first and row["first"]) or row["kind"] in kinds else None

    return limited


def _pattern_getter(pattern: str, column: str, needs: CompiledColumns) -> Getter:
    parts: list[str | Getter] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(pattern):
        if "{" in pattern[pos : match.start()] or "}" in pattern[pos : match.start()]:
            raise TemplateError("pattern has a { or } that does not enclose a field, e.g. {sku}", column)
        parts.append(pattern[pos : match.start()])
        ref = parse_path(match[1], column)
        _need(ref, needs)
        if ref.is_row_field:
            needs.row_fields.append(column)
        parts.append(make_getter(ref))
        pos = match.end()
    if "{" in pattern[pos:] or "}" in pattern[pos:]:
        raise TemplateError("pattern has a { or } that does not enclose a field, e.g. {sku}", column)
    parts.append(pattern[pos:])
    pieces = [p for p in parts if p != ""]

    def render(rec: dict[str, Any]) -> str:
        texts = [p if isinstance(p, str) else _render_text(p(rec)) for p in pieces]
        size = sum(map(len, texts))
        if size > MAX_CELL_CHARS:
            raise CellTooLarge("pattern", size)
        return "".join(texts).strip()

    return render


def _constant(value: Any) -> Getter:
    return lambda _rec: value


def _need(ref: FieldRef, needs: CompiledColumns) -> None:
    needs.reads_mapped |= ref.needs_mappings
    if ref.needs_column:
        needs.product_columns.add(ref.needs_column)
    if ref.needs_relation:
        needs.relations.add(ref.needs_relation)
        if ref.index != 0:
            needs.whole_relations.add(ref.needs_relation)


def _chain(getter: Getter, steps: Sequence[Callable[[Any, Mapping[str, Any]], Any]]) -> Getter:
    if not steps:
        return getter
    if len(steps) == 1:
        (only,) = steps
        return lambda rec: only(getter(rec), rec)

    def run(rec: dict[str, Any]) -> Any:
        value = getter(rec)
        for step in steps:
            value = step(value, rec)
        return value

    return run


def compile_columns(columns: Sequence[Mapping[str, Any]], rows: str = "product") -> CompiledColumns:
    """Check every column and compile it; raise TemplateError naming the column at the first problem."""
    check_mode(rows)
    out = CompiledColumns(infos=[], converters=[], expander=EXPANDERS.get(rows))
    out.relations |= relations_for(rows)
    out.whole_relations |= relations_for(rows)
    if rows != "product":
        out.product_columns |= ROW_MODE_COLUMNS  # variants inherit these from their product
    seen: dict[str, int] = {}
    for position, column in enumerate(columns, start=1):
        if not isinstance(column, Mapping):
            raise TemplateError("a column must be an object with a header and a source", f"columns[{position}]")
        header = column.get("header")
        label = f"column {position} ({header!r})" if header else f"column {position}"
        if not isinstance(header, str) or not header.strip():
            raise TemplateError("a column needs a non-empty header", label)
        unknown = set(column) - COLUMN_KEYS
        if unknown:
            raise TemplateError(f"unknown key(s) {', '.join(sorted(unknown))}", label)
        if header.casefold() in seen:
            raise TemplateError(f"duplicate header (also column {seen[header.casefold()]})", label)
        seen[header.casefold()] = position
        sources = [k for k in ("source", "literal", "pattern") if k in column]
        if len(sources) != 1:
            raise TemplateError("a column needs exactly one of source, literal or pattern", label)
        kind: ValueKind
        getter: Getter
        if "source" in column:
            if not isinstance(column["source"], str):
                raise TemplateError("source must be a field path", label)
            ref = parse_path(column["source"], label)
            _need(ref, out)
            if ref.is_row_field:
                out.row_fields.append(label)
            getter, kind = make_getter(ref), ref.kind
        elif "literal" in column:
            literal = column["literal"]
            if not isinstance(literal, str | int | float | bool) and literal is not None:
                raise TemplateError("literal must be text, a number or a boolean", label)
            getter = _constant(literal)
            kind = "text" if isinstance(literal, str) or literal is None else "decimal"
            if isinstance(literal, bool):
                kind = "bool"
            elif isinstance(literal, int):
                kind = "integer"
        else:
            if not isinstance(column["pattern"], str):
                raise TemplateError("pattern must be text", label)
            getter, kind = _pattern_getter(column["pattern"], label, out), "text"
        steps = []
        raw_steps = column.get("transforms") or []
        if not isinstance(raw_steps, list):
            raise TemplateError("transforms must be a list", label)
        for step in raw_steps:
            fn, step_kind = build_step(step, label)
            steps.append(fn)
            if step_kind is not None:
                kind = step_kind
        converter = _chain(getter, steps)
        if "on" in column:
            if rows == "product":
                raise TemplateError("'on' needs a row mode other than product (rows: variants, ...)", label)
            converter = _only_on(converter, column["on"], label)
        out.infos.append(ColumnInfo(header=header, kind=kind))
        out.converters.append(converter)
        plain = "source" in column and not steps and "on" not in column and _is_plain(column["source"])
        out.plain_keys.append(column["source"].strip() if plain else None)
    out.finish()
    if rows == "product" and out.row_fields:
        raise TemplateError(
            "variant.*, image.* and row.* need a row mode (rows: variants, variants_images or parent_variants)",
            out.row_fields[0],
        )
    return out
