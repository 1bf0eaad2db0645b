"""ExportService, CatalogService, IntegrationService and NotificationService: each method converts its request,
calls engine.services, converts back.

Authentication, roles, error translation and logging are the interceptor's (engine.rpc.interceptors).
Streams stop when the client goes away, its deadline passes, or the server shuts down; in the last case the
stream ends with UNAVAILABLE and the seq to resume after.
"""

from __future__ import annotations

import base64
import codecs
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import grpc
from pm_exports_client.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    exports_pb2,
    exports_pb2_grpc,
    integrations_pb2,
    integrations_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
)

from engine.errors import InvalidRequest, NotFound, RetryableError
from engine.jobs.events import TERMINAL
from engine.rpc import convert
from engine.rpc.convert import integrations as convert_integrations
from engine.rpc.convert.notifications import notification_to_proto
from engine.rpc.interceptors import current_caller, release_db_connection
from engine.services import catalog, deliveries, integrations, jobs, notifications, reports, templates
from engine.services.apikeys import require_role
from engine.settings import Settings

Message = TypeVar("Message", bound=Any)

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a page of a list ends before this (the message limit is 8 MiB)
CHUNK_SIZE = 1024 * 1024  # bytes per DownloadArtifact/DownloadReport message (the contract's maximum)
REPORT_CONTENT_TYPE = "text/csv; charset=utf-8"
DEFAULT_PAGE_SIZE = 50
DEFAULT_PREVIEW_ROWS = 20


def _fitting(messages: Iterable[Message]) -> tuple[list[Message], bool]:
    """The first messages that fit in MAX_ANSWER_BYTES (at least one), and whether some were left out."""
    kept: list[Message] = []
    size = 0
    for message in messages:
        size += message.ByteSize() + 6  # the field's tag and length
        if kept and size > MAX_ANSWER_BYTES:
            return kept, True
        kept.append(message)
    return kept, False


