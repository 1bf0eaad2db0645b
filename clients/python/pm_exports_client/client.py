"""ExportsClient: a small typed client of the PM Exports gRPC API (ExportService, CatalogService, ScheduleService).

It sends the API key on every call, turns messages into dataclasses, follows job streams across reconnects
(resuming after the last event seen, so nothing is missed or seen twice), and checks downloads (size and
SHA-256) before moving them into place. Errors are the `grpc.RpcError`s of the calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from pm_exports_client.convert import (
    column_to_message,
    dict_to_struct,
    optional_time,
    product_from_message,
    product_to_message,
    selection_to_message,
    spec_from_message,
    spec_to_message,
    struct_to_dict,
    to_timestamp,
)
from pm_exports_client.schedules import FireTime, ScheduleInfo, ScheduleRunInfo, fields_message, fire_times
from pm_exports_client.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    exports_pb2,
    exports_pb2_grpc,
    schedules_pb2,
    schedules_pb2_grpc,
)

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "partial"})
_STATUS_PREFIX = "JOB_STATUS_"


def status_name(value: int) -> str:
    """'succeeded' for JOB_STATUS_SUCCEEDED."""
    return exports_pb2.JobStatus.Name(value).removeprefix(_STATUS_PREFIX).lower()


def status_value(name: str) -> str:
    """The JobStatus enum name of a status ("succeeded" -> "JOB_STATUS_SUCCEEDED")."""
    value = _STATUS_PREFIX + name.upper()
    if name.lower() not in TERMINAL_STATUSES | {"queued", "running"}:
        raise ValueError(f"unknown job status {name!r}")
    return value


@dataclass(frozen=True)
class Artifact:
    """A file produced by a job."""

    id: int
    name: str
    format: str
    content_type: str
    rows: int
    size: int
    sha256: str
    created_at: dt.datetime | None
    expires_at: dt.datetime | None

    @classmethod
    def from_message(cls, msg: exports_pb2.Artifact) -> Artifact:
        return cls(
            id=msg.id,
            name=msg.name,
            format=msg.format,
            content_type=msg.content_type,
            rows=msg.rows,
            size=msg.size,
            sha256=msg.sha256,
            created_at=optional_time(msg, "created_at"),
            expires_at=optional_time(msg, "expires_at"),
        )


@dataclass(frozen=True)
class JobEvent:
    """One progress event of a job; `seq` orders the events of a job from 1."""

    seq: int
    job_id: int
    time: dt.datetime | None
    status: str
    phase: str
    total: int
    processed: int
    exported: int
    excluded: int
    failed: int
    rate: float
    eta: float | None
    message: str
    artifacts: tuple[Artifact, ...] = ()

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_message(cls, msg: exports_pb2.JobEvent) -> JobEvent:
        return cls(
            seq=msg.seq,
            job_id=msg.job_id,
            time=optional_time(msg, "time"),
            status=status_name(msg.status),
            phase=msg.phase,
            total=msg.total,
            processed=msg.processed,
            exported=msg.exported,
            excluded=msg.excluded,
            failed=msg.failed,
            rate=msg.rate,
            eta=msg.eta_seconds if msg.HasField("eta_seconds") else None,
            message=msg.message,
            artifacts=tuple(Artifact.from_message(a) for a in msg.artifacts),
        )


@dataclass(frozen=True)
class Job:
    """An export job."""

    id: int
    status: str
    phase: str
    template: str
    template_version: int | None
    requested_by: str
    total: int
    processed: int
    exported: int
    excluded: int
    failed: int
    error: str | None
    created_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    artifacts: tuple[Artifact, ...]
    report: dict[str, Any]
    spec: dict[str, Any]
    excluded_by_rule: dict[str, int] = field(default_factory=dict)  # the excluded products are in the report
    warnings: int = 0  # problems that did not exclude a product, listed in the report after the exclusions

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_message(cls, msg: exports_pb2.Job) -> Job:
        return cls(
            id=msg.id,
            status=status_name(msg.status),
            phase=msg.phase,
            template=msg.template,
            template_version=msg.template_version if msg.HasField("template_version") else None,
            requested_by=msg.requested_by,
            total=msg.total,
            processed=msg.processed,
            exported=msg.exported,
            excluded=msg.excluded,
            failed=msg.failed,
            error=msg.error if msg.HasField("error") else None,
            created_at=optional_time(msg, "created_at"),
            started_at=optional_time(msg, "started_at"),
            finished_at=optional_time(msg, "finished_at"),
            artifacts=tuple(Artifact.from_message(a) for a in msg.artifacts),
            report=struct_to_dict(msg.report),
            spec=struct_to_dict(msg.spec),
            excluded_by_rule=dict(msg.excluded_by_rule),
            warnings=msg.warnings,
        )


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_page_token: str


@dataclass(frozen=True)
class Preview:
    """The first rows an export would write, and the products it would exclude."""

    template: str
    format: str
    headers: list[str]
    rows: list[list[str]]
    total: int
    excluded: list[dict[str, Any]]
    excluded_by_rule: dict[str, int]
    incomplete: str = ""  # why it stopped early (time, products read, size), "" when it did not


@dataclass(frozen=True)
class TemplateInfo:
    """A template (or one of its versions, from `get_template(name, version=...)`)."""

    name: str
    description: str
    format: str
    version: int
    predefined: bool
    updated_at: dt.datetime | None
    message: exports_pb2.Template = field(repr=False)
    # its definition (format, rows, selection, columns, rules, options, file_name, delta, images): what
    # create_template and update_template take
    spec: dict[str, Any] = field(default_factory=dict, repr=False)
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class TemplateVersionInfo:
    """One saved version of a template."""

    version: int
    created_at: dt.datetime | None
    format: str
    columns: int


@dataclass(frozen=True)
class Rejection:
    """A product UpsertProducts did not write; `index` is its position in the input, from 0."""

    index: int
    sku: str | None
    ean: str | None
    reason: str


@dataclass
class UpsertSummary:
    received: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    rejections_truncated: bool = False


class DownloadError(Exception):
    """The downloaded bytes do not match the size or SHA-256 the server announced."""


def _definition(template: str | None, overrides: Mapping[str, Any]) -> exports_pb2.ExportDefinition:
    """An ExportDefinition from a template name and overrides (format, selection, columns, fields, options,
    file_name), the same keys as `pm-exports export` builds."""
    unknown = set(overrides) - {"format", "selection", "columns", "fields", "options", "file_name"}
    if unknown:
        raise TypeError(f"unknown export override(s): {', '.join(sorted(unknown))}")
    msg = exports_pb2.ExportDefinition()
    if template is not None:
        msg.template = template
    if overrides.get("format") is not None:
        msg.format = overrides["format"]
    if overrides.get("file_name") is not None:
        msg.file_name = overrides["file_name"]
    msg.fields.extend(overrides.get("fields") or [])
    if overrides.get("options"):
        msg.options.CopyFrom(dict_to_struct(overrides["options"]))
    for column in overrides.get("columns") or []:
        msg.columns.append(column_to_message(column))
    selection = overrides.get("selection")
    if selection:
        msg.selection.CopyFrom(selection_to_message(selection))
    return msg


def _spec(spec: Mapping[str, Any] | exports_pb2.TemplateSpec) -> exports_pb2.TemplateSpec:
    return spec if isinstance(spec, exports_pb2.TemplateSpec) else spec_to_message(spec)


def _publish(tmp_path: Path, final: Path) -> None:
    """Rename a downloaded temporary file into place with the mode of a newly created file (0666 less the umask,
    0644 usually, like the engine's exports) instead of mkstemp's private 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    os.replace(tmp_path, final)


class ExportsClient:
    """A connection to a PM Exports engine. Use it as a context manager, or call `close()`."""

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        tls: bool = False,
        root_certificates: bytes | str | Path | None = None,
        client_cert: bytes | str | Path | None = None,
        client_key: bytes | str | Path | None = None,
        timeout: float | None = 30.0,
        reconnect_for: float = 60.0,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        """`timeout` bounds each unary call; streams have none unless given. `reconnect_for` is how long a
        stream keeps reconnecting after the server became unavailable. Certificates are PEM bytes or paths;
        giving any of them implies TLS; `client_cert` and `client_key` are for mutual TLS."""
        self.target = target
        self.timeout = timeout
        self.reconnect_for = reconnect_for
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        options = [("grpc.max_receive_message_length", 8 * 1024 * 1024), *channel_options]
        if tls or root_certificates or client_cert:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_pem(root_certificates),
                private_key=_pem(client_key),
                certificate_chain=_pem(client_cert),
            )
            self.channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.exports = exports_pb2_grpc.ExportServiceStub(self.channel)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.channel)
        self.schedules = schedules_pb2_grpc.ScheduleServiceStub(self.channel)

    # --- lifecycle ---

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> ExportsClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _kw(self, timeout: float | None = None, *, stream: bool = False) -> dict[str, Any]:
        return {"metadata": self._metadata, "timeout": timeout if timeout is not None or stream else self.timeout}

    # --- exports ---

    def run_export(
        self, template: str | None = None, *, background: bool = False, **overrides: Any
    ) -> Iterator[JobEvent]:
        """Start an export and yield its events until it ends. If the stream breaks after the job was created,
        the job is followed on with WatchJob from the last event seen."""
        request = exports_pb2.RunExportRequest(export=_definition(template, overrides), background=background)
        last: JobEvent | None = None
        try:
            for msg in self.exports.RunExport(request, **self._kw(stream=True)):
                last = JobEvent.from_message(msg)
                yield last
        except grpc.RpcError as exc:
            if last is None or exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        if last is not None and not last.done:
            yield from self.watch(last.job_id, after_seq=last.seq)

    def create_export(self, template: str | None = None, *, background: bool = False, **overrides: Any) -> Job:
        """Create an export job and return it (a small export has already finished)."""
        request = exports_pb2.CreateExportRequest(export=_definition(template, overrides), background=background)
        return Job.from_message(self.exports.CreateExport(request, **self._kw()))

    def watch(self, job_id: int, after_seq: int = 0, *, timeout: float | None = None) -> Iterator[JobEvent]:
        """Events of a job after `after_seq`, then live ones until it ends. When the server becomes unavailable
        (restart, network), reconnect and resume after the last event seen, for up to `reconnect_for` seconds."""
        last_seq = after_seq
        deadline = None if timeout is None else time.monotonic() + timeout
        failing_since: float | None = None
        delay = 0.2
        while True:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            request = exports_pb2.WatchJobRequest(job_id=job_id, after_seq=last_seq)
            try:
                for msg in self.exports.WatchJob(request, **self._kw(remaining, stream=True)):
                    event = JobEvent.from_message(msg)
                    last_seq = event.seq
                    failing_since, delay = None, 0.2
                    yield event
                    if event.done:
                        return
                return  # the server ended the stream without a terminal event: nothing more to follow
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.reconnect_for or (deadline is not None and now >= deadline):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def get_job(self, job_id: int) -> Job:
        return Job.from_message(self.exports.GetJob(exports_pb2.GetJobRequest(job_id=job_id), **self._kw()))

    def list_jobs(
        self,
        *,
        statuses: Iterable[str] = (),
        template: str | None = None,
        requested_by: str | None = None,
        created_after: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> JobPage:
        """One page of jobs, newest first; pass `next_page_token` back for the next page."""
        request = exports_pb2.ListJobsRequest(
            statuses=[status_value(s) for s in statuses],
            page_size=page_size,
            page_token=page_token,
        )
        if template is not None:
            request.template = template
        if requested_by is not None:
            request.requested_by = requested_by
        if created_after is not None:
            request.created_after.CopyFrom(to_timestamp(created_after))
        if created_before is not None:
            request.created_before.CopyFrom(to_timestamp(created_before))
        response = self.exports.ListJobs(request, **self._kw())
        return JobPage([Job.from_message(j) for j in response.jobs], response.next_page_token)

    def iter_jobs(self, **filters: Any) -> Iterator[Job]:
        """Every job matching the filters of `list_jobs`, page after page."""
        token = ""
        while True:
            page = self.list_jobs(page_token=token, **filters)
            yield from page.jobs
            if not page.next_page_token:
                return
            token = page.next_page_token

    def cancel(self, job_id: int) -> Job:
        return Job.from_message(self.exports.CancelJob(exports_pb2.CancelJobRequest(job_id=job_id), **self._kw()))

    def retry(self, job_id: int) -> Job:
        return Job.from_message(self.exports.RetryJob(exports_pb2.RetryJobRequest(job_id=job_id), **self._kw()))

    def download(
        self,
        job_id: int,
        path: str | Path,
        artifact_id: int | None = None,
        *,
        name: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Download a file of a job (the first one by default) to `path`, or into `path` under its own name
        when `path` is a folder. The bytes go to a temporary file in the same folder, are checked against the
        announced size and SHA-256, then renamed into place. A stream broken by UNAVAILABLE is resumed."""
        target = Path(path)
        request = exports_pb2.DownloadArtifactRequest(job_id=job_id)
        if artifact_id is not None:
            request.artifact_id = artifact_id
        if name is not None:
            request.name = name
        digest = hashlib.sha256()
        received = 0
        info: exports_pb2.Artifact | None = None
        tmp_path: Path | None = None
        handle: Any = None
        failing_since: float | None = None
        try:
            while True:
                request.offset = received
                try:
                    for msg in self.exports.DownloadArtifact(request, **self._kw(stream=True)):
                        if msg.HasField("info"):
                            if info is None:
                                info = msg.info
                                request.artifact_id = info.id
                                final = target / info.name if target.is_dir() else target
                                final.parent.mkdir(parents=True, exist_ok=True)
                                fd, tmp_name = tempfile.mkstemp(
                                    prefix=f".{final.name}.", suffix=".part", dir=final.parent
                                )
                                tmp_path, handle = Path(tmp_name), os.fdopen(fd, "wb")
                            continue
                        if handle is None:
                            raise DownloadError("the server sent bytes before describing the file")
                        handle.write(msg.chunk)
                        digest.update(msg.chunk)
                        received += len(msg.chunk)
                        failing_since = None
                        if on_progress is not None and info is not None:
                            on_progress(received, info.size)
                    break
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE or info is None:
                        raise
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > self.reconnect_for:
                        raise
                    time.sleep(0.5)
            if info is None or handle is None or tmp_path is None:
                raise DownloadError("the server sent no file description")
            handle.close()
            if received != info.size:
                raise DownloadError(f"{info.name}: received {received} bytes, expected {info.size}")
            if digest.hexdigest() != info.sha256:
                raise DownloadError(f"{info.name}: SHA-256 mismatch (got {digest.hexdigest()}, expected {info.sha256})")
            final = target / info.name if target.is_dir() else target
            _publish(tmp_path, final)
            tmp_path = None
            return final
        finally:
            if handle is not None and not handle.closed:
                handle.close()
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)

    def preview(self, template: str | None = None, *, limit: int = 20, **overrides: Any) -> Preview:
        request = exports_pb2.PreviewExportRequest(export=_definition(template, overrides), limit=limit)
        r = self.exports.PreviewExport(request, **self._kw())
        excluded = [
            {
                "product_id": e.product_id,
                "sku": e.sku if e.HasField("sku") else None,
                "ean": e.ean if e.HasField("ean") else None,
                "rule": e.rule,
                "message": e.message,
            }
            for e in r.excluded
        ]
        return Preview(
            r.template,
            r.format,
            list(r.headers),
            [list(row.cells) for row in r.rows],
            r.total,
            excluded,
            dict(r.excluded_by_rule),
            r.incomplete,
        )

    def list_templates(self) -> list[TemplateInfo]:
        """Every template, by name (read page by page: a page holds what fits in 4 MiB)."""
        found: list[TemplateInfo] = []
        token = ""
        while True:
            request = exports_pb2.ListTemplatesRequest(page_token=token)
            response = self.exports.ListTemplates(request, **self._kw())
            found.extend(_template(t) for t in response.templates)
            token = response.next_page_token
            if not token:
                return found

    def get_template(self, name: str, version: int | None = None) -> TemplateInfo:
        """A template as it is now, or one of its saved versions (its spec then; name and description are
        the current ones)."""
        request = exports_pb2.GetTemplateRequest(name=name)
        if version is not None:
            request.version = version
        return _template(self.exports.GetTemplate(request, **self._kw()))

    def template_versions(self, name: str) -> list[TemplateVersionInfo]:
        """Every saved version of a template, oldest first (the last one is the current one)."""
        request = exports_pb2.ListTemplateVersionsRequest(name=name)
        response = self.exports.ListTemplateVersions(request, **self._kw())
        return [
            TemplateVersionInfo(v.version, optional_time(v, "created_at"), v.format, v.columns)
            for v in response.versions
        ]

    def create_template(
        self, name: str, spec: Mapping[str, Any] | exports_pb2.TemplateSpec, description: str = ""
    ) -> TemplateInfo:
        """Save a new template. `spec` is a dict like `TemplateInfo.spec` (or the TemplateSpec message); the
        server checks it fully (INVALID_ARGUMENT naming the column or key at fault, or `name` when taken)."""
        request = exports_pb2.CreateTemplateRequest(name=name, description=description, spec=_spec(spec))
        return _template(self.exports.CreateTemplate(request, **self._kw()))

    def update_template(
        self,
        name: str,
        *,
        spec: Mapping[str, Any] | exports_pb2.TemplateSpec | None = None,
        description: str | None = None,
        new_name: str | None = None,
    ) -> TemplateInfo:
        """Change a custom template (what is None stays); a different spec makes a new version. A predefined
        template is read-only: FAILED_PRECONDITION (copy it instead)."""
        request = exports_pb2.UpdateTemplateRequest(name=name)
        if spec is not None:
            request.spec.CopyFrom(_spec(spec))
        if description is not None:
            request.description = description
        if new_name is not None:
            request.new_name = new_name
        return _template(self.exports.UpdateTemplate(request, **self._kw()))

    def copy_template(self, name: str, new_name: str) -> TemplateInfo:
        """Save a custom copy of any template under `new_name`."""
        request = exports_pb2.CopyTemplateRequest(name=name, new_name=new_name)
        return _template(self.exports.CopyTemplate(request, **self._kw()))

    def delete_template(self, name: str) -> None:
        """Delete a custom template (admin keys only; its jobs keep their snapshots)."""
        self.exports.DeleteTemplate(exports_pb2.DeleteTemplateRequest(name=name), **self._kw())

    def _report_parts(self, job_id: int) -> Iterator[exports_pb2.ReportInfo | bytes]:
        """The DownloadReport stream, checked: its file description first, then the bytes."""
        request = exports_pb2.DownloadReportRequest(job_id=job_id)
        described = False
        for msg in self.exports.DownloadReport(request, **self._kw(stream=True)):
            if msg.HasField("info"):
                if described:
                    raise DownloadError("the server described the report twice")
                described = True
                yield msg.info
            elif not described:
                raise DownloadError("the server sent bytes before describing the report")
            else:
                yield msg.chunk
        if not described:
            raise DownloadError("the server sent no report description")

    def iter_report(self, job_id: int) -> Iterator[bytes]:
        """The bytes of a job's report as they arrive (UTF-8 CSV, starting with a byte order mark)."""
        for part in self._report_parts(job_id):
            if isinstance(part, bytes):
                yield part

    def download_report(self, job_id: int, path: str | Path) -> Path:
        """Download the report of a job (CSV: excluded products with their rule, then warnings) to `path`, or
        into `path` under its own name ("job-12-report.csv") when `path` is a folder. The bytes go to a
        temporary file in the same folder, renamed into place once the whole report has arrived."""
        target = Path(path)
        final = target
        tmp_path: Path | None = None
        handle: Any = None
        try:
            for part in self._report_parts(job_id):
                if isinstance(part, bytes):
                    handle.write(part)
                    continue
                final = target / part.name if target.is_dir() else target
                final.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
                tmp_path, handle = Path(tmp_name), os.fdopen(fd, "wb")
            if handle is None or tmp_path is None:  # pragma: no cover - _report_parts raises first
                raise DownloadError("the server sent no report description")
            handle.close()
            _publish(tmp_path, final)
            tmp_path = None
            return final
        finally:
            if handle is not None and not handle.closed:
                handle.close()
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)

    # --- catalogue ---

    def upsert_products(self, products: Iterable[Mapping[str, Any]], *, timeout: float | None = None) -> UpsertSummary:
        """Create or update products (dicts in the engine's product input shape), streamed one by one. Each
        dict writes exactly its keys. A dict that cannot be encoded is rejected here, like the server rejects
        a bad product: it is counted and reported with its index, and the others go on."""
        local: list[Rejection] = []
        sent: list[int] = []  # input index of each product sent, by its position in the stream

        def requests() -> Iterator[catalog_pb2.UpsertProductsRequest]:
            for index, data in enumerate(products):
                try:
                    product, mask = product_to_message(data)
                except (ValueError, TypeError, KeyError) as exc:
                    local.append(Rejection(index, _ident(data, "sku"), _ident(data, "ean"), str(exc)))
                    continue
                request = catalog_pb2.UpsertProductsRequest(product=product)
                request.update_mask.paths.extend(mask)
                sent.append(index)
                yield request

        response = self.catalog.UpsertProducts(requests(), **self._kw(timeout, stream=True))
        rejections = [
            Rejection(
                sent[r.index] if r.index < len(sent) else r.index,
                r.sku if r.HasField("sku") else None,
                r.ean if r.HasField("ean") else None,
                r.reason,
            )
            for r in response.rejections
        ]
        rejections = sorted([*rejections, *local], key=lambda r: r.index)
        return UpsertSummary(
            received=response.received + len(local),
            created=response.created,
            updated=response.updated,
            rejected=response.rejected + len(local),
            rejections=rejections,
            rejections_truncated=response.rejections_truncated,
        )

    def delete_products(self, *, ids: Iterable[int] = (), skus: Iterable[str] = (), eans: Iterable[str] = ()) -> int:
        request = catalog_pb2.DeleteProductsRequest(ids=list(ids), skus=list(skus), eans=list(eans))
        return int(self.catalog.DeleteProducts(request, **self._kw()).deleted)

    def get_product(self, *, id: int | None = None, sku: str | None = None, ean: str | None = None) -> dict[str, Any]:
        """One product as a dict in the product input shape, with its id, completeness, grade and times."""
        if sum(v is not None for v in (id, sku, ean)) != 1:
            raise TypeError("give exactly one of id, sku or ean")
        if id is not None:
            request = catalog_pb2.GetProductRequest(id=id)
        elif sku is not None:
            request = catalog_pb2.GetProductRequest(sku=sku)
        else:
            request = catalog_pb2.GetProductRequest(ean=ean)
        return product_from_message(self.catalog.GetProduct(request, **self._kw()))

    # --- schedules ---

    def create_schedule(
        self,
        name: str,
        template: str,
        frequency: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> ScheduleInfo:
        """A recurring export of `template` at `frequency` (`daily 06:00`, `weekly mon,thu 06:00`, `monthly last
        06:00`, `every 2 hours`, `cron M H DoM Mon DoW`); other fields by keyword (timezone, overlap, catch_up,
        retry_count, retry_backoff_seconds, max_failures, notify, warn_excluded_percent, enabled,
        template_version). INVALID_ARGUMENT names the field at fault."""
        values = {"template": template, "frequency": frequency, **fields}
        request = schedules_pb2.CreateScheduleRequest(name=name, fields=fields_message(values, overrides))
        return ScheduleInfo.from_message(self.schedules.CreateSchedule(request, **self._kw()))

    def update_schedule(self, name: str, *, overrides: Mapping[str, Any] | None = None, **fields: Any) -> ScheduleInfo:
        """Change the fields given by keyword (the others stay); `overrides` replaces the export overrides."""
        request = schedules_pb2.UpdateScheduleRequest(name=name, fields=fields_message(fields, overrides))
        return ScheduleInfo.from_message(self.schedules.UpdateSchedule(request, **self._kw()))

    def get_schedule(self, name: str) -> ScheduleInfo:
        request = schedules_pb2.GetScheduleRequest(name=name)
        return ScheduleInfo.from_message(self.schedules.GetSchedule(request, **self._kw()))

    def list_schedules(self, *, enabled: bool | None = None) -> list[ScheduleInfo]:
        """Every schedule, or only the active (enabled=True) or paused (False) ones."""
        request = schedules_pb2.ListSchedulesRequest()
        if enabled is not None:
            request.enabled = enabled
        response = self.schedules.ListSchedules(request, **self._kw())
        return [ScheduleInfo.from_message(s) for s in response.schedules]

    def delete_schedule(self, name: str) -> None:
        self.schedules.DeleteSchedule(schedules_pb2.DeleteScheduleRequest(name=name), **self._kw())

    def pause_schedule(self, name: str) -> ScheduleInfo:
        request = schedules_pb2.PauseScheduleRequest(name=name)
        return ScheduleInfo.from_message(self.schedules.PauseSchedule(request, **self._kw()))

    def resume_schedule(self, name: str) -> ScheduleInfo:
        request = schedules_pb2.ResumeScheduleRequest(name=name)
        return ScheduleInfo.from_message(self.schedules.ResumeSchedule(request, **self._kw()))

    def run_schedule_now(self, name: str) -> ScheduleRunInfo:
        """Run it once now, outside its frequency; the run names the job it queued."""
        request = schedules_pb2.RunScheduleNowRequest(name=name)
        return ScheduleRunInfo.from_message(self.schedules.RunScheduleNow(request, **self._kw()))

    def schedule_runs(self, name: str, *, limit: int = 50) -> list[ScheduleRunInfo]:
        """Its latest runs, newest first."""
        request = schedules_pb2.ListScheduleRunsRequest(name=name, limit=limit)
        response = self.schedules.ListScheduleRuns(request, **self._kw())
        return [ScheduleRunInfo.from_message(r) for r in response.runs]

    def next_runs(self, name: str, count: int = 5) -> list[FireTime]:
        """Its next `count` fire times, in UTC and in the schedule's own zone."""
        request = schedules_pb2.PreviewNextRunsRequest(name=name, count=count)
        return fire_times(self.schedules.PreviewNextRuns(request, **self._kw()))


def _ident(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return None if value is None else str(value)


def _template(msg: exports_pb2.Template) -> TemplateInfo:
    return TemplateInfo(
        msg.name,
        msg.description,
        msg.format,
        msg.version,
        msg.predefined,
        optional_time(msg, "updated_at"),
        msg,
        spec=spec_from_message(msg.spec),
        created_at=optional_time(msg, "created_at"),
    )


def _pem(value: bytes | str | Path | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).read_bytes()
