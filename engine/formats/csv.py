"""CSV writer: one streamed file, Excel-friendly by default (UTF-8 with BOM, `;`, CRLF, formulas neutralised).

Cells are rendered by the value's actual type (a per-column converter picks the fast path for the column's
kind once): None -> "", bool -> 1/0, Decimal -> fixed point (money: 2 decimals, half up), float -> shortest
repr, date -> YYYY-MM-DD, datetime -> YYYY-MM-DD HH:MM:SS, list -> "|"-joined, dict -> compact JSON.

Characters the chosen encoding cannot hold (in practice only with ISO-8859-1, or lone surrogates in bad
data) follow `encoding_errors`: "transliterate" (default) folds each one to its closest Latin-1/ASCII form
(NFKD without accents, plus a table: "œ" -> "oe", "€" -> "EUR", dashes -> "-", curly quotes -> straight ones,
"…" -> "...") and writes "?" for whatever is left (e.g. CJK); "replace" writes "?"; "strict" stops the export
with an OutputError naming the product row and the column.

Crash recovery: `checkpoint()` fsyncs the file and records its size after the last complete row;
`resume()` cuts the file back to that size and appends (the utf-8-sig codec writes no second BOM at a non-zero
position, and the header is not written again), so the finished file is the same, byte for byte.

Option `companion` ({"suffix": "-combinations", "from_column": header, "rows": [row kinds]}): the rows of those
kinds go to a second file, named after the main one with the suffix, holding the columns from `from_column` on;
the other rows go to the main file with the columns before it (PrestaShop imports combinations from a second
file). Each file has its own header, checkpoint and resume.

Value rendering and option checks shared with the other writers live in `engine.formats.values`.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import functools
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, Self, TextIO, cast

from engine.errors import OutputError, TemplateError
from engine.formats.base import FORMULA_PREFIXES, OutputFile, ValueKind, WriterBase, WriterContext
from engine.formats.values import (
    bool_option,
    choice_option,
    close_output,
    discard_output,
    new_state,
    output_path,
    reject_unknown_options,
    render_text,
    resume_single_file,
    sync_file,
    sync_folder,
)

# ---------------------------------------------------------------------------------------------------------
# Encoding errors

_FOLD = {
    "œ": "oe",
    "Œ": "OE",
    "€": "EUR",
    "—": "-",
    "–": "-",
    "‒": "-",
    "―": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "‘": "'",
    "’": "'",
    "‚": ",",
    "‛": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "‹": "<",
    "›": ">",
    "•": "*",
    "⁄": "/",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "ƒ": "f",
    "→": "->",
    "←": "<-",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "\u200b": "",  # zero-width space
    "\u200d": "",  # zero-width joiner
    "\ufeff": "",  # BOM / zero-width no-break space
}


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """Closest Latin-1 spelling of one character that Latin-1 cannot hold; "?" when there is none."""
    if char in _FOLD:
        return _FOLD[char]
    decomposed = unicodedata.normalize("NFKD", char)
    if decomposed == char:
        return "?"
    parts = []
    for part in decomposed:
        if unicodedata.combining(part):
            continue
        parts.append(part if ord(part) < 256 else _fold(part))
    return "".join(parts) or "?"


def _transliterate(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join([_fold(c) for c in error.object[error.start : error.end]]), error.end


TRANSLITERATE = "pm_exports.transliterate"
codecs.register_error(TRANSLITERATE, _transliterate)

# ---------------------------------------------------------------------------------------------------------
# Options

ENCODINGS = {
    "utf-8-sig": "utf-8-sig",
    "utf-8-bom": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "iso-8859-1": "iso-8859-1",
    "iso8859-1": "iso-8859-1",
    "latin-1": "iso-8859-1",
    "latin1": "iso-8859-1",
}
ENCODING_ERRORS = {"transliterate": "transliterate", "replace": "replace", "strict": "strict"}
_ERROR_HANDLERS = {"transliterate": TRANSLITERATE, "replace": "replace", "strict": "strict"}
SEPARATORS = {
    ";": ";",
    "semicolon": ";",
    ",": ",",
    "comma": ",",
    "\t": "\t",
    "tab": "\t",
    "\\t": "\t",
}
QUOTING = {"minimal": "minimal", "all": "all"}
LINE_TERMINATORS = {"\r\n": "\r\n", "crlf": "\r\n", "\\r\\n": "\r\n", "\n": "\n", "lf": "\n", "\\n": "\n"}
EXTENSIONS = {"csv": "csv", "tsv": "tsv", "txt": "txt"}
_KNOWN = (
    "companion",
    "extension",
    "encoding",
    "encoding_errors",
    "separator",
    "quoting",
    "header",
    "escape_formulas",
    "line_terminator",
)

# ---------------------------------------------------------------------------------------------------------
# Per-column converters: each returns a str (or an int/float, which the csv module renders itself)

Converter = Callable[[Any], Any]
_CENT = Decimal("0.01")
_call = operator.call
_PREFIX_CHARS = "".join(FORMULA_PREFIXES)
assert len(_PREFIX_CHARS) == len(FORMULA_PREFIXES), "the fast formula check needs one-character prefixes"


def _money_text(value: Decimal) -> str:
    try:
        return format(value.quantize(_CENT, rounding=ROUND_HALF_UP), "f")
    except InvalidOperation:  # NaN, infinity or more digits than the context holds
        return format(value, "f")


def _make_fallback(escape: bool, lf_only: bool, money: bool) -> Converter:
    """The general path, for a value whose type is not the one its column usually has."""
    prefixes = FORMULA_PREFIXES

    def convert(value: Any) -> Any:
        if value is None:
            return None  # the csv module writes an empty field
        if isinstance(value, bool):
            return "1" if value else "0"
        if money and isinstance(value, Decimal | int | float):
            if isinstance(value, float):
                return format(value, ".2f") if math.isfinite(value) else repr(value)
            return _money_text(Decimal(value))
        if isinstance(value, int | float):
            return value  # the csv module writes str(int) and repr(float)
        text = render_text(value)
        if lf_only and "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if escape and isinstance(value, str | list | tuple) and text.startswith(prefixes):
            return "'" + text
        return text

    return convert


def _decimal_text(value: Decimal) -> str:
    text = str(value)  # 4x faster than format(value, "f"); differs only in scientific notation
    return format(value, "f") if "E" in text else text


def _make_converter(kind: ValueKind, escape: bool, lf_only: bool) -> Converter:
    """The converter for one column: a fast path for the kind's usual type, else the general path."""
    fallback = _make_fallback(escape, lf_only, money=kind == "money")
    first = _PREFIX_CHARS  # value[0] in a str: about half the cost of str.startswith(tuple)

    if kind == "list":

        def listing(value: Any) -> Any:
            if type(value) is list:
                try:
                    text = "|".join(value)
                except TypeError:  # not only text inside
                    text = render_text(value)
                if lf_only and "\r" in text:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                return "'" + text if escape and text and text[0] in first else text
            return fallback(value)

        return listing

    if kind in ("text", "object"):
        if lf_only:
            # csv quotes only the characters of its line terminator: a bare CR would end the record
            def text_lf(value: Any) -> Any:
                if type(value) is str and "\r" not in value:
                    return "'" + value if escape and value and value[0] in first else value
                return fallback(value)

            return text_lf
        if escape:

            def text(value: Any) -> Any:
                if type(value) is str:
                    return "'" + value if value and value[0] in first else value
                return fallback(value)

            return text

        def plain_text(value: Any) -> Any:
            return value if type(value) is str else fallback(value)

        return plain_text

    if kind == "integer":

        def integer(value: Any) -> Any:
            return value if type(value) is int or value is None else fallback(value)

        return integer

    if kind == "decimal":

        def decimal(value: Any) -> Any:
            return _decimal_text(value) if type(value) is Decimal else fallback(value)

        return decimal

    if kind == "money":

        def money(value: Any) -> Any:
            if type(value) is Decimal:
                text = str(value)
                # already two decimals ("12.50", "-0.99"); scientific notation never has "." there
                return text if text[-3:-2] == "." else _money_text(value)
            return fallback(value)

        return money

    if kind == "date":

        def day(value: Any) -> Any:
            return value if type(value) is date else fallback(value)  # csv writes str(date): YYYY-MM-DD

        return day

    if kind == "datetime":

        def moment(value: Any) -> Any:
            if type(value) is datetime and not value.microsecond and value.tzinfo is None:
                return value  # csv writes str(datetime): YYYY-MM-DD HH:MM:SS
            return fallback(value)

        return moment

    if kind == "bool":

        def boolean(value: Any) -> Any:
            if value is True:
                return "1"
            if value is False:
                return "0"
            return fallback(value)

        return boolean

    return fallback


