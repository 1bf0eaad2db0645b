"""Amazon inventory flat file filled into the category template the merchant downloaded from Seller Central.

A category template's upload sheet starts with three header rows: `TemplateType=...` with its version and
signature, the column labels, then the attribute names (`feed_product_type`, `item_sku`...). Seller Central reads
the file by those rows, so they are copied as they are, and each row goes under the attribute names: a column's
header is an attribute name of the template (an attribute the template lacks is an error naming it), the
template's other columns stay empty. Tab-separated UTF-8, like the `Text (Tab delimited)` file of the sheet.

Option `valid_values`: the template's "Valid Values" sheet saved as tab-delimited text in the inputs folder. Each of
its rows names a column (by its label from row 2, e.g. `Product Type`, or its attribute name, optionally followed
by ` - [ ... ]`) in one of its first two cells and lists the values Seller Central accepts in the cells after it.
A cell of such a column holding another value stops the export with an error naming the product, the value and
the accepted ones (Seller Central would refuse the row on upload): `feed_product_type` from the category mapping
is checked this way.

Options: `category_template`, the file name of that sheet saved as tab-delimited text in the inputs folder
(`<var>/inputs`: the merchant's own files; required when the export runs, as the template is the merchant's),
and the CSV options `encoding_errors`, `escape_formulas`, `line_terminator`, `quoting`.
"""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import OutputError, TemplateError
from engine.formats.base import WriterContext
from engine.formats.csv import CsvWriter
from engine.formats.values import reject_unknown_options

MAX_TEMPLATE_BYTES = 4 * 1024 * 1024  # the three header rows are read from at most this much of the file
MAX_TEMPLATE_COLUMNS = 2000
TEMPLATE_EXTENSIONS = (".txt", ".tsv")
# what Seller Central reads: tab-separated UTF-8 text, no header of ours (the template's rows are the header)
FIXED = {"separator": "\t", "encoding": "utf-8", "header": False, "extension": "txt", "companion": None}
MAX_VALID_VALUES = 5000  # accepted values per column
_KNOWN = (
    "category_template",
    "valid_values",
    "encoding_errors",
    "escape_formulas",
    "line_terminator",
    "quoting",
    *FIXED,
)


def _template_name(options: Mapping[str, Any], option: str = "category_template") -> str | None:
    name = options.get(option)
    where = f"options.{option}"
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise TemplateError("must be a file name of 1 to 255 characters", where)
    name = name.strip()
    if Path(name).name != name or name.startswith(".") or "\\" in name:
        raise TemplateError("must be a plain file name in the inputs folder", where)
    if not name.lower().endswith(TEMPLATE_EXTENSIONS):
        raise TemplateError("must be the sheet saved as tab-delimited text (.txt, .tsv)", where)
    return name


def _read_input(path: Path, option: str, sheet: str) -> tuple[int, str]:
    """(bytes read, text) of at most MAX_TEMPLATE_BYTES + 1 bytes of a sheet the merchant saved in the inputs
    folder; raise OutputError naming the option when it is missing, unreadable or not UTF-8."""
    try:
        with path.open("rb") as file:
            head = file.read(MAX_TEMPLATE_BYTES + 1)
    except FileNotFoundError:
        raise OutputError(
            f"options.{option}: {path.name!r} is not in the inputs folder {path.parent}: save the {sheet} "
            "there as tab-delimited text"
        ) from None
    except OSError as exc:
        raise OutputError(f"options.{option}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return len(head), head.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutputError(f"options.{option}: {path.name!r} is not UTF-8 text") from None


def read_valid_values(path: Path, header_rows: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """{attribute name: accepted values} from the template's "Valid Values" sheet saved as tab-delimited text."""
    size, text = _read_input(path, "valid_values", "category template's Valid Values sheet")
    if size > MAX_TEMPLATE_BYTES:
        raise OutputError(f"options.valid_values: {path.name!r} is larger than {MAX_TEMPLATE_BYTES} bytes")
    labels, names = header_rows[1], header_rows[2]
    by_label = {label.strip().casefold(): name.strip() for label, name in zip(labels, names, strict=False) if name}
    by_label.update({name.strip().casefold(): name.strip() for name in names if name.strip()})
    out: dict[str, list[str]] = {}
    for row in csv.reader(io.StringIO(text, newline=""), delimiter="\t"):
        for i, cell in enumerate(row[:2]):
            label = cell.split(" - [", 1)[0].strip().casefold()
            if label in by_label:
                values = [v.strip() for v in row[i + 1 :] if v.strip()][:MAX_VALID_VALUES]
                if values:
                    out.setdefault(by_label[label], []).extend(values)
                break
    return out


def read_header_rows(path: Path) -> list[list[str]]:
    """The three header rows of a category template saved as tab-delimited text; raise OutputError when the file
    is missing, too large to be a template, or does not start with `TemplateType=`."""
    size, text = _read_input(
        path, "category_template", "upload sheet of the category template downloaded from Seller Central"
    )
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))[:3]
    if len(rows) < 3 or (size > MAX_TEMPLATE_BYTES and len(rows[2]) < 2):
        raise OutputError(f"options.category_template: {path.name!r} does not have Amazon's three header rows")
    if not rows[0] or not rows[0][0].startswith("TemplateType="):
        raise OutputError(
            f"options.category_template: {path.name!r} does not start with TemplateType=: it is not the upload "
            "sheet of an Amazon category template"
        )
    if len(rows[2]) > MAX_TEMPLATE_COLUMNS:
        raise OutputError(f"options.category_template: more than {MAX_TEMPLATE_COLUMNS} columns")
    return rows


