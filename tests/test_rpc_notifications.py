"""NotificationService and the spec's notifications through a real server and the generated stubs: a template's
policy is checked on save and read back, an export's end is listed in-app, and marked read."""

from __future__ import annotations

import grpc
from pm_exports_client.v1 import exports_pb2, exports_pb2_grpc, notifications_pb2, notifications_pb2_grpc

from tests.rpc_support import Engine, rpc_error

pytest_plugins = ["tests.rpc_fixtures"]  # fixture: engine


def metadata(engine: Engine, role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {engine.keys[role]}"),)


def spec(policy: notifications_pb2.NotificationPolicy) -> exports_pb2.TemplateSpec:
    return exports_pb2.TemplateSpec(
        format="csv", columns=[exports_pb2.Column(header="sku", source="sku")], notifications=policy
    )


def test_notifications_over_grpc(engine: Engine) -> None:
    exports = exports_pb2_grpc.ExportServiceStub(engine.channel())
    stub = notifications_pb2_grpc.NotificationServiceStub(engine.channel())
    manager, reader = metadata(engine, "manager"), metadata(engine, "reader")

    unknown = notifications_pb2.NotificationPolicy(webhooks=["nowhere"])
    bad = exports_pb2.CreateTemplateRequest(name="Notified", spec=spec(unknown))
    error = rpc_error(lambda: exports.CreateTemplate(bad, metadata=manager))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "notifications.webhooks[0]: no integration named 'nowhere'"

    policy = notifications_pb2.NotificationPolicy(on=["completed"], warn_excluded_percent=10)
    exports.CreateTemplate(exports_pb2.CreateTemplateRequest(name="Notified", spec=spec(policy)), metadata=manager)
    read_back = exports.GetTemplate(exports_pb2.GetTemplateRequest(name="Notified"), metadata=reader)
    assert list(read_back.spec.notifications.on) == ["completed"]
    assert read_back.spec.notifications.warn_excluded_percent == 10 and read_back.spec.notifications.in_app

    definition = exports_pb2.ExportDefinition(template="Notified")
    job = exports.CreateExport(exports_pb2.CreateExportRequest(export=definition), metadata=manager)
    assert job.status == exports_pb2.JOB_STATUS_SUCCEEDED

    listed = stub.ListNotifications(notifications_pb2.ListNotificationsRequest(unread_only=True), metadata=reader)
    (notification,) = listed.notifications
    assert listed.unread_count == 1 and listed.next_page_token == ""
    assert notification.event == "export.completed" and notification.job_id == job.id
    assert notification.title.startswith("[PM Exports] Notified: completed (")
    assert notification.summary["exported"] == job.exported and not notification.HasField("read_at")

    nothing = notifications_pb2.MarkNotificationsReadRequest()
    error = rpc_error(lambda: stub.MarkNotificationsRead(nothing, metadata=reader))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("ids: ")
    marked = stub.MarkNotificationsRead(notifications_pb2.MarkNotificationsReadRequest(all=True), metadata=reader)
    assert marked.marked == 1
    after = stub.ListNotifications(notifications_pb2.ListNotificationsRequest(), metadata=reader)
    assert after.unread_count == 0 and after.notifications[0].HasField("read_at")
    anonymous = rpc_error(lambda: stub.ListNotifications(notifications_pb2.ListNotificationsRequest()))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED
