"""Catalogue import from CSV or JSON Lines: stream the file, upsert each row in its own transaction, report.

A row that cannot be imported is rejected with its physical line number and the reason, and the import goes
on. A problem with the whole file (unknown columns, no sku/ean column, undecodable header...) raises
InvalidRequest before anything is written.

CSV columns are the product input field names of engine.catalog.store, plus `attributes.<name>` (one column
per attribute) and `supplier_code`, `supplier_sku`, `supplier_cost_price`, `supplier_stock` (one supplier
link). Lists (`tags`, `images`, `bullet_points`, `extra_categories`) are `|`-separated. A column present in
the file is written for every row, so an empty cell clears that field; absent columns are left untouched.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
from peewee import DatabaseError

from engine.catalog import store
from engine.catalog.models import Category
from engine.db import current_database
from engine.errors import InvalidRequest, RowRejected

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
DELIMITERS = (";", ",", "\t")
MAX_KEPT_REJECTIONS = 1000  # the count stays exact; details beyond this are dropped to keep memory flat
ATTRIBUTE_PREFIX = "attributes."
SUPPLIER_COLUMNS = {"supplier_code": "code", "supplier_sku": "supplier_sku",
                    "supplier_cost_price": "cost_price", "supplier_stock": "stock"}  # fmt: skip
# A CSV cell is text: the nested inputs `suppliers` and `variants` have no CSV column.
CSV_FIELDS = frozenset(store.INPUT_FIELDS - {"suppliers", "variants", "attributes"}) | SUPPLIER_COLUMNS.keys()
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_SCAN_BLOCK = 1 << 20

_Record = tuple[int, Any, str | None]  # (line, product input or what could be read of it, rejection reason)


@dataclass(frozen=True)
class Rejection:
    line: int  # physical line where the record starts (1 = first line of the file)
    sku: str | None
    ean: str | None
    reason: str

    @property
    def key(self) -> str:
        return self.sku or self.ean or "-"


@dataclass
class ImportReport:
    format: str
    encoding: str = "utf-8"
    delimiter: str | None = None
    created: int = 0
    updated: int = 0
    rejected: int = 0
    categories_created: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # at most MAX_KEPT_REJECTIONS

    def reject(self, line: int, row: Any, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_KEPT_REJECTIONS:
            self.rejections.append(Rejection(line, _identifier(row, "sku"), _identifier(row, "ean"), reason))


def _identifier(row: Any, name: str) -> str | None:
    if not isinstance(row, dict):
        return None
    value = row.get(name)
    return (str(value).strip() or None) if value is not None else None


# --- categories -----------------------------------------------------------------------------------------------


class CreatingCategoryIndex(store.CategoryIndex):
    """A CategoryIndex that creates missing paths (`--create-categories`), reusing existing ones whatever
    their case, and forgets what it created when the row's transaction is rolled back."""

    def __init__(self) -> None:
        super().__init__()
        self.paths = {c.path.casefold(): c.path for c in Category.select(Category.path)}
        self.pending: list[str] = []  # keys created in the current row's transaction
        self.created = 0

    def resolve(self, path: str) -> int:
        parts = [p.strip() for p in path.split(">") if p.strip()]
        key = " > ".join(parts).casefold()
        if key in self.by_path:
            return self.by_path[key]
        if not parts:
            raise RowRejected(f"empty category path {path!r}")
        # Spell the existing part of the path as stored, so ensure_category_path (exact match) reuses it.
        canonical: list[str] = []
        for depth in range(len(parts)):
            prefix = " > ".join(parts[: depth + 1]).casefold()
            canonical.append(self.paths[prefix].rsplit(" > ", 1)[-1] if prefix in self.paths else parts[depth])
        for depth in range(len(canonical)):
            prefix_key = " > ".join(canonical[: depth + 1]).casefold()
            if prefix_key not in self.paths:
                self.paths[prefix_key] = " > ".join(canonical[: depth + 1])
                self.pending.append(prefix_key)
                self.created += 1
        category_id = store.ensure_category_path(" > ".join(canonical))
        self.by_path[key] = category_id
        return category_id

    def commit(self) -> None:
        self.pending.clear()

    def rollback(self) -> None:
        for key in self.pending:
            self.paths.pop(key, None)
            self.by_path.pop(key, None)
            self.created -= 1
        self.pending.clear()