class AmazonFlatFileWriter(CsvWriter):
    """Streams rows into the merchant's Amazon category template (its three header rows, then the products)."""

    name: ClassVar[str] = "amazon_flat_file"
    extension: ClassVar[str] = "txt"
    content_type: ClassVar[str] = "text/tab-separated-values"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, _KNOWN, cls.name)
        for name, fixed in FIXED.items():
            if name in options and options[name] != fixed:
                raise TemplateError(f"is always {fixed!r} in an Amazon flat file", f"options.{name}")
        csv_options = {k: v for k, v in options.items() if k not in ("category_template", "valid_values")}
        out = CsvWriter.validate_options({**csv_options, **FIXED})
        out["category_template"] = _template_name(options)
        out["valid_values"] = _template_name(options, "valid_values")
        return out

    @classmethod
    def file_extension(cls, options: Mapping[str, Any]) -> str:
        return "txt"

    def _setup(self, ctx: WriterContext) -> None:
        super()._setup(ctx)
        name = self._options["category_template"]
        if name is None:
            raise TemplateError(
                "name the category template downloaded from Seller Central (its upload sheet saved as "
                "tab-delimited text in the inputs folder) in the template or the export request",
                "options.category_template",
            )
        if ctx.inputs is None:
            raise OutputError("options.category_template: this export has no inputs folder to read it from")
        self._header_rows = read_header_rows(ctx.inputs / name)
        attributes = {a.strip(): i for i, a in enumerate(self._header_rows[2]) if a.strip()}
        missing = [h for h in self._headers if h not in attributes]
        if missing:
            raise OutputError(
                f"options.category_template: {name!r} has no column {', '.join(missing)} in its attribute row "
                "(row 3): remove them from the export template or use the category's own template"
            )
        self._width = len(self._header_rows[2])
        self._positions = [attributes[h] for h in self._headers]
        self._checked: list[tuple[int, str, frozenset[str], list[str]]] = []  # (column, name, set, in order)
        if self._options["valid_values"] is not None:
            valid = read_valid_values(ctx.inputs / self._options["valid_values"], self._header_rows)
            self._checked = [(i, h, frozenset(valid[h]), valid[h]) for i, h in enumerate(self._headers) if h in valid]

    def __init__(self, ctx: WriterContext) -> None:
        super().__init__(ctx)
        try:
            for row in self._header_rows:
                self._emit(row, "the category template's header rows")
        except OutputError:
            self.abort()
            raise

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        rendered = list(map(operator.call, self._converters, values))
        for column, name, accepted, listed in self._checked:
            cell = rendered[column]
            if cell not in (None, "") and str(cell) not in accepted:
                shown = ", ".join(listed[:30]) + (", ..." if len(listed) > 30 else "")
                raise OutputError(
                    f"product {record.get('id')}: {name} {cell!r} is not a value the category template accepts "
                    f"(its Valid Values: {shown}): map the product's category to one of them in mappings.categories "
                    "or use the category's own template"
                )
        cells: list[Any] = [""] * self._width
        for position, cell in zip(self._positions, rendered, strict=True):
            cells[position] = cell
        self._rows += 1
        self._emit(cells, f"product row {self._rows}")
