"""Plain, read-only views of engine objects that the services return: the gRPC servicer, the CLI and the console
render these, never peewee rows (no lazy query runs outside the services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.models import (
    ApiKey,
    Artifact,
    AuditEntry,
    Delivery,
    ExportJob,
    Notification,
    Schedule,
    ScheduleRun,
    Template,
    TemplateVersion,
    User,
)


@dataclass(frozen=True)
class ArtifactView:
    id: int
    name: str
    format: str
    content_type: str
    rows: int
    size: int
    sha256: str
    created_at: dt.datetime
    expires_at: dt.datetime

    @classmethod
    def of(cls, a: Artifact) -> ArtifactView:
        return cls(a.id, a.name, a.format, a.content_type, a.rows, a.size, a.sha256, a.created_at, a.expires_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "format": self.format,
            "content_type": self.content_type,
            "rows": self.rows,
            "size": self.size,
            "sha256": self.sha256,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    status: str
    phase: str
    template_name: str | None
    template_version: int | None
    requested_by: str
    total: int
    processed: int
    exported: int
    excluded: int
    failed: int
    error: str | None
    report: Mapping[str, Any]
    spec: Mapping[str, Any]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    artifacts: tuple[ArtifactView, ...] = field(default=())
    deliveries: tuple[DeliveryView, ...] = field(default=())
    schedule: str | None = None  # the name of the schedule that fired it (None once that schedule is deleted)
    due_at: dt.datetime | None = None  # the due time of that schedule it runs for

    @classmethod
    def of(
        cls,
        job: ExportJob,
        artifacts: Iterable[Artifact] = (),
        deliveries: Iterable[Delivery] = (),
        schedule: str | None = None,
    ) -> JobView:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            phase=job.phase or "",
            template_name=job.template_name,
            template_version=job.template_version,
            requested_by=job.requested_by or "",
            total=job.total,
            processed=job.processed,
            exported=job.exported,
            excluded=job.excluded,
            failed=job.failed,
            error=job.error,
            report=job.report or {},
            spec=job.spec or {},
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            artifacts=tuple(ArtifactView.of(a) for a in artifacts),
            deliveries=tuple(DeliveryView.of(d) for d in deliveries),
            schedule=schedule,
            due_at=job.due_at,
        )

    @property
    def excluded_by_rule(self) -> dict[str, int]:
        return {str(rule): int(n) for rule, n in (self.report.get("excluded_by_rule") or {}).items()}

    @property
    def warnings(self) -> int:
        return int(self.report.get("warnings") or 0)


def job_views(jobs: list[ExportJob]) -> list[JobView]:
    """Views of several jobs with their artifacts, deliveries and schedule names, in at most four queries whatever
    their number."""
    by_job: dict[int, list[Artifact]] = {}
    deliveries: dict[int, list[Delivery]] = {}
    schedules: dict[int, str] = {}
    if jobs:
        schedule_ids = {j.schedule_id for j in jobs if j.schedule_id is not None}
        if schedule_ids:
            query = Schedule.select(Schedule.id, Schedule.name).where(Schedule.id.in_(schedule_ids))
            schedules = {row.id: row.name for row in query}
        ids = [j.id for j in jobs]
        for artifact in Artifact.select().where(Artifact.job.in_(ids)).order_by(Artifact.id):
            by_job.setdefault(artifact.job_id, []).append(artifact)
        for delivery in Delivery.select().where(Delivery.job.in_(ids)).order_by(Delivery.id):
            deliveries.setdefault(delivery.job_id, []).append(delivery)
    return [
        JobView.of(job, by_job.get(job.id, ()), deliveries.get(job.id, ()), schedules.get(job.schedule_id or 0))
        for job in jobs
    ]


@dataclass(frozen=True)
class TemplateView:
    name: str
    description: str
    format: str
    version: int
    predefined: bool
    spec: Mapping[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, t: Template) -> TemplateView:
        return cls(t.name, t.description or "", t.format, t.version, bool(t.predefined), t.spec, t.created_at,
                   t.updated_at)  # fmt: skip

    @property
    def statuses(self) -> list[str]:
        from engine.pipeline.spec import DEFAULT_STATUSES

        return list((self.spec.get("selection") or {}).get("statuses") or DEFAULT_STATUSES)


@dataclass(frozen=True)
class TemplateVersionView:
    version: int
    spec: Mapping[str, Any]
    created_at: dt.datetime

    @classmethod
    def of(cls, v: TemplateVersion) -> TemplateVersionView:
        return cls(v.version, v.spec, v.created_at)


@dataclass(frozen=True)
class TransformArgView:
    """One argument of a transformation: the JSON types it accepts (str, int, float, bool, dict, list, null)."""

    name: str
    types: tuple[str, ...]
    required: bool
    default: Any


@dataclass(frozen=True)
class TransformInfoView:
    """A transformation of the engine's vocabulary, as an editor offers it."""

    name: str
    doc: str
    args: tuple[TransformArgView, ...]


