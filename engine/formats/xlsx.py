"""XLSX writer: streamed workbooks (xlsxwriter constant_memory), split every `max_rows` products.

Each file is self-contained: a Products sheet (bold, frozen header row; numbers as numbers, money with two
decimals shown, dates as dates) plus the optional Suppliers and Categories reference sheets. Text cells a
spreadsheet could run as a formula are neutralised, and text is cut at Excel's 32,767 characters per cell.
Integers of 16 digits or more are written as text: Excel keeps only 15 significant digits. The reference
sheets always have their header row; `header` is about the products sheet.

Crash recovery: a zip cannot be appended to, so a checkpoint lists the finished files and, when the current
one has rows, `replay_after_id`: the id just before its first product. `resume()` keeps the finished files,
drops the current one with its temp files and starts it again; the pipeline feeds every product with a
greater id (rows of that product already in the previous file are skipped). A file is finished as soon as
it is full, so a checkpoint at a boundary has nothing to replay. The document creation time is
`ctx.created_at` (else the first run's start time), carried in the state: the same rows give the same bytes.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Self

import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from engine.errors import OutputError, TemplateError
from engine.formats.base import FORMULA_PREFIXES, OutputFile, ValueKind, WriterBase, WriterContext
from engine.formats.values import (
    bool_option,
    check_state,
    existing_size,
    new_state,
    output_path,
    reject_unknown_options,
    render_text,
    resumed_path,
    state_count,
    sync_folder,
    sync_path,
)

EXCEL_MAX_ROWS = 1_048_576  # rows per sheet, the header row included
EXCEL_MAX_CELL_TEXT = 32_767
EXCEL_MAX_DIGITS = 15
DEFAULT_MAX_ROWS = 50_000
SHEET_KEYS = ("products", "suppliers", "categories")
DEFAULT_SHEETS: dict[str, str | None] = {"products": "Products", "suppliers": None, "categories": None}
_FORBIDDEN_IN_SHEET_NAME = set("[]:*?/\\")
WIDTH_SAMPLE_ROWS = 200
TMPDIR_PREFIX = ".xlsx-tmp-"  # xlsxwriter's constant_memory files, inside the job's folder
MIN_WIDTH, MAX_WIDTH = 8, 60

# reference sheets: (header, key in the dicts the context yields)
SUPPLIER_COLUMNS = (("Code", "code"), ("Name", "name"), ("Country", "country"), ("Products", "products"))
CATEGORY_COLUMNS = (("ID", "id"), ("Name", "name"), ("Path", "path"), ("Parent ID", "parent_id"), ("Depth", "depth"))

_BIG_INT = 10**EXCEL_MAX_DIGITS

# ---------------------------------------------------------------------------------------------------------
# Options


def _max_rows_option(options: Mapping[str, Any]) -> int:
    value = options.get("max_rows", DEFAULT_MAX_ROWS)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TemplateError(f"must be a whole number of rows, not {value!r}", "options.max_rows")
    if value < 1:
        raise TemplateError(f"must be at least 1, not {value}", "options.max_rows")
    if value > EXCEL_MAX_ROWS - 1:
        raise TemplateError(
            f"must be at most {EXCEL_MAX_ROWS - 1:,}: an Excel sheet holds {EXCEL_MAX_ROWS:,} rows, "
            f"one of them the header (got {value:,})",
            "options.max_rows",
        )
    return value


def _utc_seconds(moment: datetime) -> datetime:
    """A creation time as xlsxwriter writes it: naive UTC, whole seconds (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _sheets_option(options: Mapping[str, Any]) -> dict[str, str | None]:
    value = options.get("sheets", DEFAULT_SHEETS)
    if not isinstance(value, Mapping):
        raise TemplateError(
            "must be an object giving a sheet name (or null) for products, suppliers and categories",
            "options.sheets",
        )
    sheets = dict(DEFAULT_SHEETS)
    seen: dict[str, str] = {}
    for key, name in value.items():
        field = f"options.sheets.{key}"
        if key not in SHEET_KEYS:
            raise TemplateError(f"unknown sheet (known: {', '.join(SHEET_KEYS)})", field)
        if name is None:
            if key == "products":
                raise TemplateError("the products sheet cannot be left out", field)
            sheets[key] = None
            continue
        if not isinstance(name, str):
            raise TemplateError(f"a sheet name must be text or null, not {name!r}", field)
        sheets[key] = name
    for key in SHEET_KEYS:
        name = sheets[key]
        if name is None:
            continue
        field = f"options.sheets.{key}"
        if not name.strip():
            raise TemplateError("a sheet name cannot be empty", field)
        if _utf16_len(name) > 31:
            raise TemplateError(f"sheet name {name!r} is longer than Excel's 31 characters", field)
        bad = sorted(_FORBIDDEN_IN_SHEET_NAME & set(name))
        if bad:
            raise TemplateError(f"sheet name {name!r} cannot contain {' '.join(bad)} (Excel forbids []:*?/\\)", field)
        if name.startswith("'") or name.endswith("'"):
            raise TemplateError(f"sheet name {name!r} cannot start or end with an apostrophe", field)
        if name.casefold() == "history":
            raise TemplateError("'History' is a sheet name Excel reserves", field)
        if name.casefold() in seen:
            raise TemplateError(f"sheet name {name!r} is already used by the {seen[name.casefold()]} sheet", field)
        seen[name.casefold()] = key
    return sheets


# ---------------------------------------------------------------------------------------------------------
# Cells


@dataclass(frozen=True)
class _Formats:
    bold: Format
    money: Format
    day: Format
    moment: Format


CellWriter = Callable[[int, Any], None]  # (row, value) -> None, for one column of one worksheet


def _cell_text(text: str, escape: bool) -> str:
    if escape and text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text if len(text) <= EXCEL_MAX_CELL_TEXT else text[:EXCEL_MAX_CELL_TEXT]


def _cell_writer(ws: Worksheet, col: int, kind: ValueKind, formats: _Formats, escape: bool) -> CellWriter:
    """Write one column's cells with xlsxwriter's typed methods, by the value's actual type."""
    write_string, write_number = ws.write_string, ws.write_number
    write_datetime, write_boolean = ws.write_datetime, ws.write_boolean
    number_format = formats.money if kind == "money" else None

    def put_any(row: int, value: Any) -> None:
        if value is None:
            return  # a blank cell without a format is simply no cell
        if isinstance(value, str):
            write_string(row, col, _cell_text(value, escape))
        elif isinstance(value, bool):
            write_boolean(row, col, value)
        elif isinstance(value, int):
            if -_BIG_INT < value < _BIG_INT:
                write_number(row, col, value, number_format)
            else:
                write_string(row, col, str(value))
        elif isinstance(value, float | Decimal):
            number = float(value)
            if math.isfinite(number):
                write_number(row, col, number, number_format)
            else:
                write_string(row, col, render_text(value))
        elif isinstance(value, datetime):
            if value.year >= 1900:  # Excel has no earlier dates
                write_datetime(row, col, value, formats.moment)
            else:
                write_string(row, col, render_text(value))
        elif isinstance(value, date):
            if value.year >= 1900:
                write_datetime(row, col, value, formats.day)
            else:
                write_string(row, col, render_text(value))
        else:
            # list -> "|"-joined, dict -> JSON, anything else -> str()
            escaped = escape and isinstance(value, list | tuple)
            write_string(row, col, _cell_text(render_text(value), escaped))

    if kind in ("text", "list", "object"):

        def put_text(row: int, value: Any) -> None:
            if type(value) is str:
                write_string(row, col, _cell_text(value, escape))
            else:
                put_any(row, value)

        return put_text
    return put_any


def _text_width(value: Any) -> int:
    """Roughly how many characters a cell shows."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    if isinstance(value, float | Decimal):
        number = float(value)
        return len(f"{number:.2f}") if math.isfinite(number) else 3
    text = render_text(value)
    if "\n" in text:
        return max(len(line) for line in text.splitlines())
    return len(text)


class _Widths:
    """Column widths from the headers and the first rows, clamped to MIN_WIDTH..MAX_WIDTH."""

    def __init__(self, headers: Sequence[str]) -> None:
        self.chars = [len(h) + 2 for h in headers]  # bold headers are a little wider
        self.sampled = 0

    def sample(self, values: Iterable[Any]) -> None:
        self.sampled += 1
        chars = self.chars
        for i, value in enumerate(values):
            width = _text_width(value)
            if width > chars[i]:
                chars[i] = width

    def apply(self, ws: Worksheet) -> None:
        for col, chars in enumerate(self.chars):
            ws.set_column(col, col, float(min(MAX_WIDTH, max(MIN_WIDTH, chars + 1))))

    def snapshot(self) -> dict[str, Any]:
        return {"chars": list(self.chars), "sampled": self.sampled}

    @classmethod
    def restore(cls, data: Any, columns: int) -> _Widths:
        """The widths from a checkpoint's `snapshot()`."""
        chars = data.get("chars") if isinstance(data, Mapping) else None
        if (
            not isinstance(chars, list)
            or len(chars) != columns
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in chars)
        ):
            raise OutputError(f"cannot resume: the checkpoint's column widths do not fit {columns} columns ({data!r})")
        widths = cls([])
        widths.chars = list(chars)
        widths.sampled = state_count(data, "sampled")
        return widths


