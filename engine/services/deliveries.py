"""Deliveries of an export job's files to integrations: list them, send again (`redeliver`), add one, or
release one its publish gate held."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.catalog.models import utcnow
from engine.errors import InvalidRequest, InvalidState, NotFound
from engine.jobs.kinds.deliver import queue_delivery
from engine.models import Artifact, Delivery, ExportJob, Integration
from engine.services.views import DeliveryView
from engine.settings import Settings


def check_delivery_integrations(deliveries: Iterable[Mapping[str, Any]] | None) -> None:
    """The integrations a (validated) spec's `deliveries` name exist: InvalidRequest naming the field otherwise,
    when a template is saved or an export or a schedule requested (a typo is refused then, not at 06:00)."""
    wanted = [(str(d.get("integration", "")), f"deliveries[{n}].integration") for n, d in enumerate(deliveries or [])]
    if not wanted:
        return
    names = {name for name, _where in wanted}
    known = {row.name for row in Integration.select(Integration.name).where(Integration.name.in_(list(names)))}
    for name, where in wanted:
        if name not in known:
            raise InvalidRequest(f"no integration named {name!r}", where)


def list_deliveries(job_id: int) -> list[DeliveryView]:
    return [DeliveryView.of(d) for d in Delivery.select().where(Delivery.job == job_id).order_by(Delivery.id)]


def _deliverable(job_id: int) -> ExportJob:
    job = ExportJob.get_or_none(ExportJob.id == job_id)
    if job is None or job.kind != "export":
        raise NotFound(f"no export job {job_id}")
    if job.status not in ("succeeded", "partial"):
        raise InvalidState(f"job {job_id} is {job.status}: only finished exports with files can be delivered")
    live = Artifact.select().where((Artifact.job == job_id) & (Artifact.expires_at >= utcnow()))
    if not live.exists():
        raise InvalidState(f"job {job_id} has no stored files left to deliver")
    return job


def redeliver(
    settings: Settings, job_id: int, to: str | None = None, *, inline: bool = False, force: bool = False
) -> list[DeliveryView]:
    """Send the job's files again: to integration `to` (a new delivery, with the gate of the job's earlier one
    there), or else every delivery of the job that failed (and, with `force`, those held). Each goes through its
    publish gate unless `force`. Returns the deliveries started (or held again)."""
    _deliverable(job_id)
    if to is not None:
        if not Integration.select().where(Integration.name == to).exists():
            raise NotFound(f"no integration named {to!r}")
        previous = (
            Delivery.select()
            .where((Delivery.job == job_id) & (Delivery.integration_name == to))
            .order_by(Delivery.id.desc())
            .first()
        )
        deliveries = [
            Delivery.create(
                job=job_id,
                integration_name=to,
                target=previous.target if previous else "",
                gate=previous.gate if previous else None,
                status="queued",
            )
        ]
    else:
        statuses = ["failed", "held"] if force else ["failed"]
        deliveries = list(Delivery.select().where((Delivery.job == job_id) & Delivery.status.in_(statuses)))
        if not deliveries:
            held = Delivery.select().where((Delivery.job == job_id) & (Delivery.status == "held")).exists()
            if held:
                raise InvalidState(
                    f"job {job_id} has no failed delivery, only held ones: send them with `jobs release` "
                    "(or `redeliver --force`)"
                )
            raise InvalidState(f"job {job_id} has no failed delivery to send again (name one with --to)")
    for delivery in deliveries:
        queue_delivery(settings, delivery, inline=inline, force=force)
    return [DeliveryView.of(Delivery.get_by_id(d.id)) for d in deliveries]


def release(settings: Settings, job_id: int, to: str | None = None, *, inline: bool = False) -> list[DeliveryView]:
    """Send the job's held deliveries (only the one to integration `to`, when given) whatever their gate says."""
    _deliverable(job_id)
    query = Delivery.select().where((Delivery.job == job_id) & (Delivery.status == "held"))
    if to is not None:
        query = query.where(Delivery.integration_name == to)
    deliveries = list(query.order_by(Delivery.id))
    if not deliveries:
        raise InvalidState(f"job {job_id} has no held delivery" + (f" to {to!r}" if to is not None else ""))
    for delivery in deliveries:
        queue_delivery(settings, delivery, inline=inline, force=True)
    return [DeliveryView.of(Delivery.get_by_id(d.id)) for d in deliveries]


def _delivery(delivery_id: int) -> Delivery:
    delivery = Delivery.get_or_none(Delivery.id == delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    return delivery


def retry_delivery(settings: Settings, delivery_id: int, *, inline: bool = False) -> DeliveryView:
    """Send one delivery again (failed or succeeded: the files are replaced at the destination), through its
    publish gate: a held one stays held (release_delivery sends it)."""
    delivery = _delivery(delivery_id)
    if delivery.status in ("queued", "running"):
        raise InvalidState(f"delivery {delivery_id} is already {delivery.status}")
    _deliverable(delivery.job_id)
    queue_delivery(settings, delivery, inline=inline)
    return DeliveryView.of(Delivery.get_by_id(delivery_id))


def release_delivery(settings: Settings, delivery_id: int, *, inline: bool = False) -> DeliveryView:
    """Send one held delivery, whatever its publish gate says."""
    delivery = _delivery(delivery_id)
    if delivery.status != "held":
        raise InvalidState(f"delivery {delivery_id} is {delivery.status}, not held: only a held delivery is released")
    _deliverable(delivery.job_id)
    queue_delivery(settings, delivery, inline=inline, force=True)
    return DeliveryView.of(Delivery.get_by_id(delivery_id))
