"""The sink interface: what receives an export's mapped rows, chunk by chunk, and can checkpoint and resume.

The pipeline's source (select -> images -> rules -> delta -> mapping) hands every mapped row to one sink. A file
sink writes a format and publishes the files to the artifact store; a push sink (next) sends the rows to a shop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from engine.formats.base import ColumnInfo, OutputFile


@dataclass(frozen=True)
class ExportFile:
    """A finished file of a job, as stored."""

    name: str
    location: str  # the artifact store's reference (engine.storage)
    rows: int
    size: int
    sha256: str
    content_type: str
    format: str
    path: Path | None = None  # where it is on this machine's disk, when the store keeps it there


@dataclass(frozen=True)
class Attachment:
    """A file the source made beside the rows (the images ZIP), published with the sink's files."""

    output: OutputFile
    suffix: str  # added to the main file's stem: "-images"
    extension: str
    format: str


@dataclass(frozen=True)
class SinkContext:
    work: Path  # the job's private folder (kept across a resume)
    columns: Sequence[ColumnInfo]
    template_name: str
    started_at: dt.datetime


class Sink(Protocol):
    """Receives mapped rows. Built from the spec (validating its options), then opened once per run."""

    name: ClassVar[str]

    @property
    def relations(self) -> set[str]:
        """Relations each record must carry for this sink (e.g. {"variants"} for nested JSON)."""
        ...

    def open(self, ctx: SinkContext, state: Mapping[str, Any] | None = None) -> int | None:
        """Start, or continue from a `checkpoint()` state. Returns, on resume, the product id after which the
        source must feed rows again (a sink that can only restart its current part replays from there)."""
        ...

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        """One mapped row: `values` in column order, `record` the product (or variant row) it came from."""
        ...

    def write_removed(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Products removed since the last delta run (id, sku, ean, variant_skus); returns how many."""
        ...

    def checkpoint(self) -> dict[str, Any]:
        """A JSON-able state from which `open` continues right after the last row written."""
        ...

    def close(self, attachments: Sequence[Attachment] = ()) -> list[ExportFile]:
        """Finish and publish; returns what was published."""
        ...

    def abort(self) -> None:
        """Stop and remove everything partial."""
        ...