# ---------------------------------------------------------------------------------------------------------
# The writer


class _Part:
    """One workbook being written: its path, its sheets and the product rows it holds."""

    def __init__(self, path: Path, tmpdir: Path, sheets: Mapping[str, str | None], created: datetime) -> None:
        self.path = path
        self.rows = 0
        self.workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "use_zip64": True,
                "remove_timezone": True,  # Excel has no time zones; keep the wall-clock time
                "tmpdir": str(tmpdir),
            },
        )
        wb = self.workbook
        wb.set_properties({"created": created})  # else it is the time of close(): no two runs would be alike
        self.formats = _Formats(
            bold=wb.add_format({"bold": True}),
            money=wb.add_format({"num_format": "0.00"}),
            day=wb.add_format({"num_format": "yyyy-mm-dd"}),
            moment=wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        )
        # added up front so the tab order is products, suppliers, categories; each is written in turn
        self.sheets = {key: wb.add_worksheet(name) for key, name in sheets.items() if name is not None}

    def write_header(self, ws: Worksheet, headers: Sequence[str]) -> None:
        for col, header in enumerate(headers):
            ws.write_string(0, col, header, self.formats.bold)
        ws.freeze_panes(1, 0)

    def close(self) -> None:
        try:
            self.workbook.close()
        except (xlsxwriter.exceptions.XlsxWriterException, OSError) as exc:  # FileCreateError wraps OSError
            raise OutputError(f"cannot write {self.path}: {exc}") from exc

    def discard(self) -> None:
        """Drop the workbook without assembling it: close and delete its temp files, and any output."""
        self.workbook.fileclosed = True  # nothing left for close() to do
        for ws in self.sheets.values():
            with contextlib.suppress(OSError, AttributeError):
                ws._opt_close()
                Path(ws.row_data_filename).unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


