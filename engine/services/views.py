"""Plain, read-only views of engine objects that the services return: the gRPC servicer, the CLI and the console
render these, never peewee rows (no lazy query runs outside the services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.models import ApiKey, Artifact, ExportJob, Template, TemplateVersion


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

    @classmethod
    def of(cls, job: ExportJob, artifacts: Iterable[Artifact] = ()) -> JobView:
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
        )

    @property
    def excluded_by_rule(self) -> dict[str, int]:
        return {str(rule): int(n) for rule, n in (self.report.get("excluded_by_rule") or {}).items()}

    @property
    def warnings(self) -> int:
        return int(self.report.get("warnings") or 0)


def job_views(jobs: list[ExportJob]) -> list[JobView]:
    """Views of several jobs with their artifacts, in two queries whatever their number."""
    by_job: dict[int, list[Artifact]] = {}
    if jobs:
        query = Artifact.select().where(Artifact.job.in_([j.id for j in jobs])).order_by(Artifact.id)
        for artifact in query:
            by_job.setdefault(artifact.job_id, []).append(artifact)
    return [JobView.of(job, by_job.get(job.id, ())) for job in jobs]


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
