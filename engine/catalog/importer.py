"""Catalogue import from CSV or JSON Lines: stream the file, upsert each row in its own transaction, report.

Every physical line is accounted for: imported, skipped when blank, or rejected with its line number and the
reason, and the import goes on. A problem with the whole file (unknown columns, no sku/ean column, no rows...)
raises InvalidRequest before anything is written. The accepted columns are documented in docs/import.md.

CSV columns are the product input field names of engine.catalog.store (matched case-insensitively, spaces as
`_`, a trailing unit such as ` (kg)` ignored, so the "Standard CSV" export reads back), plus `attributes.<name>`
(one column per attribute) and `supplier_code`, `supplier_sku`, `supplier_cost_price`, `supplier_stock` (one
supplier link). Lists (`tags`, `images`, `bullet_points`, `extra_categories`) are `|`-separated. A column present
in the file is written for every row, so an empty cell clears that field; absent columns are left untouched.

A quoted field may hold line breaks only in the long-text columns (LONG_TEXT_COLUMNS), and such a record is
kept only when none of its continuation lines reads on its own as a record of the header's width. Otherwise the
quote is taken as unclosed: the record's first line is rejected and reading resumes on the next line, so an
unterminated quote never swallows the rows after it and never merges two products.
"""

from __future__ import annotations

import codecs
import csv
import re
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
# Columns of the "Standard CSV" export that the engine computes: accepted in an import file and ignored.
EXPORT_ONLY_COLUMNS = frozenset({"id", "main_image", "completeness", "grade", "created_at", "updated_at"})
# The only columns whose quoted values may span several physical lines.
LONG_TEXT_COLUMNS = frozenset({"description", "short_description", "seo_description"})
MAX_LINE_CHARS = 1 << 20  # a longer physical line is rejected without being held in memory
_UNIT_SUFFIX = re.compile(r"\s*\([^()]*\)$")
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


def _column_name(raw: str) -> str:
    """A header cell as an input field name: `Compare at price` -> compare_at_price, `Weight (kg)` -> weight."""
    name = raw.strip()
    if name.lower().startswith(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :].strip()
    return re.sub(r"[\s-]+", "_", _UNIT_SUFFIX.sub("", name).lower())