# --- reading --------------------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8-sig when the whole file is UTF-8 (BOM or not), else cp1252 (the ISO-8859-1 superset that
    Excel writes: € and œ), else latin-1. Reads the file once, block by block."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    cp1252 = True
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BLOCK):
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if cp1252 and any(b in block for b in _CP1252_UNDEFINED):
                cp1252 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return "utf-8-sig"
    return "cp1252" if cp1252 else "latin-1"


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of `;`, `,` and tab in the header line (`,` when there is none)."""
    counts = [(header_line.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] else ","


def _csv_columns(header: list[str]) -> list[str]:
    """Normalised column names; raise InvalidRequest listing unknown or repeated ones."""
    columns = []
    for raw in header:
        name = raw.strip()
        if name.lower().startswith(ATTRIBUTE_PREFIX):
            name = ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :].strip()
        else:
            name = name.lower()
        columns.append(name)
    unknown = [c for c in columns if c and c not in CSV_FIELDS and not _is_attribute(c)]
    if unknown:
        raise InvalidRequest(
            f"unknown column(s): {', '.join(unknown)} (expected product fields such as sku, ean, title, price, "
            f"category, tags, images, attributes.<name>, supplier_code)"
        )
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise InvalidRequest(f"column(s) appear more than once: {', '.join(repeated)}")
    if "sku" not in columns and "ean" not in columns:
        raise InvalidRequest("the file needs a sku or an ean column to match products")
    return columns


def _is_attribute(column: str) -> bool:
    return column.startswith(ATTRIBUTE_PREFIX) and len(column) > len(ATTRIBUTE_PREFIX)


def _csv_product(columns: list[str], values: list[str]) -> dict[str, Any]:
    """One CSV record as a product input dict (the canonical format of engine.catalog.store)."""
    if len(values) > len(columns) and any(v.strip() for v in values[len(columns) :]):
        raise RowRejected(f"the row has {len(values)} fields but the header has {len(columns)} columns")
    product: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    link: dict[str, str] = {}
    for position, (name, value) in enumerate(zip(columns, values, strict=False), start=1):
        if not name:  # a column without a header (Excel's trailing delimiter) must stay empty
            if value.strip():
                raise RowRejected(f"column {position} has a value but no header")
        elif _is_attribute(name):
            attributes[name[len(ATTRIBUTE_PREFIX) :]] = value
        elif name in SUPPLIER_COLUMNS:
            link[SUPPLIER_COLUMNS[name]] = value
        else:
            product[name] = value
    for name in columns[len(values) :]:  # a short row: its missing cells are empty
        if name in store.INPUT_FIELDS:
            product[name] = ""
    if any(_is_attribute(name) for name in columns):
        product["attributes"] = attributes
    if any(name in SUPPLIER_COLUMNS for name in columns):
        if not (link.get("code") or "").strip():
            if any((v or "").strip() for v in link.values()):
                raise RowRejected("supplier_sku, supplier_cost_price and supplier_stock need a supplier_code")
            product["suppliers"] = []
        else:
            product["suppliers"] = [link]
    return product


def read_csv(handle: IO[str], report: ImportReport, delimiter: str | None) -> Iterator[_Record]:
    """Yield (line where the record starts, product input, None) for each CSV record, or (line, what could be
    read, reason) for a record that cannot become a product input. Raise InvalidRequest for a bad header."""
    header_line = handle.readline()
    if not header_line.strip():
        raise InvalidRequest("the file is empty (no header line)")
    report.delimiter = delimiter = delimiter or sniff_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    columns = _csv_columns(header)
    reader = csv.reader(handle, delimiter=delimiter, strict=True)  # a malformed quote is an error, not data
    end = 1  # physical lines consumed so far (the header)
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = 1 + reader.line_num
            yield start, None, f"unreadable CSV record: {exc}"
            continue
        end = 1 + reader.line_num
        if not values or not any(v.strip() for v in values):
            continue
        try:
            product = _csv_product(columns, values)
        except RowRejected as exc:
            yield start, dict(zip(columns, values, strict=False)), str(exc)
        else:
            yield start, product, None


def _decimals(value: Any) -> Any:
    """JSON floats as the Decimal they are written as (12.99, not 12.9900000000000002131...)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def read_jsonl(handle: IO[bytes]) -> Iterator[_Record]:
    """Yield (line number, product input, None) for each non-blank line, (line, None, reason) for a bad one."""
    for number, raw in enumerate(handle, start=1):
        line = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
        if not line.strip():
            continue
        try:
            data = orjson.loads(line.strip())
        except orjson.JSONDecodeError as exc:
            yield number, None, f"malformed JSON: {exc.msg} at column {exc.colno}"
            continue
        if not isinstance(data, dict):
            yield number, None, f"a line must be a JSON object, got {type(data).__name__}"
            continue
        yield number, _decimals(data), None