class XlsxWriter(WriterBase):
    """Streams product rows into one or more workbooks of at most `max_rows` product rows each."""

    name: ClassVar[str] = "xlsx"
    extension: ClassVar[str] = "xlsx"
    content_type: ClassVar[str] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, ("max_rows", "sheets", "escape_formulas", "header"), "xlsx")
        return {
            "max_rows": _max_rows_option(options),
            "sheets": _sheets_option(options),
            "escape_formulas": bool_option(options, "escape_formulas", True),
            "header": bool_option(options, "header", True),
        }

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        return set()

    def __init__(self, ctx: WriterContext) -> None:
        self._setup(ctx)
        self._created = _utc_seconds(ctx.created_at or datetime.now(UTC))
        self._widths = _Widths(self._headers if self._header else ["" for _ in self._headers])
        self._make_tmpdir()
        try:
            self._open_part(1)
        except OutputError:
            shutil.rmtree(self._tmpdir, ignore_errors=True)  # nobody holds this writer yet to abort it
            raise

    def _setup(self, ctx: WriterContext) -> None:
        options = self.validate_options(ctx.options)
        self._ctx = ctx
        self._max_rows: int = options["max_rows"]
        self._sheets: dict[str, str | None] = options["sheets"]
        self._escape: bool = options["escape_formulas"]
        self._header: bool = options["header"]
        self._headers = [column.header for column in ctx.columns]
        self._kinds = [column.kind for column in ctx.columns]
        self._finished: list[OutputFile] = []
        self._finished_sizes: list[int] = []
        self._synced = 0  # finished parts already fsynced by a checkpoint
        self._done = False
        self._part: _Part | None = None  # None between a full part and the next row, and once closed
        self._number = 0
        # for checkpoints: the product id of the last row and how many rows in a row had it, and for the
        # current part its first row's id, the rows of that product in earlier parts, the widths it started with
        self._last_id: Any = None
        self._run = 0
        self._part_first_id: Any = None
        self._part_skip = 0
        self._part_widths: dict[str, Any] = {}
        # after a resume: rows of the first replayed product that are already in a finished part
        self._skip = 0
        self._skip_id: Any = None

    def _make_tmpdir(self) -> None:
        folder = self._ctx.folder
        try:
            self._tmpdir = Path(tempfile.mkdtemp(prefix=TMPDIR_PREFIX, dir=folder))
        except OSError as exc:
            raise OutputError(f"cannot create a temporary folder in {folder}: {exc.strerror or exc}") from exc

    # -- parts

    def _open_part(self, number: int) -> None:
        path = output_path(self._ctx, number)
        try:
            part = _Part(path, self._tmpdir, self._sheets, self._created)
        except OSError as exc:
            raise OutputError(f"cannot create {path}: {exc.strerror or exc}") from exc
        self._part = part
        self._number = number
        self._part_widths = self._widths.snapshot()
        self._part_first_id = None
        self._part_skip = 0
        products = part.sheets["products"]
        if self._header:
            part.write_header(products, self._headers)
        self._next_row = 1 if self._header else 0
        self._cells = [
            _cell_writer(products, col, kind, part.formats, self._escape) for col, kind in enumerate(self._kinds)
        ]

    def _finish_part(self) -> None:
        part = self._part
        if part is None:
            return
        self._widths.apply(part.sheets["products"])
        if "suppliers" in part.sheets:
            rows = self._ctx.iter_suppliers()
            self._reference_sheet(part, part.sheets["suppliers"], SUPPLIER_COLUMNS, rows)
        if "categories" in part.sheets:
            rows = self._ctx.iter_categories()
            self._reference_sheet(part, part.sheets["categories"], CATEGORY_COLUMNS, rows)
        part.close()
        self._part = None
        self._finished.append(OutputFile(part.path, part.rows, self.content_type))
        self._finished_sizes.append(existing_size(part.path))

    def _reference_sheet(
        self,
        part: _Part,
        ws: Worksheet,
        columns: Sequence[tuple[str, str]],
        rows: Iterable[Mapping[str, Any]],
    ) -> None:
        headers = [header for header, _ in columns]
        part.write_header(ws, headers)
        cells = [_cell_writer(ws, col, "text", part.formats, self._escape) for col in range(len(columns))]
        widths = _Widths(headers)
        for row, item in enumerate(rows, start=1):
            values = [item.get(key) for _, key in columns]
            for put, value in zip(cells, values, strict=True):
                put(row, value)
            if row <= WIDTH_SAMPLE_ROWS:
                widths.sample(values)
        widths.apply(ws)

    # -- the FormatWriter interface

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        product_id = record.get("id")
        if self._skip:
            if product_id == self._skip_id:
                self._skip -= 1  # replayed after a resume, but already in the part before
                return
            self._skip = 0
        part = self._part
        if part is None:
            if self._done:
                raise OutputError("the XLSX writer is already closed")
            self._open_part(self._number + 1)  # the previous part is full
            part = self._part
            assert part is not None
        if product_id != self._last_id:
            self._last_id = product_id
            self._run = 0
        self._run += 1
        if not part.rows:
            self._part_first_id = product_id
            self._part_skip = self._run - 1
        row = self._next_row
        try:
            for put, value in zip(self._cells, values):  # noqa: B905 - hot path, lengths match
                put(row, value)
        except OSError as exc:  # the constant_memory temp file lives on disk
            raise OutputError(f"cannot write {part.path}: {exc.strerror or exc}") from exc
        self._next_row = row + 1
        part.rows += 1
        if self._widths.sampled < WIDTH_SAMPLE_ROWS:
            self._widths.sample(values)
        if part.rows == self._max_rows:
            self._finish_part()  # now rather than at the next row: a checkpoint here has nothing to replay

    def checkpoint(self) -> dict[str, Any]:
        """The finished parts, and where the pipeline must replay from to rebuild the current one.

        {"format": "xlsx", "version": 1, "created": ISO time, "parts": [{"file", "rows", "size"}...],
        "widths": {...}, and when the current part has rows: "replay_after_id": N, "replay_skip_rows": k}.
        """
        if self._done:
            raise OutputError("the XLSX writer is already closed")
        if self._synced < len(self._finished):
            for output in self._finished[self._synced :]:
                sync_path(output.path)
            sync_folder(self._ctx.folder)
            self._synced = len(self._finished)
        parts = [
            {"file": output.path.name, "rows": output.rows, "size": size}
            for output, size in zip(self._finished, self._finished_sizes, strict=True)
        ]
        state = new_state(self.name, created=self._created.isoformat(), parts=parts)
        part = self._part
        if part is None or not part.rows:
            state["widths"] = self._widths.snapshot()
            return state
        first_id = self._part_first_id
        if not isinstance(first_id, int) or isinstance(first_id, bool):
            raise OutputError(
                f"cannot checkpoint the XLSX export: rows must come with an integer record['id'] so that the "
                f"current file can be rebuilt after a crash (got {first_id!r})"
            )
        state["widths"] = dict(self._part_widths, chars=list(self._part_widths["chars"]))
        state["replay_after_id"] = first_id - 1
        state["replay_skip_rows"] = self._part_skip
        return state

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> Self:
        """Keep the finished parts, drop the one being written and start it afresh (the pipeline replays it)."""
        check_state(state, cls.name)
        writer = cls.__new__(cls)
        writer._setup(ctx)
        try:
            writer._created = datetime.fromisoformat(state["created"])
        except (KeyError, TypeError, ValueError):
            raise OutputError(
                f"cannot resume: the checkpoint's 'created' is not a time ({state.get('created')!r})"
            ) from None
        parts = state.get("parts")
        if not isinstance(parts, list) or not all(isinstance(entry, Mapping) for entry in parts):
            raise OutputError(f"cannot resume: the checkpoint's 'parts' is not a list of files ({parts!r})")
        for number, entry in enumerate(parts, start=1):
            path = resumed_path(ctx, entry.get("file"), number)
            size, expected = existing_size(path), state_count(entry, "size")
            if size != expected:
                raise OutputError(
                    f"cannot resume: {path} holds {size} bytes but held {expected} when it was finished; "
                    "the export must start again"
                )
            writer._finished.append(OutputFile(path, state_count(entry, "rows"), cls.content_type))
            writer._finished_sizes.append(size)
        writer._synced = len(parts)
        writer._number = len(parts)
        writer._widths = _Widths.restore(state.get("widths"), len(writer._headers))
        replay_after: int | None = None
        skip = 0
        if state.get("replay_after_id") is not None:
            replay_after = state["replay_after_id"]
            if not isinstance(replay_after, int) or isinstance(replay_after, bool):
                raise OutputError(f"cannot resume: the checkpoint's 'replay_after_id' is not an id ({replay_after!r})")
            skip = state_count(state, "replay_skip_rows")

        # what the killed writer left after the checkpoint: the parts it went on to write, its temp folders
        number = len(parts) + 1
        try:
            while (path := output_path(ctx, number)).exists():
                path.unlink()
                number += 1
        except OSError as exc:
            raise OutputError(f"cannot resume: cannot remove {path}: {exc.strerror or exc}") from exc
        for stale in ctx.folder.glob(TMPDIR_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)

        writer._make_tmpdir()
        if replay_after is not None or not parts:
            try:
                writer._open_part(len(parts) + 1)
            except OutputError:
                shutil.rmtree(writer._tmpdir, ignore_errors=True)
                raise
        if skip and replay_after is not None:  # the first replayed product began in the previous part
            writer._skip, writer._skip_id = skip, replay_after + 1
            writer._last_id, writer._run = replay_after + 1, skip
        return writer

    def close(self) -> list[OutputFile]:
        if not self._done:
            self._finish_part()
            self._done = True
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        return list(self._finished)

    def abort(self) -> None:
        if self._part is not None:
            self._part.discard()
            self._part = None
        for output in self._finished:
            output.path.unlink(missing_ok=True)
        self._done = True
        shutil.rmtree(self._tmpdir, ignore_errors=True)
