"""The export source: select -> images -> rules -> delta -> mapping, yielding each chunk's mapped rows.

A chunk says which products it counted, which it excluded (with the rule), which were unchanged since the last
delta run, and the warnings met (images); the caller hands the rows to a sink and checkpoints after each chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from engine.pipeline.delta import DeltaTracker, Seen, fingerprint
from engine.pipeline.image_step import ImageStep, ProductWarning
from engine.pipeline.mapping import compile_columns
from engine.pipeline.platform_mappings import CompiledMappings, compile_mappings
from engine.pipeline.select import ProductLoader, count_selected, selection_where
from engine.pipeline.spec import ExportSpec
from engine.pipeline.validate import compile_column_rules, compile_rules
from engine.settings import Settings
from engine.sinks.base import Attachment

Row = tuple[Sequence[Any], dict[str, Any]]


@dataclass(frozen=True)
class Exclusion:
    product_id: int
    sku: str | None
    ean: str | None
    rule: str
    message: str


@dataclass
class SourceChunk:
    rows: list[Row]  # mapped rows to write, replayed ones included
    counted: int = 0  # products seen for the first time (not replayed after a resume)
    unchanged: int = 0  # delta: products whose content did not change since the last run
    last_id: int = 0
    excluded: list[Exclusion] = field(default_factory=list)
    warnings: list[ProductWarning] = field(default_factory=list)


class ExportSource:
    """The mapped rows of a spec. `open(work)` before `chunks()`; then `close()` (or `abort()`)."""

    def __init__(
        self,
        spec: ExportSpec,
        settings: Settings,
        *,
        sink_relations: set[str],
        delta: DeltaTracker | None = None,
        categories: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.columns = compile_columns(spec.columns, spec.rows)
        self.rules = compile_rules(spec.rules)
        self.column_checks = compile_column_rules(self.rules, spec.columns)
        reads_mapped = self.columns.reads_mapped or self.rules.reads_mapped
        self.mappings: CompiledMappings | None = (
            compile_mappings(spec.mappings) if spec.mappings or reads_mapped else None
        )
        self.where = selection_where(spec.selection, spec.statuses)
        self.delta = delta
        self.image_options = ImageStep.needed(spec.images)
        relations = set(sink_relations) | ({"images"} if self.image_options is not None else set())
        if self.mappings is not None:
            relations |= self.mappings.relations
        whole = self.columns.whole_relations | self.rules.relations | relations
        mapping_columns = self.mappings.product_columns if self.mappings is not None else frozenset()
        self.loader = ProductLoader(
            self.where,
            self.columns.product_columns | self.rules.product_columns | mapping_columns,
            self.columns.relations | self.rules.relations | relations,
            settings.chunk_size,
            first_image_only="images" not in whole,
            categories=categories,
        )
        self._images: ImageStep | None = None

    @cached_property
    def total(self) -> int:
        """How many products the selection takes (counted on first use: explaining one product needs no count)."""
        return count_selected(self.where)

    @property
    def resumable(self) -> bool:
        """False when a crash means starting over (an images ZIP cannot be continued)."""
        return self.image_options is None or self.image_options.mode != "zip"

    def open(self, work: Path) -> None:
        if self.image_options is not None:
            self._images = ImageStep(
                self.image_options,
                self.settings.var_dir / "cache" / "images",
                work,
                allow_private_networks=self.settings.images_allow_private_networks,
            )

    def chunks(self, *, start_after: int = 0, seen_up_to: int = 0) -> Iterator[SourceChunk]:
        """Chunks of products with id > start_after. Products with id <= seen_up_to were counted before a
        resume: their rows are produced again (a sink replaying its part needs them) but not counted."""
        for records in self.loader.chunks(after_id=start_after):
            chunk = SourceChunk(rows=[], last_id=records[-1]["id"])
            if self._images is not None:
                chunk.warnings = self._images.apply(records, seen_up_to)
            self._map(records, chunk, seen_up_to)
            yield chunk

    def _first_failure(self, record: dict[str, Any]) -> tuple[tuple[str, str] | None, list[Row] | None]:
        """The first rule the product breaks, in this order: the field rules, the mappings the platform requires,
        the rules on columns (on each mapped row), completeness last; and the mapped rows when it passes."""
        checks = self.rules.checks
        completeness = [c for c in checks if c[0] == "min_completeness"]
        for rule_id, check in checks:
            if rule_id != "min_completeness" and (message := check(record)) is not None:
                return (rule_id, message), None
        if self.mappings is not None and (missing := self.mappings.apply(record)) is not None:
            return (missing.rule_id, missing.message), None
        mapped: list[Row] = list(self.columns.rows(record))
        for values, row in mapped:
            for column_check in self.column_checks:
                if (message := column_check.failure(values, row)) is not None:
                    return (column_check.rule_id, message), None
        for rule_id, check in completeness:
            if (message := check(record)) is not None:
                return (rule_id, message), None
        return None, mapped

    def judge(self, record: dict[str, Any]) -> tuple[tuple[str, str] | None, list[Row]]:
        """What this export does with one selected product's record, images and delta aside: the (rule id, message)
        that excludes it, or None and its mapped rows; decided as `chunks()` decides. The record must carry the
        columns and relations this source reads (more does no harm); mappings may add to it."""
        if self.mappings is not None or self.column_checks:
            failure, mapped = self._first_failure(record)
            return failure, mapped or []
        failure = self.rules.first_failure(record) if self.rules.checks else None
        return failure, [] if failure is not None else list(self.columns.rows(record))

    def _map(self, records: list[dict[str, Any]], chunk: SourceChunk, seen_up_to: int) -> None:
        columns, delta = self.columns, self.delta
        first_failure = self.rules.first_failure if self.rules.checks else None
        checked = self.mappings is not None or bool(self.column_checks)
        expanded = columns.expander is not None
        previous = delta.previous([r["id"] for r in records]) if delta is not None else {}
        rows, excluded = chunk.rows, chunk.excluded
        seen: list[Seen] = []
        for record in records:
            replayed = record["id"] <= seen_up_to
            mapped_rows: list[Row] | None = None
            if checked:
                failure, mapped_rows = self._first_failure(record)
            else:
                failure = first_failure(record) if first_failure is not None else None
            if failure is None:
                if delta is not None:
                    mapped = mapped_rows if mapped_rows is not None else list(columns.rows(record))
                    content = fingerprint([values for values, _row in mapped])
                    if previous.get(record["id"]) != content:
                        rows.extend(mapped)
                    elif not replayed:
                        chunk.unchanged += 1
                    if not replayed:
                        variant_skus = [v["sku"] for v in record.get("variants") or () if v.get("sku")]
                        seen.append(Seen(record["id"], record["sku"], record["ean"], variant_skus, content))
                elif mapped_rows is not None:
                    rows.extend(mapped_rows)
                elif expanded:
                    rows.extend(columns.rows(record))
                else:
                    rows.append((columns.row(record), record))
            if replayed:
                continue
            chunk.counted += 1
            if failure is not None:
                excluded.append(Exclusion(record["id"], record["sku"], record["ean"], *failure))
        if delta is not None and seen:
            delta.stage(seen)

    def removed(self) -> Iterator[dict[str, Any]]:
        """Delta: the products sent last time that this run did not send (nothing without delta)."""
        if self.delta is not None:
            yield from self.delta.removed()

    def close(self) -> list[Attachment]:
        """Finish the side files (the images ZIP); returns them for the sink to publish."""
        images, self._images = self._images, None
        if images is None:
            return []
        archive, _count = images.close()
        return [Attachment(archive, "-images", "zip", "images-zip")] if archive is not None else []

    def commit(self) -> None:
        """The run succeeded: what it sent becomes the delta state."""
        if self.delta is not None:
            self.delta.commit()

    def abort(self) -> None:
        images, self._images = self._images, None
        if images is not None:
            images.abort()
        if self.delta is not None:
            self.delta.discard()
