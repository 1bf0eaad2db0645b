"""The gRPC engine: `create_server(settings) -> (server, port)` with the export and catalogue services, the
standard health service (SERVING only while the database and Redis answer), server reflection, the auth
interceptor, TLS or mutual TLS when certificates are configured, and a graceful `stop(grace)`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pm_exports_client.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    exports_pb2,
    exports_pb2_grpc,
    integrations_pb2,
    integrations_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
    schedules_pb2,
    schedules_pb2_grpc,
)

from engine.errors import ConfigError
from engine.rpc.interceptors import ServerInterceptor, release_db_connection, roles_from_descriptors
from engine.rpc.schedule_servicer import ScheduleServicer
from engine.rpc.servicer import CatalogServicer, ExportServicer, IntegrationServicer, NotificationServicer
from engine.settings import Settings

log = logging.getLogger("engine.rpc")

SERVICE_NAMES = (
    exports_pb2.DESCRIPTOR.services_by_name["ExportService"].full_name,
    catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name,
    integrations_pb2.DESCRIPTOR.services_by_name["IntegrationService"].full_name,
    notifications_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name,
    schedules_pb2.DESCRIPTOR.services_by_name["ScheduleService"].full_name,
)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def backends_answer(settings: Settings) -> tuple[bool, str]:
    """(True, "") when the database and Redis both answer, else (False, what does not)."""
    from engine.db import current_database
    from engine.jobs.queues import redis_for

    try:
        current_database().execute_sql("SELECT 1")
    except Exception as exc:  # any failure means "not serving"; the reason goes to the log
        return False, f"database: {exc}"
    finally:
        release_db_connection()
    try:
        redis_for(settings).ping()
    except Exception as exc:
        return False, f"redis: {exc}"
    return True, ""


class HealthMonitor:
    """Sets the health status of the server and of each service from a periodic check of the backends."""

    def __init__(self, settings: Settings, servicer: health.HealthServicer, interval: float) -> None:
        self.settings = settings
        self.servicer = servicer
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pm-exports-health", daemon=True)
        self._serving: bool | None = None

    def check(self) -> bool:
        ok, reason = backends_answer(self.settings)
        status = health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *SERVICE_NAMES):
            self.servicer.set(name, status)
        if ok != self._serving:
            if ok:
                log.info("health: serving")
            else:
                log.warning("health: not serving (%s)", reason, extra={"reason": reason})
            self._serving = ok
        return ok

    def start(self) -> None:
        self.check()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 6)


class ExportsServer:
    """A started-or-not gRPC server with its health monitor. `stop(grace)` drains it (see below)."""

    def __init__(
        self,
        server: grpc.Server,
        health_servicer: health.HealthServicer,
        monitor: HealthMonitor,
        stopping: threading.Event,
    ) -> None:
        self.server = server
        self.health = health_servicer
        self.monitor = monitor
        self.stopping = stopping

    def start(self) -> None:
        self.server.start()
        self.monitor.start()

    def stop(self, grace: float | None = 10.0) -> threading.Event:
        """Stop taking calls; open job streams end at once with UNAVAILABLE and the seq to resume after (a
        client reconnects elsewhere without missing an event), other calls get `grace` seconds to finish.
        Returns an event set when the server has stopped."""
        self.stopping.set()
        self.monitor.stop()
        self.health.enter_graceful_shutdown()
        return self.server.stop(grace)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return bool(self.server.wait_for_termination(timeout))


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path!r}: {exc.strerror}") from None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials when a certificate is configured (mutual TLS when a client CA is too), else None."""
    if not settings.tls_cert:
        return None
    key = _read(settings.tls_key, "TLS key (PM_EXPORTS_TLS_KEY)")
    cert = _read(settings.tls_cert, "TLS certificate (PM_EXPORTS_TLS_CERT)")
    client_ca = (
        _read(settings.tls_client_ca, "client CA (PM_EXPORTS_TLS_CLIENT_CA)") if settings.tls_client_ca else None
    )
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca, require_client_auth=bool(client_ca))


def create_server(
    settings: Settings,
    address: str | None = None,
    *,
    max_workers: int = 100,
    health_interval: float = 5.0,
    extra_services: Iterable[str] = (),
) -> tuple[ExportsServer, int]:
    """Build the server (not started) listening on `address` (default settings.grpc_address; port 0 picks a
    free port); returns it and the bound port. The database must already be open (engine.db.open_database).
    Each call, streams included, occupies a worker thread while it runs: beyond `max_workers` concurrent calls
    the server answers RESOURCE_EXHAUSTED at once rather than queueing calls behind long streams."""
    from concurrent import futures

    address = address or settings.grpc_address
    stopping = threading.Event()
    roles = roles_from_descriptors(
        exports_pb2.DESCRIPTOR,
        catalog_pb2.DESCRIPTOR,
        integrations_pb2.DESCRIPTOR,
        notifications_pb2.DESCRIPTOR,
        schedules_pb2.DESCRIPTOR,
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pm-exports-rpc"),
        interceptors=[ServerInterceptor(roles)],
        maximum_concurrent_rpcs=max_workers,
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    exports_pb2_grpc.add_ExportServiceServicer_to_server(ExportServicer(settings, stopping), server)
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(), server)
    integrations_pb2_grpc.add_IntegrationServiceServicer_to_server(IntegrationServicer(settings), server)
    notifications_pb2_grpc.add_NotificationServiceServicer_to_server(NotificationServicer(), server)
    schedules_pb2_grpc.add_ScheduleServiceServicer_to_server(ScheduleServicer(settings), server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME, *extra_services), server
    )
    credentials = server_credentials(settings)
    try:
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    except RuntimeError as exc:
        raise ConfigError(f"cannot listen on {address}: {exc}") from None
    if not port:
        raise ConfigError(f"cannot listen on {address}")
    monitor = HealthMonitor(settings, health_servicer, health_interval)
    return ExportsServer(server, health_servicer, monitor, stopping), port
