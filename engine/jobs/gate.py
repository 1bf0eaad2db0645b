"""The publish gate of a delivery: hold it, rather than replace a good feed with a broken one, when its export
excluded too much of the selection or shrank too much against the last successful delivery to the same place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.models import Delivery, ExportJob


def _percent(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") + " %"


def gate_verdict(gate: Mapping[str, Any], *, total: int, excluded: int, rows: int, baseline: int | None) -> str | None:
    """Why a run fails the gate (None when it passes): more than `max_excluded_percent` of the `total` selected
    products excluded, or `rows` more than `max_drop_percent` below the `baseline` (the rows of the last successful
    delivery to the same destination; no baseline, no drop check)."""
    reasons = []
    limit = gate.get("max_excluded_percent")
    if limit is not None and total > 0:
        share = 100.0 * excluded / total
        if share > limit:
            reasons.append(
                f"{excluded:,} of {total:,} selected products excluded ({_percent(share)}; the gate allows "
                f"{_percent(limit)})"
            )
    limit = gate.get("max_drop_percent")
    if limit is not None and baseline:
        drop = 100.0 * (baseline - rows) / baseline
        if drop > limit:
            reasons.append(
                f"{rows:,} rows against {baseline:,} at the last delivery (down {_percent(drop)}; the gate allows "
                f"{_percent(limit)})"
            )
    return "; ".join(reasons) or None


def baseline_rows(delivery: Delivery) -> int | None:
    """The products exported by the job of the last successful delivery to the same integration and target (another
    job's), or None when there is none yet."""
    previous = (
        Delivery.select(ExportJob.exported)
        .join(ExportJob, on=(Delivery.job == ExportJob.id))
        .where(
            (Delivery.integration_name == delivery.integration_name)
            & (Delivery.target == delivery.target)
            & (Delivery.status == "succeeded")
            & (Delivery.job != delivery.job_id)
        )
        .order_by(Delivery.finished_at.desc(), Delivery.id.desc())
        .tuples()
        .first()
    )
    return int(previous[0]) if previous else None


def hold_reason(delivery: Delivery) -> str | None:
    """Why the delivery must be held by its gate (None: no gate, or the run passes it)."""
    if not delivery.gate:
        return None
    export = ExportJob.get_by_id(delivery.job_id)
    baseline = baseline_rows(delivery) if delivery.gate.get("max_drop_percent") is not None else None
    verdict = gate_verdict(
        delivery.gate, total=export.total, excluded=export.excluded, rows=export.exported, baseline=baseline
    )
    return f"held by the publish gate: {verdict}" if verdict else None
