"""The deliver job kind: send an export job's stored files to one integration, recorded on a Delivery row.

Each delivery of an export is its own job on the `deliver` queue (retried with backoff on transient failures,
failed at once on fatal ones), unless its publish gate (engine.jobs.gate) holds it. A failed or held delivery never
fails the export: the export job turns `partial` and names the delivery and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from engine.catalog.models import utcnow
from engine.destinations.base import DeliveryFile, Receipt
from engine.destinations.connections import (
    check_enabled,
    open_connection,
    record_delivery_failure,
    record_delivery_success,
)
from engine.errors import ExportsError, FatalError, InvalidRequest, ItemRejected, RetryableError
from engine.jobs.gate import hold_reason
from engine.jobs.notices import delivery_failed
from engine.jobs.runner import JobChannel, JobContext, JobOutcome, LocalChannel, RedisChannel, start
from engine.models import Artifact, Delivery, ExportJob
from engine.pipeline.naming import PLACEHOLDERS, placeholder_values
from engine.settings import Settings
from engine.storage import open_store

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|]+')
HASH_CHUNK = 1024 * 1024


def render_target(pattern: str, *, template: str, fmt: str, when: Any, count: int, part: int) -> str:
    """The target path pattern rendered with the file-name placeholders, confined: a relative path of safe
    components, no `..`, nothing absolute (InvalidRequest naming `deliveries.path` otherwise)."""
    values = placeholder_values(template=template, fmt=fmt, when=when, count=count, part=part)
    text = _PLACEHOLDER.sub(lambda m: values[m[1]] if m[1] in PLACEHOLDERS else m[0], pattern.replace("\\", "/"))
    if text.startswith("/"):
        raise InvalidRequest("must be relative to the destination's folder", "deliveries.path")
    parts = []
    for component in text.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            raise InvalidRequest("must stay inside the destination's folder (no ..)", "deliveries.path")
        parts.append(_UNSAFE.sub("_", component).strip() or "_")
    return "/".join(parts)


def split_target(target: str, file_name: str, single: bool) -> tuple[str, str]:
    """(folder, name) of a file at a rendered target: a target ending with the file's extension names the file
    itself (for a one-file export), anything else is the folder the file goes into under its own name."""
    folder, _, last = target.rpartition("/")
    extension = file_name.rpartition(".")[2].lower()
    if single and last and "." in last and last.rpartition(".")[2].lower() == extension:
        return folder, last
    return target, file_name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def unchanged(path: Path, artifact: Artifact, *, hash_it: bool) -> bool:
    """Whether the file is still the one the export wrote: its size, and with `hash_it` its SHA-256 (one more read
    of the file; a destination that hashes what it sends and checks it before the file is final makes it useless)."""
    try:
        if path.stat().st_size != artifact.size:
            return False
    except FileNotFoundError:
        return False
    return not hash_it or sha256_file(path) == artifact.sha256


def start_deliveries(
    settings: Settings, job_id: int, *, inline: bool, targets: list[Mapping[str, Any]] | None = None
) -> list[int]:
    """Record one Delivery per target (default: the export's spec deliveries) and run each as a deliver job:
    queued on RQ, or at once in this process when `inline` (the CLI's one-off exports); a delivery its publish gate
    stops is held instead. Returns the ids of the deliver jobs started."""
    export = ExportJob.get_by_id(job_id)
    tasks = []
    for target in targets if targets is not None else export.spec.get("deliveries") or []:
        delivery = Delivery.create(
            job=job_id,
            integration_name=target["integration"],
            target=target.get("path") or "",
            gate=target.get("gate") or None,
            status="queued",
        )
        task = queue_delivery(settings, delivery, inline=inline)
        if task is not None:
            tasks.append(task)
    return tasks


def queue_delivery(settings: Settings, delivery: Delivery, *, inline: bool, force: bool = False) -> int | None:
    """A new deliver job for the delivery, queued (or run now when `inline`); returns its id. Unless `force`, the
    delivery's publish gate is checked first: a run that fails it is held (no job, None returned)."""
    reason = None if force else hold_reason(delivery)
    if reason is not None:
        hold_delivery(settings, delivery, reason, inline=inline)
        return None
    export = ExportJob.get_by_id(delivery.job_id)
    task = ExportJob.create(
        kind="deliver",
        template_name=export.template_name,
        template_version=export.template_version,
        spec={"delivery_id": delivery.id, "export_job": export.id, "integration": delivery.integration_name},
        status="queued",
        phase="queued",
        requested_by=export.requested_by,
    )
    Delivery.update(task=task.id, status="queued", held_reason=None).where(Delivery.id == delivery.id).execute()
    start(settings, task.id, "deliver", inline=inline)
    return int(task.id)


def hold_delivery(settings: Settings, delivery: Delivery, reason: str, *, inline: bool) -> None:
    """Record the delivery held with its reason; the export turns `partial` and its watchers are told why."""
    Delivery.update(status="held", held_reason=reason, finished_at=utcnow()).where(Delivery.id == delivery.id).execute()
    message = f"delivery to {delivery.integration_name} {reason}"
    mark_delivery_problem(delivery.job_id, delivery.integration_name, message, held=True)
    channel: JobChannel = LocalChannel() if inline else RedisChannel(settings)
    channel.publish(delivery.job_id, message=message)


@contextlib.contextmanager
def local_copies(settings: Settings, artifacts: list[Artifact], scratch: Path) -> Iterator[list[Path]]:
    """Each artifact as a file on this machine: where the store keeps it, or downloaded (streamed) into `scratch`
    from a remote store; the downloads are removed afterwards."""
    store = open_store(settings)
    paths = []
    try:
        for artifact in artifacts:
            local = store.local_path(artifact.location)
            if local is None:
                scratch.mkdir(parents=True, exist_ok=True)
                local = scratch / f"{artifact.id}-{artifact.name}"
                with store.open(artifact.location) as source, local.open("wb") as sink:
                    shutil.copyfileobj(source, sink, HASH_CHUNK)
            paths.append(local)
        yield paths
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class DeliverKind:
    name: ClassVar[str] = "deliver"
    queue: ClassVar[str] = "deliver"
    limited: ClassVar[bool] = False
    retry_intervals: ClassVar[list[int]] = [60, 300, 900, 3600, 21600]

    def resume_from(self, spec: Mapping[str, Any], checkpoint: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None  # a delivery is sent whole again: each file lands atomically, a second send replaces it

    def run(self, ctx: JobContext) -> JobOutcome:
        delivery = Delivery.get_by_id(ctx.spec["delivery_id"])
        Delivery.update(
            status="running", attempts=Delivery.attempts + 1, started_at=delivery.started_at or utcnow()
        ).where(Delivery.id == delivery.id).execute()
        ctx.channel.publish(delivery.job_id, message=f"delivering to {delivery.integration_name}")
        try:
            receipts = self._send(ctx, delivery)
        except ExportsError as exc:
            self._failed(ctx, delivery, exc)
            raise
        Delivery.update(
            status="succeeded",
            last_error=None,
            receipts=[_receipt_dict(r) for r in receipts],
            finished_at=utcnow(),
        ).where(Delivery.id == delivery.id).execute()
        mark_delivery_succeeded(delivery.job_id, delivery.integration_name)
        record_delivery_success(delivery.integration_name)
        ctx.channel.publish(delivery.job_id, message=f"delivered to {delivery.integration_name}")
        return JobOutcome(files=[], total=len(receipts), processed=len(receipts), exported=len(receipts))

    def finished(self, ctx: JobContext, outcome: JobOutcome) -> None:
        return None

    def _send(self, ctx: JobContext, delivery: Delivery) -> list[Receipt]:
        name = delivery.integration_name
        export = ExportJob.get_by_id(delivery.job_id)
        artifacts = list(Artifact.select().where(Artifact.job == export.id).order_by(Artifact.id))
        if not artifacts:
            raise FatalError(f"delivery to {name}: job {export.id} has no files to deliver")
        try:
            integration, destination = open_connection(ctx.settings, name)
            check_enabled(integration.name, integration.disabled_reason)
        except ExportsError as exc:
            raise FatalError(f"delivery to {name}: {exc}") from None
        when = export.started_at or export.created_at
        fmt = str(export.spec.get("format", ""))
        with local_copies(ctx.settings, artifacts, ctx.work_dir / "deliver") as paths:
            by_folder: dict[str, list[DeliveryFile]] = {}
            hashed_in_transfer = bool(getattr(destination, "verifies_content", False))
            for part, (artifact, path) in enumerate(zip(artifacts, paths, strict=True), start=1):
                if not unchanged(path, artifact, hash_it=not hashed_in_transfer):
                    raise FatalError(f"delivery to {name}: {artifact.name} changed on disk since the export wrote it")
                target = render_target(
                    delivery.target, template=export.template_name or "export", fmt=fmt, when=when,
                    count=artifact.rows, part=part,
                )  # fmt: skip
                folder, remote_name = split_target(target, artifact.name, len(artifacts) == 1)
                by_folder.setdefault(folder, []).append(
                    DeliveryFile(remote_name, path, artifact.size, artifact.sha256, artifact.content_type)
                )
            receipts: list[Receipt] = []
            for folder, files in by_folder.items():
                try:
                    receipts.extend(destination.deliver(files, folder))
                except (RetryableError, FatalError, ItemRejected) as exc:
                    exc.args = (f"delivery to {name}: {exc}",)
                    raise
        return receipts

    def _failed(self, ctx: JobContext, delivery: Delivery, exc: ExportsError) -> None:
        """Record the failure; a transient one that will be retried leaves the delivery queued, a final one turns
        the export job `partial` and names the delivery, and counts against the integration (engine.destinations.
        connections: a webhook is disabled after 5 in a row)."""
        message = str(exc) if str(exc).startswith("delivery to") else f"delivery to {delivery.integration_name}: {exc}"
        if isinstance(exc, RetryableError) and ctx.can_retry():
            Delivery.update(status="queued", last_error=message).where(Delivery.id == delivery.id).execute()
            ctx.channel.publish(delivery.job_id, message=f"{message}; will retry")
            return
        Delivery.update(status="failed", last_error=message, finished_at=utcnow()).where(
            Delivery.id == delivery.id
        ).execute()
        mark_delivery_problem(delivery.job_id, delivery.integration_name, message)
        ctx.channel.publish(delivery.job_id, message=message)
        disabled = record_delivery_failure(delivery.integration_name, message)
        if disabled:
            ctx.channel.publish(delivery.job_id, message=f"integration {delivery.integration_name} {disabled}")
        delivery_failed(ctx.settings, delivery.id, inline=isinstance(ctx.channel, LocalChannel))


PROBLEM_KEYS = {False: "failed_deliveries", True: "held_deliveries"}  # the export report's lists, by `held`


def mark_delivery_problem(job_id: int, integration: str, message: str, *, held: bool = False) -> None:
    """The export job ends `partial` (its files are kept) and says which delivery failed or is held, and why."""
    job = ExportJob.get_by_id(job_id)
    report = _without(job.report or {}, integration)
    report[PROBLEM_KEYS[held]] = [*report.get(PROBLEM_KEYS[held], []), integration]
    status = "partial" if job.status in ("succeeded", "partial") else job.status
    ExportJob.update(status=status, error=message, report=report).where(ExportJob.id == job_id).execute()


def _without(report: Mapping[str, Any], integration: str) -> dict[str, Any]:
    """The report with `integration` taken out of its failed and held deliveries (an emptied list removed)."""
    out = dict(report)
    for key in PROBLEM_KEYS.values():
        names = [n for n in out.get(key, []) if n != integration]
        if names:
            out[key] = names
        else:
            out.pop(key, None)
    return out


def mark_delivery_succeeded(job_id: int, integration: str) -> None:
    """A delivery sent again after a failure or a hold: the export job is whole again when nothing else is wrong."""
    job = ExportJob.get_by_id(job_id)
    if not any(integration in (job.report or {}).get(key, []) for key in PROBLEM_KEYS.values()):
        return
    report = _without(job.report, integration)
    changes: dict[str, Any] = {"report": report}
    if not any(key in report for key in PROBLEM_KEYS.values()) and job.status == "partial" and not job.failed:
        changes.update(status="succeeded", error=None)
    ExportJob.update(**changes).where(ExportJob.id == job_id).execute()


def _receipt_dict(receipt: Receipt) -> dict[str, Any]:
    return {
        "remote": receipt.remote,
        "size": receipt.size,
        "checksum": receipt.checksum,
        "url": receipt.url,
        "detail": receipt.detail,
    }
