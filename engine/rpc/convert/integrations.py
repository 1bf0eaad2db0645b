"""Integrations and deliveries as messages (secrets never: only the names of those that are set)."""

from __future__ import annotations

import datetime as dt

from google.protobuf.struct_pb2 import Struct
from pm_exports_client.v1 import exports_pb2, integrations_pb2

from engine.rpc.convert.jobs import _json_safe, _set_time
from engine.services.views import DeliveryView, IntegrationView, ProbeView


def struct_values(message: Struct) -> dict[str, object]:
    """A Struct's values, whole numbers as ints (Struct numbers are doubles)."""
    out: dict[str, object] = {}
    for key, value in message.items():
        out[key] = int(value) if isinstance(value, float) and value.is_integer() else value
    return out


def integration_to_proto(view: IntegrationView) -> integrations_pb2.Integration:
    msg = integrations_pb2.Integration(
        name=view.name,
        kind=view.kind,
        secrets_set=list(view.secrets_set),
        test_message=view.test_message,
        status=view.status,
        consecutive_failures=view.consecutive_failures,
    )
    if view.disabled_reason:
        msg.disabled_reason = view.disabled_reason
    msg.settings.update(_json_safe(dict(view.settings)))
    for name in ("created_at", "updated_at", "tested_at"):
        _set_time(msg, name, getattr(view, name))
    if view.test_ok is not None:
        msg.test_ok = view.test_ok
    return msg


def probe_to_proto(probe: ProbeView) -> integrations_pb2.TestIntegrationResponse:
    return integrations_pb2.TestIntegrationResponse(
        ok=probe.ok,
        latency_ms=probe.latency_ms,
        message=probe.message,
        details=dict(probe.details),
        trusted=list(probe.trusted),
    )


def delivery_to_proto(view: DeliveryView) -> exports_pb2.Delivery:
    msg = exports_pb2.Delivery(
        id=view.id, integration=view.integration, target=view.target, status=view.status, attempts=view.attempts
    )
    if view.last_error:
        msg.last_error = view.last_error
    if view.held_reason:
        msg.held_reason = view.held_reason
    if view.task_id is not None:
        msg.task_job_id = view.task_id
    if view.gate:
        msg.gate.CopyFrom(exports_pb2.DeliveryGate(**view.gate))
    for receipt in view.receipts:
        item = msg.receipts.add(remote=str(receipt.get("remote", "")), size=int(receipt.get("size") or 0))
        if receipt.get("checksum"):
            item.checksum = str(receipt["checksum"])
        if receipt.get("url"):
            item.url = str(receipt["url"])
    return msg


def artifact_link_to_proto(url: str, expires_at: dt.datetime) -> exports_pb2.ArtifactLink:
    msg = exports_pb2.ArtifactLink(url=url)
    _set_time(msg, "expires_at", expires_at)
    return msg
