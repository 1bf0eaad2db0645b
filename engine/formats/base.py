"""The writer interface every format implements, and the context the pipeline hands it.

A writer receives mapped rows one at a time (`write`), never the whole catalogue, and produces one or more
files in `ctx.folder` whose names come from `ctx.file_name(part)`. `close()` returns what it wrote;
`abort()` removes every partial file. Every writer inherits `WriterBase`, whose defaults state the optional
capabilities (header checks, a choice of file extension, removals written in the feed itself) explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

# Kinds of mapped values; writers use them to decide how to render a cell.
ValueKind = Literal["text", "integer", "decimal", "money", "date", "datetime", "bool", "list", "object"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """Prefix text a spreadsheet would run as a formula with an apostrophe (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class ColumnInfo:
    header: str
    kind: ValueKind = "text"


@dataclass(frozen=True)
class OutputFile:
    path: Path
    rows: int
    content_type: str
    suffix: str = ""  # a companion file of the export (e.g. "-combinations"), named after the main file


@dataclass
class WriterContext:
    folder: Path  # existing working folder; every file goes directly inside it
    file_name: Callable[[int], str]  # part number (1-based) -> file name, already confined and unique
    columns: Sequence[ColumnInfo]
    options: Mapping[str, Any]  # validated by the writer's `validate_options`
    # reference data for formats that carry it (XLSX suppliers/categories sheets)
    iter_suppliers: Callable[[], Iterator[Mapping[str, Any]]] = field(default=lambda: iter(()))
    iter_categories: Callable[[], Iterator[Mapping[str, Any]]] = field(default=lambda: iter(()))
    # creation time written into formats that embed one (XLSX document properties), so that a job resumed
    # after a crash produces byte-identical files
    created_at: dt.datetime | None = None
    # the folder of files the merchant supplies for formats that fill them (Amazon category templates)
    inputs: Path | None = None


class FormatWriter(Protocol):
    """A streaming writer. `name` is its registry key, `extension` the file suffix without dot (the default of
    `file_extension`)."""

    name: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]
    removals_in_feed: ClassVar[bool]  # the format itself can say "deleted": see `write_removed`

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Return the options with defaults filled in; raise TemplateError naming a bad option."""
        ...

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        """Relations the writer reads from `record` (e.g. {"images", "variants"} for nested JSON)."""
        ...

    @classmethod
    def check_headers(cls, headers: Sequence[str]) -> None:
        """Raise TemplateError naming the first column header the format cannot hold."""
        ...

    @classmethod
    def file_extension(cls, options: Mapping[str, Any]) -> str:
        """The files' suffix without dot for these (validated) options."""
        ...

    def __init__(self, ctx: WriterContext) -> None: ...

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        """Write one product: `values` in column order, `record` the product with its loaded relations."""
        ...

    def write_removed(self, record: Mapping[str, Any]) -> None:
        """Say in the feed that a product was removed since the last delta run (only when `removals_in_feed`)."""
        ...

    def close(self) -> list[OutputFile]:
        """Finish every file and return them in order."""
        ...

    def abort(self) -> None:
        """Stop and remove every file written so far."""
        ...

    def checkpoint(self) -> dict[str, Any]:
        """Flush to disk and return a JSON-able state from which `resume` continues right after the last row.

        A writer that can only restart its current file (XLSX) says so with `"replay_after_id": N`: on resume
        the pipeline feeds it again every product with id > N (without counting them twice)."""
        ...

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> FormatWriter:
        """A writer continuing from `checkpoint()`'s state, with the files found in `ctx.folder`."""
        ...


class WriterBase:
    """Defaults of the optional writer capabilities; every format writer inherits it.

    `removals_in_feed` is True for a format that can itself say "deleted" (Amazon DELETE messages): the pipeline
    then hands it the removed products through `write_removed`; for the others it lists them in a separate file.
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]
    removals_in_feed: ClassVar[bool] = False

    @classmethod
    def check_headers(cls, headers: Sequence[str]) -> None:
        """Accept every header: most formats take any text as a column title."""

    @classmethod
    def file_extension(cls, options: Mapping[str, Any]) -> str:
        """The format's one extension, whatever the options."""
        return cls.extension

    def write_removed(self, record: Mapping[str, Any]) -> None:
        """Only formats with `removals_in_feed` can say a product was removed."""
        raise NotImplementedError(f"the {self.name} format cannot list removed products in the file itself")