@dataclass(frozen=True)
class SpecProblemView:
    """One reason a template spec is refused: `path` names the part (`columns[3].transforms[2]`, `columns[1].header`,
    `selection`, `options`...; `template` for the whole), `message` says what is wrong."""

    path: str
    message: str


@dataclass(frozen=True)
class ApiKeyView:
    """An API key without its hash (the plaintext is only ever shown once, at creation)."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyView:
        return cls(k.id, k.name, k.role, k.prefix, k.created_at, k.last_used_at, k.revoked_at)


MASK = "********"


@dataclass(frozen=True)
class IntegrationView:
    """An integration as shown to anyone: settings in full, secrets only as the names of those that are set."""

    id: int
    name: str
    kind: str
    settings: Mapping[str, Any]
    secrets_set: tuple[str, ...]  # names of the secrets that have a value (shown masked, never their value)
    created_at: dt.datetime
    updated_at: dt.datetime
    tested_at: dt.datetime | None
    test_ok: bool | None
    test_message: str
    consecutive_failures: int = 0  # failed deliveries in a row
    disabled_reason: str | None = None  # set while deliveries to it are refused (a successful test clears it)

    @property
    def status(self) -> str:
        return "disabled" if self.disabled_reason else "active"

    def masked_secrets(self) -> dict[str, str]:
        return dict.fromkeys(self.secrets_set, MASK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "settings": dict(self.settings),
            "secrets": self.masked_secrets(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "tested_at": self.tested_at.isoformat() if self.tested_at else None,
            "test_ok": self.test_ok,
            "test_message": self.test_message,
            "status": self.status,
            "consecutive_failures": self.consecutive_failures,
            "disabled_reason": self.disabled_reason,
        }


@dataclass(frozen=True)
class ProbeView:
    """The outcome of an integration's connection test."""

    ok: bool
    latency_ms: float
    message: str
    details: Mapping[str, str]
    trusted: tuple[str, ...] = ()  # settings stored from the test's details (`--trust`: an SFTP host key)


@dataclass(frozen=True)
class DeliveryView:
    id: int
    job_id: int
    task_id: int | None
    integration: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    held_reason: str | None
    gate: Mapping[str, float] | None  # its publish gate: max_excluded_percent, max_drop_percent
    receipts: tuple[Mapping[str, Any], ...]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryView:
        return cls(
            id=d.id,
            job_id=d.job_id,
            task_id=d.task_id,
            integration=d.integration_name,
            target=d.target,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            held_reason=d.held_reason,
            gate=d.gate or None,
            receipts=tuple(d.receipts or ()),
            created_at=d.created_at,
            started_at=d.started_at,
            finished_at=d.finished_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration": self.integration,
            "target": self.target,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "held_reason": self.held_reason,
            "gate": dict(self.gate) if self.gate else None,
            "receipts": [dict(r) for r in self.receipts],
        }


@dataclass(frozen=True)
class NotificationView:
    """A notified event (a job's end, a failed delivery): its summary, and how its emails and webhooks went."""

    id: int
    event: str  # export.completed, export.partial, export.failed, delivery.failed
    job_id: int | None
    template_name: str | None
    status: str  # the job's status when it was notified
    title: str
    summary: Mapping[str, Any]
    channels: tuple[Mapping[str, Any], ...]  # {"channel": email|webhook, "integration", "status", "detail"}
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationView:
        return cls(
            id=n.id,
            event=n.event,
            job_id=n.job_id,
            template_name=n.template_name,
            status=n.status,
            title=n.title,
            summary=n.summary or {},
            channels=tuple(n.channels or ()),
            created_at=n.created_at,
            read_at=n.read_at,
        )

    @property
    def read(self) -> bool:
        return self.read_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "job_id": self.job_id,
            "template": self.template_name,
            "status": self.status,
            "title": self.title,
            "summary": dict(self.summary),
            "channels": [dict(c) for c in self.channels],
            "created_at": self.created_at.isoformat(),
            "read_at": self.read_at.isoformat() if self.read_at else None,
        }


@dataclass(frozen=True)
class UserView:
    """A console user without the password hash."""

    id: int
    username: str
    role: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    locked_until: dt.datetime | None
    disabled_at: dt.datetime | None

    @classmethod
    def of(cls, u: User) -> UserView:
        return cls(u.id, u.username, u.role, u.created_at, u.last_login_at, u.locked_until, u.disabled_at)