# --- import ---------------------------------------------------------------------------------------------------


def format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise InvalidRequest(f"unknown import format {fmt!r} (use csv or jsonl)", field="format")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InvalidRequest(
            f"cannot tell the format of {path.name!r} from its extension (.csv, .jsonl, .ndjson): "
            f"give --format csv|jsonl"
        ) from None


def import_file(
    path: str | Path,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    create_categories: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every product of a CSV or JSON Lines file (matched by SKU, then EAN); see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"no such file: {path}")
    fmt = format_of(path, fmt)
    if delimiter is not None and len(delimiter) != 1:
        raise InvalidRequest(f"the delimiter must be one character, got {delimiter!r}", field="delimiter")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidRequest(f"unknown encoding {encoding!r}", field="encoding") from None
    report = ImportReport(format=fmt)
    if fmt == "csv":
        report.encoding = encoding or detect_encoding(path)
        with path.open("r", encoding=report.encoding, newline="") as handle:
            _import_rows(read_csv(handle, report, delimiter), report, create_categories, progress)
    else:
        with path.open("rb") as binary:
            _import_rows(read_jsonl(binary), report, create_categories, progress)
    return report


def _import_rows(
    records: Iterator[_Record],
    report: ImportReport,
    create_categories: bool,
    progress: Callable[[int], None] | None,
) -> None:
    db = current_database()
    categories = CreatingCategoryIndex() if create_categories else store.CategoryIndex()
    suppliers = store.SupplierIndex()
    for line, row, problem in records:
        if problem is not None:
            report.reject(line, row, problem)
        else:
            try:
                with db.atomic():  # categories created for this row go if the row is rejected
                    _product, created = store.upsert_product(row, categories, suppliers)
            except RowRejected as exc:
                _rollback(categories)
                report.reject(line, row, str(exc))
            except DatabaseError as exc:  # a constraint the checks above do not cover: that row only
                _rollback(categories)
                report.reject(line, row, f"database refused the row: {str(exc).strip().splitlines()[0]}")
            else:
                if isinstance(categories, CreatingCategoryIndex):
                    categories.commit()
                if created:
                    report.created += 1
                else:
                    report.updated += 1
        if progress is not None:
            progress(1)
    if isinstance(categories, CreatingCategoryIndex):
        report.categories_created = categories.created


def _rollback(categories: store.CategoryIndex) -> None:
    if isinstance(categories, CreatingCategoryIndex):
        categories.rollback()