def _name_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _name_after(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("malformed page token", "page_token") from None


def _requested_by() -> str:
    return f"api:{current_caller().name}"


def _export_request(definition: exports_pb2.ExportDefinition) -> tuple[str | None, dict[str, Any]]:
    """Template name and overrides of a request; an unknown template is a bad argument of the request here
    (NOT_FOUND is for GetTemplate)."""
    template, overrides = convert.export_request(definition)
    if template is not None:
        try:
            templates.get_template(template)
        except NotFound as exc:
            raise InvalidRequest(str(exc), "export.template") from None
    return template, overrides


class ExportServicer(exports_pb2_grpc.ExportServiceServicer):
    def __init__(self, settings: Settings, stopping: threading.Event) -> None:
        self.settings = settings
        self.stopping = stopping

    def _follow(self, job_id: int, after_seq: int, context: grpc.ServicerContext) -> Iterator[exports_pb2.JobEvent]:
        """Events of a job after `after_seq` until it ends, the call ends or the server stops."""

        def stop() -> bool:
            return self.stopping.is_set() or not context.is_active()

        events = jobs.watch_job(self.settings, job_id, after_seq, stop=stop)
        release_db_connection()  # the rest reads Redis only: do not hold a database connection while waiting
        last = after_seq
        for event in events:
            if event is None:  # an idle second
                continue
            last = int(event["seq"])
            yield convert.event_to_proto(event)
            if event.get("status") in TERMINAL:
                return
        if self.stopping.is_set() and context.is_active():
            raise RetryableError(f"the server is shutting down: watch job {job_id} again with after_seq={last}", 1)

    def RunExport(self, request: exports_pb2.RunExportRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        template, overrides = _export_request(request.export)
        job = jobs.create_export(
            self.settings, template, overrides, requested_by=_requested_by(), inline_allowed=not request.background
        )
        yield from self._follow(job.id, 0, context)

    def CreateExport(self, request: exports_pb2.CreateExportRequest, context: grpc.ServicerContext) -> Any:
        template, overrides = _export_request(request.export)
        job = jobs.create_export(
            self.settings, template, overrides, requested_by=_requested_by(), inline_allowed=not request.background
        )
        return convert.job_to_proto(job)

    def WatchJob(self, request: exports_pb2.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        yield from self._follow(request.job_id, request.after_seq, context)

    def GetJob(self, request: exports_pb2.GetJobRequest, context: grpc.ServicerContext) -> Any:
        return convert.job_to_proto(jobs.get_job(request.job_id))

    def ListJobs(self, request: exports_pb2.ListJobsRequest, context: grpc.ServicerContext) -> Any:
        found, token = jobs.list_jobs(
            statuses=[convert.status_from_proto(s) for s in request.statuses] or None,
            template=request.template if request.HasField("template") else None,
            requested_by=request.requested_by if request.HasField("requested_by") else None,
            created_after=_naive_utc(request, "created_after"),
            created_before=_naive_utc(request, "created_before"),
            schedule=request.schedule if request.HasField("schedule") else None,
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            page_token=request.page_token or None,
        )
        page, cut = _fitting(convert.job_to_proto(j) for j in found)
        if cut:
            token = jobs.page_token_after(page[-1].id)
        return exports_pb2.ListJobsResponse(jobs=page, next_page_token=token)

    def CancelJob(self, request: exports_pb2.CancelJobRequest, context: grpc.ServicerContext) -> Any:
        return convert.job_to_proto(jobs.cancel_job(self.settings, request.job_id))

    def RetryJob(self, request: exports_pb2.RetryJobRequest, context: grpc.ServicerContext) -> Any:
        return convert.job_to_proto(jobs.retry_job(self.settings, request.job_id, requested_by=_requested_by()))

    def DownloadArtifact(
        self, request: exports_pb2.DownloadArtifactRequest, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        artifact, handle = jobs.open_artifact(
            self.settings,
            request.job_id,
            artifact_id=request.artifact_id if request.HasField("artifact_id") else None,
            name=request.name if request.HasField("name") else None,
            offset=request.offset,
        )
        release_db_connection()
        with handle:
            yield exports_pb2.DownloadArtifactResponse(info=convert.artifact_to_proto(artifact))
            while context.is_active():
                chunk = handle.read(CHUNK_SIZE)
                if not chunk:
                    return
                yield exports_pb2.DownloadArtifactResponse(chunk=chunk)

    def PreviewExport(self, request: exports_pb2.PreviewExportRequest, context: grpc.ServicerContext) -> Any:
        template, overrides = _export_request(request.export)
        remaining = context.time_remaining()  # None without a deadline; keep time to send the answer
        seconds = jobs.PREVIEW_SECONDS if remaining is None else max(remaining * 0.8 - 0.2, 0.0)
        preview = jobs.preview_export(template, overrides, limit=request.limit or DEFAULT_PREVIEW_ROWS, seconds=seconds)
        return convert.preview_to_proto(preview)

    def ListTemplates(self, request: exports_pb2.ListTemplatesRequest, context: grpc.ServicerContext) -> Any:
        after = _name_after(request.page_token) if request.page_token else None
        page, cut = _fitting(convert.template_to_proto(t) for t in templates.list_templates(after))
        token = _name_token(page[-1].name) if cut else ""
        return exports_pb2.ListTemplatesResponse(templates=page, next_page_token=token)

    def GetTemplate(self, request: exports_pb2.GetTemplateRequest, context: grpc.ServicerContext) -> Any:
        name = _template_name(request.name)
        template = templates.get_template(name)
        if not request.HasField("version"):
            return convert.template_to_proto(template)
        if request.version < 1:
            raise InvalidRequest("must be 1 or more", "version")
        spec = templates.template_version(name, request.version)
        saved = {v.version: v.created_at for v in templates.template_versions(name)}
        return convert.template_to_proto(
            template, spec=spec, version=request.version, updated_at=saved.get(request.version)
        )

    def ListTemplateVersions(
        self, request: exports_pb2.ListTemplateVersionsRequest, context: grpc.ServicerContext
    ) -> Any:
        versions = templates.template_versions(_template_name(request.name))
        return exports_pb2.ListTemplateVersionsResponse(
            versions=[convert.template_version_to_proto(v) for v in versions]
        )

    def CreateTemplate(self, request: exports_pb2.CreateTemplateRequest, context: grpc.ServicerContext) -> Any:
        spec = convert.template_spec(request)
        if spec is None:
            raise InvalidRequest("a template needs a spec (format, columns...)", "spec")
        return convert.template_to_proto(templates.create_template(request.name, spec, request.description))

    def UpdateTemplate(self, request: exports_pb2.UpdateTemplateRequest, context: grpc.ServicerContext) -> Any:
        template = templates.update_template(
            _template_name(request.name),
            spec=convert.template_spec(request),
            description=request.description if request.HasField("description") else None,
            new_name=request.new_name if request.HasField("new_name") else None,
        )
        return convert.template_to_proto(template)

    def CopyTemplate(self, request: exports_pb2.CopyTemplateRequest, context: grpc.ServicerContext) -> Any:
        name = _template_name(request.name)
        try:
            copy = templates.copy_template(name, request.new_name)
        except InvalidRequest as exc:
            if exc.field != "name":
                raise
            raise InvalidRequest(exc.reason, "new_name") from None  # the copy's name is `new_name` here
        return convert.template_to_proto(copy)

    def DeleteTemplate(self, request: exports_pb2.DeleteTemplateRequest, context: grpc.ServicerContext) -> Any:
        templates.delete_template(_template_name(request.name))
        return exports_pb2.DeleteTemplateResponse()

    def DownloadReport(
        self, request: exports_pb2.DownloadReportRequest, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        job = jobs.get_job(request.job_id)
        info = exports_pb2.ReportInfo(job_id=job.id, name=f"job-{job.id}-report.csv", content_type=REPORT_CONTENT_TYPE)
        yield exports_pb2.DownloadReportResponse(info=info)
        pending = bytearray(codecs.BOM_UTF8)  # like `pm-exports report --out`: spreadsheets then read UTF-8
        for line in reports.report_csv(job.id):
            pending += line.encode("utf-8")
            while len(pending) >= CHUNK_SIZE:
                if not context.is_active():
                    return
                yield exports_pb2.DownloadReportResponse(chunk=bytes(pending[:CHUNK_SIZE]))
                del pending[:CHUNK_SIZE]
        if pending:
            yield exports_pb2.DownloadReportResponse(chunk=bytes(pending))

    def RetryDelivery(self, request: exports_pb2.RetryDeliveryRequest, context: grpc.ServicerContext) -> Any:
        view = deliveries.retry_delivery(self.settings, request.delivery_id)
        return convert_integrations.delivery_to_proto(view)

    def ReleaseDelivery(self, request: exports_pb2.ReleaseDeliveryRequest, context: grpc.ServicerContext) -> Any:
        view = deliveries.release_delivery(self.settings, request.delivery_id)
        return convert_integrations.delivery_to_proto(view)

    def GetArtifactLink(self, request: exports_pb2.GetArtifactLinkRequest, context: grpc.ServicerContext) -> Any:
        artifact_id = request.artifact_id if request.HasField("artifact_id") else None
        url, expires_at = jobs.artifact_link(self.settings, request.job_id, artifact_id)
        return convert_integrations.artifact_link_to_proto(url, expires_at)


class IntegrationServicer(integrations_pb2_grpc.IntegrationServiceServicer):
    """Integrations; secrets go in (create, update) and never come out."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def CreateIntegration(self, request: integrations_pb2.CreateIntegrationRequest, context: Any) -> Any:
        view = integrations.create_integration(
            self.settings,
            request.name,
            request.kind,
            convert_integrations.struct_values(request.settings),
            dict(request.secrets),
        )
        return convert_integrations.integration_to_proto(view)

    def UpdateIntegration(self, request: integrations_pb2.UpdateIntegrationRequest, context: Any) -> Any:
        view = integrations.update_integration(
            self.settings,
            request.name,
            convert_integrations.struct_values(request.settings),
            dict(request.secrets),
            rename=request.rename if request.HasField("rename") else None,
        )
        return convert_integrations.integration_to_proto(view)

    def DeleteIntegration(self, request: integrations_pb2.DeleteIntegrationRequest, context: Any) -> Any:
        integrations.delete_integration(request.name)
        return integrations_pb2.DeleteIntegrationResponse()

    def ListIntegrations(self, request: integrations_pb2.ListIntegrationsRequest, context: Any) -> Any:
        kind = request.kind if request.HasField("kind") else None
        found = integrations.list_integrations(self.settings, kind)
        return integrations_pb2.ListIntegrationsResponse(
            integrations=[convert_integrations.integration_to_proto(v) for v in found]
        )

    def GetIntegration(self, request: integrations_pb2.GetIntegrationRequest, context: Any) -> Any:
        return convert_integrations.integration_to_proto(integrations.get_integration(self.settings, request.name))

    def TestIntegration(self, request: integrations_pb2.TestIntegrationRequest, context: Any) -> Any:
        if request.trust:
            require_role(current_caller(), integrations.TRUST_ROLE)  # storing a host key changes the integration
        probe = integrations.test_integration(self.settings, request.name, trust=request.trust)
        return convert_integrations.probe_to_proto(probe)


class NotificationServicer(notifications_pb2_grpc.NotificationServiceServicer):
    """The in-app notifications."""

    def ListNotifications(self, request: notifications_pb2.ListNotificationsRequest, context: Any) -> Any:
        found, token = notifications.list_notifications(
            unread_only=request.unread_only,
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            page_token=request.page_token or None,
        )
        kept, cut = _fitting(notification_to_proto(view) for view in found)
        if cut:
            token = notifications.page_token_after(found[len(kept) - 1].id)
        return notifications_pb2.ListNotificationsResponse(
            notifications=kept, next_page_token=token, unread_count=notifications.unread_count()
        )

    def MarkNotificationsRead(self, request: notifications_pb2.MarkNotificationsReadRequest, context: Any) -> Any:
        marked = notifications.mark_read(list(request.ids), everything=request.all)
        return notifications_pb2.MarkNotificationsReadResponse(marked=marked)


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def UpsertProducts(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
        upserter = catalog.ProductUpserter()
        for request in request_iterator:
            try:
                data = convert.product_input(request)
            except ValueError as exc:
                product = request.product
                upserter.reject(
                    product.sku if product.HasField("sku") else None,
                    product.ean if product.HasField("ean") else None,
                    str(exc),
                )
                continue
            upserter.add(data, "ean" if request.match_by == catalog_pb2.PRODUCT_MATCH_EAN else "sku")
        s = upserter.summary
        return catalog_pb2.UpsertProductsResponse(
            received=s.received,
            created=s.created,
            updated=s.updated,
            rejected=s.rejected,
            rejections=[_rejection(r) for r in s.rejections],
            rejections_truncated=s.rejections_truncated,
        )

    def DeleteProducts(self, request: catalog_pb2.DeleteProductsRequest, context: grpc.ServicerContext) -> Any:
        deleted = catalog.delete_products(ids=request.ids, skus=request.skus, eans=request.eans)
        return catalog_pb2.DeleteProductsResponse(deleted=deleted)

    def GetProduct(self, request: catalog_pb2.GetProductRequest, context: grpc.ServicerContext) -> Any:
        key = request.WhichOneof("key")
        if key is None:
            raise InvalidRequest("give an id, a sku or an ean", "key")
        return convert.product_to_proto(catalog.get_product(**{key: getattr(request, key)}))


def _rejection(r: catalog.Rejection) -> catalog_pb2.Rejection:
    msg = catalog_pb2.Rejection(index=r.index, reason=r.reason)
    if r.sku is not None:
        msg.sku = r.sku
    if r.ean is not None:
        msg.ean = r.ean
    return msg


def _template_name(name: str) -> str:
    if not name:
        raise InvalidRequest("a template name is required", "name")
    return name


def _naive_utc(request: Any, name: str) -> Any:
    """A Timestamp field as the naive UTC datetime the database stores, or None when unset."""
    if not request.HasField(name):
        return None
    return getattr(request, name).ToDatetime()
