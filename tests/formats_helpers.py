"""Helpers shared by the format writer tests: build a WriterContext and run a writer over rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.formats.base import ColumnInfo, FormatWriter, OutputFile, WriterContext


def make_ctx(
    folder: Path,
    columns: Sequence[ColumnInfo | str],
    options: Mapping[str, Any] | None = None,
    *,
    writer: type[FormatWriter],
    suppliers: Sequence[Mapping[str, Any]] = (),
    categories: Sequence[Mapping[str, Any]] = (),
) -> WriterContext:
    """A context whose options went through the writer's validation, like the pipeline's."""
    return WriterContext(
        folder=folder,
        file_name=lambda part: f"export-{part}.{writer.extension}",
        columns=[c if isinstance(c, ColumnInfo) else ColumnInfo(c) for c in columns],
        options=writer.validate_options(options or {}),
        iter_suppliers=lambda: iter(suppliers),
        iter_categories=lambda: iter(categories),
    )


def run_writer(
    writer: type[FormatWriter],
    ctx: WriterContext,
    rows: Iterable[Sequence[Any]],
    records: Iterable[Mapping[str, Any]] | None = None,
) -> list[OutputFile]:
    """Write every row (with its record, or an empty one) and close."""
    instance = writer(ctx)
    rows = list(rows)
    for values, record in zip(rows, records if records is not None else [{}] * len(rows), strict=True):
        instance.write(values, record)
    return instance.close()


def folder_names(folder: Path) -> list[str]:
    """Everything left in the folder (temp files and folders included), sorted."""
    return sorted(p.name for p in folder.iterdir())