# ---------------------------------------------------------------------------------------------------------
# The row renderer: converters and CSV quoting in one function compiled per template
#
# csv.writer tests every character of every field against the line terminator with a call (about 90 machine
# instructions a character: the long HTML descriptions make it the biggest cost of an export), and the per-column
# converters cost a Python call per cell. The renderer below gives the same bytes for less: each cell takes its
# converter's fast path inline (the converter itself is called only when its fast path would not return the value
# as is), then one regex scan decides whether the cell needs quotes. The function's code is made from the fixed
# snippets below and column positions only (no template text goes into it); tests/test_formats_csv.py checks its
# output against csv.writer's, byte for byte, over every kind, option and awkward value.

RowRenderer = Callable[[Sequence[Any]], str | None]

# A cell's value when the converter `c` would return the value `v` unchanged (its fast path), else `c(v)`.
_INLINE = {
    "text": "v if type(v) is str and not (v and v[0] in FIRST) else c(v)",
    "text_lf": 'v if type(v) is str and "\\r" not in v and not (v and v[0] in FIRST) else c(v)',
    "plain_text": "v if type(v) is str else c(v)",
    "plain_text_lf": 'v if type(v) is str and "\\r" not in v else c(v)',
    "integer": "v if type(v) is int or v is None else c(v)",
    "decimal": '(t if "E" not in (t := str(v)) else c(v)) if type(v) is Decimal else c(v)',
    "money": '(t if (t := str(v))[-3:-2] == "." else c(v)) if type(v) is Decimal else c(v)',
    "date": "v if type(v) is date else c(v)",
    "datetime": "v if type(v) is datetime and not v.microsecond and v.tzinfo is None else c(v)",
    "bool": '"1" if v is True else "0" if v is False else c(v)',
}
# The converted cell `t` as CSV text: csv.writer writes None as an empty field and anything else as str().
_QUOTED_WHEN_NEEDED = (
    '(t if not NEEDS(t) else QUOTE(t)) if type(t) is str else "" if t is None else '
    "(s if not NEEDS(s := str(t)) else QUOTE(s))"
)
_NAME_V, _NAME_C = re.compile(r"\bv\b"), re.compile(r"\bc\(")  # the snippets' value and converter
_ALWAYS_QUOTED = "QUOTE(t) if type(t) is str else '\"\"' if t is None else QUOTE(str(t))"