@dataclass(frozen=True)
class AuditView:
    """One entry of the audit log."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_name: str
    before: Any
    after: Any
    message: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditView:
        return cls(e.id, e.at, e.actor, e.action, e.object_type, e.object_name, e.before, e.after, e.message)


@dataclass(frozen=True)
class ScheduleView:
    name: str
    template: str
    template_version: int | None  # pinned version; None runs the current one
    overrides: Mapping[str, Any]
    frequency: str
    timezone: str
    enabled: bool
    paused_reason: str | None
    overlap: str
    catch_up: str
    retry_count: int
    retry_backoff: int
    max_failures: int
    notify: str  # failure, always or warnings
    warn_excluded_percent: float
    next_run_at: dt.datetime | None  # naive UTC
    last_run_at: dt.datetime | None
    last_status: str | None
    last_job_id: int | None
    runs: int
    succeeded: int
    partial: int
    failed: int
    consecutive_failures: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: Schedule, notify: str) -> ScheduleView:
        policy: Mapping[str, Any] = row.notifications or {}
        return cls(
            name=row.name,
            template=row.template_name,
            template_version=row.template_version,
            overrides=row.overrides or {},
            frequency=row.frequency,
            timezone=row.timezone,
            enabled=bool(row.enabled),
            paused_reason=row.paused_reason,
            overlap=row.overlap,
            catch_up=row.catch_up,
            retry_count=row.retry_count,
            retry_backoff=row.retry_backoff,
            max_failures=row.max_failures,
            notify=notify,
            warn_excluded_percent=float(policy.get("warn_excluded_percent", 0)),
            next_run_at=row.next_run_at,
            last_run_at=row.last_run_at,
            last_status=row.last_status,
            last_job_id=row.last_job_id,
            runs=row.runs,
            succeeded=row.succeeded,
            partial=row.partial,
            failed=row.failed,
            consecutive_failures=row.consecutive_failures,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class ScheduleRunView:
    id: int
    schedule: str
    due_at: dt.datetime  # naive UTC
    attempt: int
    trigger: str  # due, catch_up, manual, retry, pause
    status: str
    reason: str | None
    job_id: int | None
    retry_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def of(cls, run: ScheduleRun, schedule: str) -> ScheduleRunView:
        return cls(
            run.id, schedule, run.due_at, run.attempt, run.trigger, run.status, run.reason, run.job_id,
            run.retry_at, run.created_at,
        )  # fmt: skip


@dataclass(frozen=True)
class FireTimeView:
    """One coming fire time of a schedule, in UTC and in the schedule's zone (both aware)."""

    utc: dt.datetime
    local: dt.datetime


@dataclass(frozen=True)
class UpcomingRunView:
    """A coming fire time of an active schedule (the dashboard's next runs): in UTC and in the schedule's zone."""

    schedule: str
    template: str
    timezone: str
    utc: dt.datetime
    local: dt.datetime


@dataclass(frozen=True)
class ProductRowView:
    """A product as the catalogue's list shows it."""

    id: int
    sku: str | None
    ean: str | None
    title: str
    brand: str | None
    status: str
    price: Any  # Decimal or None
    currency: str
    stock: int
    completeness: int
    grade: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class CriterionView:
    """One completeness criterion of a product: its weight and whether the product meets it."""

    name: str
    weight: int
    met: bool


@dataclass(frozen=True)
class ProductDetailView:
    """A product with everything it holds (the product input shape in `fields`) and its completeness."""

    id: int
    fields: Mapping[str, Any]
    score: int
    grade: str
    criteria: list[CriterionView]

    @property
    def missing(self) -> list[str]:
        return [c.name for c in self.criteria if not c.met]


@dataclass(frozen=True)
class TemplateVerdictView:
    """What a template's export does with one product: included, excluded (the rule and its message), not
    selected (why), or error (the template itself cannot run)."""

    template: str
    format: str
    verdict: str  # included | excluded | not_selected | error
    rule: str = ""
    message: str = ""
    rows: int = 0  # rows the product gives when included (variants may give several)
    delta: bool = False  # the template sends a product only when it changed since its last run


@dataclass(frozen=True)
class QueueView:
    name: str
    queued: int
    started: int
    failed: int
    deferred: int
    scheduled: int
    finished: int


@dataclass(frozen=True)
class WorkerView:
    name: str
    state: str
    queues: list[str]
    current_job: str | None
    last_heartbeat: dt.datetime | None  # naive UTC
    started_at: dt.datetime | None  # naive UTC
    successful: int
    failed: int


@dataclass(frozen=True)
class FailedTaskView:
    """A task RQ keeps in a queue's failed registry (an engine job's own state is on the Jobs page)."""

    id: str
    queue: str
    description: str
    ended_at: dt.datetime | None  # naive UTC
    error: str  # the head of the exception info
    job_id: int | None = None  # the engine job it ran, when it ran one


@dataclass(frozen=True)
class QueuesView:
    queues: list[QueueView]
    workers: list[WorkerView]
    failed: list[FailedTaskView]
    failed_total: int
