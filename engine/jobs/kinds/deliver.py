"""The deliver job kind: send an export job's stored files to one integration, recorded on a Delivery row.

Each delivery of an export is its own job on the `deliver` queue (retried with backoff on transient failures,
failed at once on fatal ones). A failed delivery never fails the export: the export job turns `partial` and
names the delivery that failed.
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
from engine.catalog.text import slugify
from engine.destinations.base import DeliveryFile, Receipt
from engine.errors import ExportsError, FatalError, InvalidRequest, ItemRejected, RetryableError
from engine.jobs.runner import JobContext, JobOutcome, LocalChannel, execute
from engine.models import Artifact, Delivery, ExportJob
from engine.pipeline.naming import PLACEHOLDERS
from engine.settings import Settings
from engine.storage import open_store

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|]+')
HASH_CHUNK = 1024 * 1024


def render_target(pattern: str, *, template: str, fmt: str, when: Any, count: int, part: int) -> str:
    """The target path pattern rendered with the file-name placeholders, confined: a relative path of safe
    components, no `..`, nothing absolute (InvalidRequest naming `deliveries.path` otherwise)."""
    values = {
        "template": slugify(template) or "export",
        "date": when.strftime("%Y-%m-%d"),
        "datetime": when.strftime("%Y%m%d-%H%M%S"),
        "timestamp": str(int(when.timestamp())),
        "format": fmt,
        "count": str(count),
        "part": str(part),
    }
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


def start_deliveries(
    settings: Settings, job_id: int, *, inline: bool, targets: list[Mapping[str, Any]] | None = None
) -> list[int]:
    """Record one Delivery per target (default: the export's spec deliveries) and run each as a deliver job:
    queued on RQ, or at once in this process when `inline` (the CLI's one-off exports). Returns the task ids."""
    export = ExportJob.get_by_id(job_id)
    tasks = []
    for target in targets if targets is not None else export.spec.get("deliveries") or []:
        delivery = Delivery.create(
            job=job_id, integration_name=target["integration"], target=target.get("path") or "", status="queued"
        )
        tasks.append(queue_delivery(settings, delivery, inline=inline))
    return tasks


def queue_delivery(settings: Settings, delivery: Delivery, *, inline: bool) -> int:
    """A new deliver job for the delivery, queued (or run now when `inline`); returns its id."""
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
    Delivery.update(task=task.id, status="queued").where(Delivery.id == delivery.id).execute()
    if inline:
        execute(task.id, settings, channel=LocalChannel())
    else:
        from engine.jobs.queues import redis_for
        from engine.jobs.state import reset_job_keys
        from engine.jobs.tasks import enqueue_job

        reset_job_keys(redis_for(settings), task.id)
        enqueue_job(settings, task.id, "deliver")
    return int(task.id)


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
        ctx.channel.publish(delivery.job_id, message=f"delivered to {delivery.integration_name}")
        return JobOutcome(files=[], total=len(receipts), processed=len(receipts), exported=len(receipts))

    def finished(self, ctx: JobContext, outcome: JobOutcome) -> None:
        return None

    def _send(self, ctx: JobContext, delivery: Delivery) -> list[Receipt]:
        from engine.services.integrations import open_destination

        name = delivery.integration_name
        export = ExportJob.get_by_id(delivery.job_id)
        artifacts = list(Artifact.select().where(Artifact.job == export.id).order_by(Artifact.id))
        if not artifacts:
            raise FatalError(f"delivery to {name}: job {export.id} has no files to deliver")
        try:
            _view, destination = open_destination(ctx.settings, name)
        except ExportsError as exc:
            raise FatalError(f"delivery to {name}: {exc}") from None
        when = export.started_at or export.created_at
        fmt = str(export.spec.get("format", ""))
        with local_copies(ctx.settings, artifacts, ctx.work_dir / "deliver") as paths:
            by_folder: dict[str, list[DeliveryFile]] = {}
            for part, (artifact, path) in enumerate(zip(artifacts, paths, strict=True), start=1):
                if sha256_file(path) != artifact.sha256:
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
        the export job `partial` and names the delivery."""
        message = str(exc) if str(exc).startswith("delivery to") else f"delivery to {delivery.integration_name}: {exc}"
        if isinstance(exc, RetryableError) and ctx.can_retry():
            Delivery.update(status="queued", last_error=message).where(Delivery.id == delivery.id).execute()
            ctx.channel.publish(delivery.job_id, message=f"{message}; will retry")
            return
        Delivery.update(status="failed", last_error=message, finished_at=utcnow()).where(
            Delivery.id == delivery.id
        ).execute()
        mark_delivery_failed(delivery.job_id, delivery.integration_name, message)
        ctx.channel.publish(delivery.job_id, message=message)
        from engine.services.notifications import delivery_failed  # the services sit above the kinds

        delivery_failed(ctx.settings, delivery.id, inline=isinstance(ctx.channel, LocalChannel))


def mark_delivery_failed(job_id: int, integration: str, message: str) -> None:
    """The export job ends `partial` (its files are kept) and says which delivery failed."""
    job = ExportJob.get_by_id(job_id)
    report = dict(job.report or {})
    failed = [n for n in report.get("failed_deliveries", []) if n != integration] + [integration]
    report["failed_deliveries"] = failed
    status = "partial" if job.status in ("succeeded", "partial") else job.status
    ExportJob.update(status=status, error=message, report=report).where(ExportJob.id == job_id).execute()


def mark_delivery_succeeded(job_id: int, integration: str) -> None:
    """A delivery sent again after a failure: the export job is whole again when nothing else failed."""
    job = ExportJob.get_by_id(job_id)
    report = dict(job.report or {})
    if integration not in report.get("failed_deliveries", []):
        return
    report["failed_deliveries"] = [n for n in report["failed_deliveries"] if n != integration]
    changes: dict[str, Any] = {"report": report}
    if not report["failed_deliveries"]:
        del report["failed_deliveries"]
        if job.status == "partial" and not job.failed:
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
