"""A job's report as CSV: the products it excluded (with the rule), then its warnings (recorded by the runner,
engine.jobs.report)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from peewee import Tuple

from engine.errors import InvalidRequest
from engine.models import JobExclusion, JobWarning

REPORT_HEADER = ("product_id", "sku", "ean", "outcome", "rule", "message")
Words = Callable[[str, str], tuple[str, str]]  # (outcome, message) -> the same in the reader's language


def report_csv(
    job_id: int, *, separator: str = ",", header: Sequence[str] = REPORT_HEADER, words: Words | None = None
) -> Iterator[str]:
    """The job's report as CSV text, line by line: excluded products then warnings. The CLI's file is the default;
    the console passes its user's separator, headings and words (the rule stays its code: it is what filters on)."""
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    out.writerow(list(header))
    yield flush()
    for model, outcome in ((JobExclusion, "excluded"), (JobWarning, "warning")):
        for product_id, sku, ean, rule, message in _pages(model, job_id):
            shown_outcome, shown_message = words(outcome, message) if words else (outcome, message)
            out.writerow([product_id, _safe(sku), _safe(ean), shown_outcome, rule, shown_message])
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


@dataclass(frozen=True)
class ReportLine:
    product_id: int | None
    sku: str
    ean: str
    rule: str  # the rule that excluded the product, or the kind of warning
    message: str


def report_lines(job_id: int, outcome: str, limit: int = 100) -> tuple[list[ReportLine], int]:
    """The first `limit` excluded products (outcome "excluded") or warnings ("warning") of a job, and their count."""
    if outcome not in {"excluded", "warning"}:
        raise InvalidRequest(f"unknown outcome {outcome!r} (known: excluded, warning)", "outcome")
    if not 1 <= limit <= 1000:
        raise InvalidRequest("must be between 1 and 1000", "limit")
    model: type[JobExclusion] | type[JobWarning] = JobExclusion if outcome == "excluded" else JobWarning
    lines = [
        ReportLine(product_id, sku or "", ean or "", rule, message)
        for product_id, sku, ean, rule, message in islice(_pages(model, job_id, size=limit), limit)
    ]
    return lines, int(model.select().where(model.job == job_id).count())