def _csv_columns(header: list[str]) -> list[str]:
    """Normalised column names; raise InvalidRequest listing unknown or repeated ones."""
    columns = [_column_name(raw) for raw in header]
    known = CSV_FIELDS | EXPORT_ONLY_COLUMNS
    unknown = [
        raw.strip() for raw, c in zip(header, columns, strict=True) if c and c not in known and not _is_attribute(c)
    ]
    if unknown:
        raise InvalidRequest(
            f"unknown column(s): {', '.join(unknown)} (expected product fields such as sku, ean, title, price, "
            f"category, tags, images, attributes.<name>, supplier_code: see docs/import.md)"
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
        elif name in EXPORT_ONLY_COLUMNS:
            continue
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


class _Lines:
    """The physical lines of a text file, numbered from 1, each at most MAX_LINE_CHARS long (a longer one comes
    back as None, read through without being kept); lines can be put back to be read again."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.number = 0
        self.put_back: list[tuple[int, str | None]] = []  # a stack: the next line to read is last

    def next(self) -> tuple[int, str | None] | None:
        if self.put_back:
            return self.put_back.pop()
        line = self.handle.readline(MAX_LINE_CHARS)
        if not line:
            return None
        self.number += 1
        if len(line) < MAX_LINE_CHARS or line.endswith(("\n", "\r")):
            return self.number, line
        while (rest := self.handle.readline(MAX_LINE_CHARS)) and not rest.endswith(("\n", "\r")):
            pass
        return self.number, None

    def push(self, lines: list[tuple[int, str | None]]) -> None:
        self.put_back.extend(reversed(lines))


class _LineTooLong(Exception):
    pass


def _read_record(lines: _Lines, delimiter: str) -> tuple[list[tuple[int, str | None]], list[str] | None, str | None]:
    """Read one CSV record: (the physical lines it took, its values or None, the csv error if any)."""
    taken: list[tuple[int, str | None]] = []

    def feed() -> Iterator[str]:
        while (item := lines.next()) is not None:
            taken.append(item)
            if item[1] is None:
                raise _LineTooLong
            yield item[1]

    try:
        values = next(csv.reader(feed(), delimiter=delimiter, strict=True))  # a malformed quote is an error
    except StopIteration:
        return taken, None, None
    except _LineTooLong:
        return taken, None, f"the line is longer than {MAX_LINE_CHARS:,} characters"
    except csv.Error as exc:
        return taken, None, str(exc)
    return taken, values, None


def _unclosed_quote(
    taken: list[tuple[int, str | None]], values: list[str] | None, error: str | None, columns: list[str], delimiter: str
) -> str | None:
    """Why a record read across several lines must be a quote left open (None when it is a real multi-line
    value): a line break in a column other than LONG_TEXT_COLUMNS, or a continuation line that reads on its own
    as a record of the header's width."""
    if values is None:
        if taken[-1][1] is None:
            return f"line {taken[-1][0]} is too long"
        return (
            "the file ends inside it" if error == "unexpected end of data" else f"the record cannot be read ({error})"
        )
    for position, value in enumerate(values):
        if "\n" in value or "\r" in value:
            name = columns[position] if position < len(columns) else f"column {position + 1}"
            if name not in LONG_TEXT_COLUMNS:
                return f"{name or f'column {position + 1}'} would span lines {taken[0][0]}-{taken[-1][0]}"
    if len(columns) > 1:
        for number, text in taken[1:]:
            alone = next(csv.reader([(text or "").rstrip("\r\n")], delimiter=delimiter, strict=False), [])
            if len(alone) == len(columns):
                return f"line {number} reads as a record of its own"
    return None


def _stray_quote(text: str, delimiter: str) -> int | None:
    """The position (from 1) of the first unquoted field holding a `"`, which csv reads literally, or None."""
    text = text.rstrip("\r\n")
    position, i = 1, 0
    while i <= len(text):
        if text.startswith('"', i):  # a quoted field: skip to its closing quote (`""` is an escaped quote)
            i += 1
            while (i := text.find('"', i)) >= 0 and text.startswith('""', i):
                i += 2
            i = len(text) if i < 0 else i + 1
        end = text.find(delimiter, i)
        end = len(text) if end < 0 else end
        if '"' in text[i:end]:
            return position
        position, i = position + 1, end + 1
    return None


def read_csv(handle: IO[str], report: ImportReport, delimiter: str | None) -> Iterator[_Record]:
    """Yield (line where the record starts, product input, None) for each CSV record, or (line, what could be
    read, reason) for a record that cannot become a product input. Raise InvalidRequest for a bad header."""
    lines = _Lines(handle)
    first = lines.next()
    if first is None or first[1] is None or not first[1].strip():
        raise InvalidRequest("the file is empty (no header line)" if first is None or first[1] is not None
                             else f"the header line is longer than {MAX_LINE_CHARS:,} characters")  # fmt: skip
    header_line = first[1]
    report.delimiter = delimiter = delimiter or sniff_delimiter(header_line)
    columns = _csv_columns(next(csv.reader([header_line], delimiter=delimiter)))
    while True:
        taken, values, error = _read_record(lines, delimiter)
        if not taken:
            return
        start = taken[0][0]
        if len(taken) > 1 and (why := _unclosed_quote(taken, values, error, columns, delimiter)):
            lines.push(taken[1:])  # the lines after the open quote are read again as records of their own
            yield start, None, f"unclosed quote: {why}; the lines after it are read as records of their own"
            continue
        if error is not None:
            yield start, None, error if taken[-1][1] is None else f"unreadable CSV record: {error}"
            continue
        assert values is not None
        if not values or not any(v.strip() for v in values):
            continue
        if any('"' in v for v in values) and (stray := _stray_quote("".join(t or "" for _, t in taken), delimiter)):
            name = columns[stray - 1] if stray <= len(columns) else ""
            yield (
                start,
                None,
                f"a quote inside the unquoted value of column {stray}{f' ({name})' if name else ''}: "
                "quote the whole value and double the quotes inside it",
            )
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
    match_by: str = "sku",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every product of a CSV or JSON Lines file (matched as store.find_existing says with `match_by`:
    "sku" or "ean"); see the module docstring. A file without any product row raises InvalidRequest."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"no such file: {path}")
    fmt = format_of(path, fmt)
    if match_by not in store.MATCH_MODES:
        raise InvalidRequest(f"must be one of {', '.join(store.MATCH_MODES)}, got {match_by!r}", "match_by")
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
            _import_rows(read_csv(handle, report, delimiter), report, create_categories, match_by, progress)
    else:
        with path.open("rb") as binary:
            _import_rows(read_jsonl(binary), report, create_categories, match_by, progress)
    if report.created + report.updated + report.rejected == 0:
        rows = "a header line but no product rows" if fmt == "csv" else "no product lines"
        raise InvalidRequest(f"the file is empty: {rows} in {path.name}")
    return report


def _import_rows(
    records: Iterator[_Record],
    report: ImportReport,
    create_categories: bool,
    match_by: str,
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
                    _product, created = store.upsert_product(row, categories, suppliers, match_by=match_by)
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
