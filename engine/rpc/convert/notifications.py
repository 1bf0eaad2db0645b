"""Notifications as messages (the in-app list)."""

from __future__ import annotations

from pm_exports_client.v1 import notifications_pb2

from engine.rpc.convert.jobs import _json_safe, _set_time
from engine.services.views import NotificationView


def notification_to_proto(view: NotificationView) -> notifications_pb2.Notification:
    msg = notifications_pb2.Notification(
        id=view.id,
        event=view.event,
        job_id=view.job_id or 0,
        template=view.template_name or "",
        status=view.status,
        title=view.title,
        channels=[
            notifications_pb2.NotificationChannel(
                channel=str(c.get("channel", "")),
                integration=str(c.get("integration", "")),
                status=str(c.get("status", "")),
                detail=str(c.get("detail") or ""),
            )
            for c in view.channels
        ],
    )
    msg.summary.update(_json_safe(dict(view.summary)))
    _set_time(msg, "created_at", view.created_at)
    _set_time(msg, "read_at", view.read_at)
    return msg
