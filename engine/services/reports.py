"""A job's report: the products it excluded (with the rule) and its warnings, stored as the pipeline meets them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from peewee import Tuple

from engine.models import JobExclusion, JobWarning
from engine.pipeline.image_step import ProductWarning
from engine.pipeline.run import Exclusion


def exclusion_recorder(job_id: int) -> Callable[[list[Exclusion]], None]:
    def record(batch: list[Exclusion]) -> None:
        JobExclusion.insert_many(
            [
                {
                    "job": job_id,
                    "product_id": e.product_id,
                    "sku": e.sku,
                    "ean": e.ean,
                    "rule": e.rule,
                    "message": e.message,
                }
                for e in batch
            ]
        ).execute()

    return record


def warning_recorder(job_id: int) -> Callable[[list[ProductWarning]], None]:
    def record(batch: list[ProductWarning]) -> None:
        JobWarning.insert_many(
            [
                {
                    "job": job_id,
                    "product_id": w.product_id,
                    "sku": w.sku,
                    "ean": w.ean,
                    "kind": w.kind,
                    "message": w.message,
                }
                for w in batch
            ]
        ).execute()

    return record


def forget_after(job_id: int, last_id: int) -> None:
    """Before a resume: drop what was recorded for products after the checkpoint (they are processed again)."""
    JobExclusion.delete().where((JobExclusion.job == job_id) & (JobExclusion.product_id > last_id)).execute()
    JobWarning.delete().where((JobWarning.job == job_id) & (JobWarning.product_id > last_id)).execute()


def report_csv(job_id: int) -> Iterator[str]:
    """The job's report as CSV text, line by line: excluded products then warnings."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    out.writerow(["product_id", "sku", "ean", "outcome", "rule", "message"])
    yield flush()
    for model, outcome in ((JobExclusion, "excluded"), (JobWarning, "warning")):
        for product_id, sku, ean, rule, message in _pages(model, job_id):
            out.writerow([product_id, _safe(sku), _safe(ean), outcome, rule, message])
            yield flush()


def _pages(model: type[JobExclusion] | type[JobWarning], job_id: int, size: int = 5000) -> Iterator[tuple[Any, ...]]:
    """A job's report lines in product order, a page at a time (keyset on id): flat memory on any database."""
    reason = model.rule if model is JobExclusion else model.kind
    last = (-1, -1)
    while True:
        query = (
            model.select(model.product_id, model.id, model.sku, model.ean, reason, model.message)
            .where((model.job == job_id) & (Tuple(model.product_id, model.id) > Tuple(*last)))
            .order_by(model.product_id, model.id)
            .limit(size)
        )
        rows = list(query.tuples())
        if not rows:
            return
        for product_id, _id, sku, ean, rule, message in rows:
            yield product_id, sku, ean, rule, message
        last = (rows[-1][0], rows[-1][1])


def _safe(text: str | None) -> str:
    """Report cells are opened in spreadsheets too: neutralise formula-looking SKUs."""
    from engine.formats.base import neutralise_formula

    return neutralise_formula(text) if text else ""