def _inline_key(kind: ValueKind, escape: bool, lf_only: bool) -> str | None:
    if kind in ("text", "object"):
        return ("text" if escape else "plain_text") + ("_lf" if lf_only else "")
    return kind if kind in _INLINE else None


def _row_renderer(
    kinds: Sequence[ValueKind], converters: Sequence[Converter], options: Mapping[str, Any]
) -> RowRenderer | None:
    """A function turning a row's values into its CSV line (None for a row that has not one value per column:
    the caller writes that one through csv.writer); None when csv.writer must write every row (a single column:
    csv.writer writes an empty lone field as "")."""
    if len(kinds) < 2:
        return None
    separator, terminator = options["separator"], options["line_terminator"]
    special = "".join(sorted({separator, '"', *terminator}))
    cells = []
    for n, kind in enumerate(kinds):
        key = _inline_key(kind, options["escape_formulas"], terminator == "\n")
        value = _NAME_V.sub(f"v{n}", _NAME_C.sub(f"c{n}(", _INLINE[key] if key else "c(v)"))
        text = _ALWAYS_QUOTED if options["quoting"] == "all" else _QUOTED_WHEN_NEEDED
        cells.append(text.replace("type(t)", f"type(t := ({value}))", 1))
    names = ", ".join(f"v{n}" for n in range(len(kinds)))
    source = (
        f"def render(values):\n"
        f"    if len(values) != {len(kinds)}:\n"
        f"        return None\n"
        f"    {names}, = values\n"
        f"    return SEPARATOR.join((\n        " + ",\n        ".join(cells) + ",\n    )) + TERMINATOR\n"
    )
    namespace: dict[str, Any] = {
        "FIRST": _PREFIX_CHARS,
        "Decimal": Decimal,
        "date": date,
        "datetime": datetime,
        "NEEDS": re.compile(f"[{re.escape(special)}]").search,
        "QUOTE": lambda text: '"' + text.replace('"', '""') + '"',
        "SEPARATOR": separator,
        "TERMINATOR": terminator,
        **{f"c{n}": convert for n, convert in enumerate(converters)},
    }
    exec(compile(source, "<csv row renderer>", "exec"), namespace)  # noqa: S102 - fixed snippets, see above
    return cast(RowRenderer, namespace["render"])


