"""A job's report lines as the run meets them: excluded products (with the rule) and warnings (images)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.models import JobExclusion, JobWarning
from engine.pipeline.image_step import ProductWarning
from engine.pipeline.source import Exclusion


def record_exclusions(job_id: int, batch: Sequence[Exclusion]) -> None:
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


def record_warnings(job_id: int, batch: Sequence[ProductWarning]) -> None:
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


def forget_after(job_id: int, last_id: int) -> None:
    """Before a resume: drop what was recorded for products after the checkpoint (they are processed again)."""
    JobExclusion.delete().where((JobExclusion.job == job_id) & (JobExclusion.product_id > last_id)).execute()
    JobWarning.delete().where((JobWarning.job == job_id) & (JobWarning.product_id > last_id)).execute()
