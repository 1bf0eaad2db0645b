"""A job's report: the products it excluded (with the rule) and its warnings, stored as the pipeline meets them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

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
    for e in JobExclusion.select().where(JobExclusion.job == job_id).order_by(JobExclusion.product_id).iterator():
        out.writerow([e.product_id, _safe(e.sku), _safe(e.ean), "excluded", e.rule, e.message])
        yield flush()
    for w in JobWarning.select().where(JobWarning.job == job_id).order_by(JobWarning.product_id).iterator():
        out.writerow([w.product_id, _safe(w.sku), _safe(w.ean), "warning", w.kind, w.message])
        yield flush()


def _safe(text: str | None) -> str:
    """Report cells are opened in spreadsheets too: neutralise formula-looking SKUs."""
    from engine.formats.base import neutralise_formula

    return neutralise_formula(text) if text else ""