# ---------------------------------------------------------------------------------------------------------
# The writer

_COMPANION_KEYS = {"suffix", "from_column", "rows"}
_SUFFIX = re.compile(r"^-[a-z0-9][a-z0-9_-]{0,39}$")


def _companion_option(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    where = "options.companion"
    if not isinstance(value, Mapping) or set(value) != _COMPANION_KEYS:
        raise TemplateError("must be an object {suffix, from_column, rows}", where)
    if not isinstance(value["suffix"], str) or not _SUFFIX.match(value["suffix"]):
        raise TemplateError("suffix must be - then 1 to 40 lower-case letters, digits, - or _", f"{where}.suffix")
    if not isinstance(value["from_column"], str) or not value["from_column"]:
        raise TemplateError("must name the companion file's first column", f"{where}.from_column")
    rows = value["rows"]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, str) and r for r in rows):
        raise TemplateError("must be a list of row kinds (e.g. variation)", f"{where}.rows")
    return {"suffix": value["suffix"], "from_column": value["from_column"], "rows": list(rows)}


class CsvWriter(WriterBase):
    """Streams rows into one CSV file."""

    name: ClassVar[str] = "csv"
    extension: ClassVar[str] = "csv"
    content_type: ClassVar[str] = "text/csv"
    _companion: CsvWriter | None  # the second file of `options.companion`

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, _KNOWN, "csv")
        separator = choice_option(options, "separator", ";", SEPARATORS)
        return {
            # the file's extension: tab-separated files are .tsv unless the template says otherwise (Amazon: txt)
            "extension": choice_option(options, "extension", "tsv" if separator == "\t" else "csv", EXTENSIONS),
            "encoding": choice_option(options, "encoding", "utf-8-sig", ENCODINGS),
            "encoding_errors": choice_option(options, "encoding_errors", "transliterate", ENCODING_ERRORS),
            "separator": choice_option(options, "separator", ";", SEPARATORS),
            "quoting": choice_option(options, "quoting", "minimal", QUOTING),
            "header": bool_option(options, "header", True),
            "escape_formulas": bool_option(options, "escape_formulas", True),
            "line_terminator": choice_option(options, "line_terminator", "\r\n", LINE_TERMINATORS),
            "companion": _companion_option(options.get("companion")),
        }

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        return set()

    @classmethod
    def file_extension(cls, options: Mapping[str, Any]) -> str:
        """The validated `extension` option: csv, or tsv for tab-separated files, or what the template chose."""
        return str(cls.validate_options(options)["extension"])

    def __init__(self, ctx: WriterContext) -> None:
        self._setup(ctx)
        self._rows = 0
        if self._companion_ctx is not None:
            self._companion = CsvWriter(self._companion_ctx)
        self._open("w")
        if self._header:
            headers: list[Any] = self._headers
            if self._lf_only:
                headers = [h.replace("\r\n", "\n").replace("\r", "\n") for h in self._headers]
            try:
                self._emit(headers, "the header row")
            except OutputError:
                self.abort()  # nobody holds this writer yet to abort it
                raise

    def _setup(self, ctx: WriterContext) -> None:
        options = self.validate_options(ctx.options)
        self._companion = None
        self._companion_ctx: WriterContext | None = None
        self._split: int | None = None
        companion = options["companion"]
        if companion is not None:
            ctx = self._split_context(ctx, options, companion)
        self._options = options
        self._encoding: str = options["encoding"]
        self._header: bool = options["header"]
        self._headers = [column.header for column in ctx.columns]
        self._lf_only = options["line_terminator"] == "\n"
        self._converters = [_make_converter(c.kind, options["escape_formulas"], self._lf_only) for c in ctx.columns]
        self._render = _row_renderer([c.kind for c in ctx.columns], self._converters, options)
        self._path = output_path(ctx, 1)
        self._done: list[OutputFile] | None = None
        self._folder_synced = False

    def _open(self, mode: Literal["w", "a"]) -> None:
        options = self._options
        try:
            # in "a" mode at a non-zero position, the utf-8-sig codec knows the BOM is already there
            self._file: TextIO = open(  # noqa: SIM115 - closed in close()/abort()
                self._path,
                mode,
                encoding=self._encoding,
                errors=_ERROR_HANDLERS[options["encoding_errors"]],
                newline="",
            )
        except OSError as exc:
            raise OutputError(
                f"cannot {'create' if mode == 'w' else 'reopen'} {self._path}: {exc.strerror or exc}"
            ) from exc
        self._writer = csv.writer(
            self._file,
            delimiter=options["separator"],
            quotechar='"',
            doublequote=True,
            quoting=csv.QUOTE_ALL if options["quoting"] == "all" else csv.QUOTE_MINIMAL,
            lineterminator=options["line_terminator"],
        )
        self._writerow = self._writer.writerow
        self._write_text = self._file.write

    def _split_context(
        self, ctx: WriterContext, options: Mapping[str, Any], companion: Mapping[str, Any]
    ) -> WriterContext:
        """The main file's context (the columns before `from_column`); prepares the companion file's."""
        headers = [column.header for column in ctx.columns]
        if companion["from_column"] not in headers[1:]:
            raise TemplateError(
                f"{companion['from_column']!r} is not a column after the first one", "options.companion.from_column"
            )
        self._split = headers.index(companion["from_column"])
        self._companion_kinds = frozenset(companion["rows"])
        main_name = ctx.file_name
        stem_of = lambda part: main_name(part).rpartition(".")  # noqa: E731
        self._companion_ctx = dataclasses.replace(
            ctx,
            columns=ctx.columns[self._split :],
            file_name=lambda part: f"{stem_of(part)[0]}{companion['suffix']}.{stem_of(part)[2]}",
            options={**options, "companion": None},
        )
        return dataclasses.replace(ctx, columns=ctx.columns[: self._split])

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> Self:
        """Continue after the checkpoint's last row: the file is cut back there and appended to."""
        writer = cls.__new__(cls)
        writer._setup(ctx)
        if writer._companion_ctx is not None:
            writer._companion = CsvWriter.resume(writer._companion_ctx, state.get("companion") or {})
        writer._path, writer._rows = resume_single_file(ctx, state, cls.name)
        writer._open("a")
        return writer

    def checkpoint(self) -> dict[str, Any]:
        """{"format": "csv", "version": 1, "file": name, "offset": bytes of complete rows, "rows": product rows}."""
        if self._done is not None:
            raise OutputError("the CSV writer is already closed")
        offset = sync_file(self._file, self._path)
        if not self._folder_synced:  # the file's entry in the folder must survive a machine crash too
            sync_folder(self._path.parent)
            self._folder_synced = True
        state = new_state(self.name, file=self._path.name, offset=offset, rows=self._rows)
        if self._companion is not None:
            state["companion"] = self._companion.checkpoint()
        return state

    def _emit(self, cells: Sequence[Any], where: str) -> None:
        try:
            self._writerow(cells)
        except UnicodeEncodeError as exc:
            raise OutputError(self._encoding_message(cells, where, exc)) from None
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc

    def _encoding_message(self, cells: Sequence[Any], where: str, exc: UnicodeEncodeError) -> str:
        for header, cell in zip(self._headers, cells, strict=False):
            if isinstance(cell, str):
                try:
                    cell.encode(self._encoding)
                except UnicodeEncodeError as cell_exc:
                    bad = cell_exc.object[cell_exc.start : cell_exc.end]
                    return (
                        f"{where}, column {header!r}: {bad!r} cannot be written in {self._encoding} "
                        f"(options.encoding_errors is 'strict'; use 'transliterate' or 'replace')"
                    )
        return f"{where}: {exc.reason} in {self._encoding} (options.encoding_errors is 'strict')"

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        if self._split is not None:
            assert self._companion is not None
            if (record.get("row") or {}).get("kind") in self._companion_kinds:
                self._companion.write(values[self._split :], record)
                return
            values = values[: self._split]
        self._rows += 1
        try:
            line = self._render(values) if self._render is not None else None
            if line is not None:
                self._write_text(line)
            else:  # map() + operator.call and no intermediate list: the cheapest per-cell dispatch in CPython
                self._writerow(map(_call, self._converters, values))
        except UnicodeEncodeError as exc:
            cells = list(map(_call, self._converters, values))
            raise OutputError(self._encoding_message(cells, f"product row {self._rows}", exc)) from None
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc

    def close(self) -> list[OutputFile]:
        if self._done is None:
            close_output(self._file, self._path)
            self._done = [OutputFile(self._path, self._rows, self.content_type)]
            if self._companion is not None:
                suffix = self._options["companion"]["suffix"]
                self._done += [dataclasses.replace(o, suffix=suffix) for o in self._companion.close()]
        return list(self._done)

    def abort(self) -> None:
        if self._companion is not None:
            self._companion.abort()
        discard_output(self._file, self._path)
