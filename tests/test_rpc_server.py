"""The server itself: health, reflection, TLS and mutual TLS, deadlines, graceful shutdown, reconnecting watchers."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pm_exports_client import ExportsClient
from pm_exports_client.v1 import exports_pb2, exports_pb2_grpc

from engine.errors import ConfigError
from engine.rpc.server import create_server
from engine.settings import Settings
from tests.rpc_support import Engine, free_port, make_keys, rpc_error, start_engine
from tests.small_catalog import build_small_catalog

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db


def health_status(channel: grpc.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_health_is_serving_without_a_key(engine: Engine) -> None:
    channel = engine.channel()
    for service in ("", "pm.exports.v1.ExportService", "pm.exports.v1.CatalogService"):
        assert health_status(channel, service) == health_pb2.HealthCheckResponse.SERVING


def test_health_is_not_serving_when_redis_does_not_answer(sqlite_db: Settings) -> None:
    settings = sqlite_db.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    keys = make_keys()
    server, port = start_engine(settings)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        assert health_status(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert health_status(channel, "pm.exports.v1.ExportService") == health_pb2.HealthCheckResponse.NOT_SERVING
        with ExportsClient(f"127.0.0.1:{port}", keys["manager"]) as api:
            build_small_catalog()
            error = rpc_error(lambda: api.create_export("Standard CSV"))
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert "retry later" in error.details() and "Connection" not in error.details()
            assert api.list_templates()  # what needs only the database still works
    finally:
        channel.close()
        server.stop(0).wait(10)


def test_health_follows_redis_coming_back(sqlite_db: Settings, redis_url: str) -> None:
    port_of_redis = free_port()
    settings = sqlite_db.with_(redis_url=f"redis://127.0.0.1:{port_of_redis}/0")
    server, port = start_engine(settings, health_interval=0.2)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        assert health_status(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        responses = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert next(responses).status == health_pb2.HealthCheckResponse.NOT_SERVING
        server.monitor.settings = settings.with_(redis_url=redis_url)  # as if Redis had come back
        assert next(responses).status == health_pb2.HealthCheckResponse.SERVING
        responses.cancel()
    finally:
        channel.close()
        server.stop(0).wait(10)


def test_reflection_lists_the_services_without_a_key(engine: Engine) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(engine.channel())
    responses = list(
        stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    )
    names = {s.name for s in responses[0].list_services_response.service}
    assert {"pm.exports.v1.ExportService", "pm.exports.v1.CatalogService", "grpc.health.v1.Health"} <= names
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="pm.exports.v1.ExportService")
    (answer,) = stub.ServerReflectionInfo(iter([request]), timeout=5)
    assert answer.file_descriptor_response.file_descriptor_proto  # enough for grpcurl to build requests


def test_watch_of_a_job_that_never_ends_hits_the_deadline(engine_factory) -> None:
    engine = engine_factory(inline_threshold=0)  # queued, and no worker runs in this test
    api = engine.client("reader")
    job = engine.client("manager").create_export("Standard CSV")
    started = time.monotonic()
    seen = []
    with pytest.raises(grpc.RpcError) as info:
        for event in api.watch(job.id, timeout=1.5):
            seen.append(event.status)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert seen == ["queued"]
    assert 1.4 < time.monotonic() - started < 5


def test_graceful_shutdown_ends_a_watch_stream_cleanly(engine_factory) -> None:
    engine = engine_factory(inline_threshold=0)
    job = engine.client("manager").create_export("Standard CSV")
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    stream = stub.WatchJob(
        exports_pb2.WatchJobRequest(job_id=job.id), metadata=(("authorization", f"Bearer {engine.keys['reader']}"),)
    )
    assert next(stream).seq == 1
    started = time.monotonic()
    stopped = engine.server.stop(grace=20)
    with pytest.raises(grpc.RpcError) as info:
        next(stream)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert info.value.details() == f"the server is shutting down: watch job {job.id} again with after_seq=1"
    assert stopped.wait(10)
    assert time.monotonic() - started < 8  # the open stream did not hold the server for the whole grace period


def test_client_watch_resumes_across_a_server_restart(sqlite_db: Settings, redis_url: str) -> None:
    build_small_catalog()
    keys = make_keys()
    settings = sqlite_db.with_(redis_url=redis_url, inline_threshold=0)
    first, port = start_engine(settings)
    address = f"127.0.0.1:{port}"
    events: queue.Queue = queue.Queue()
    with ExportsClient(address, keys["manager"], reconnect_for=20) as api:
        job = api.create_export("Standard CSV")

        def follow() -> None:
            try:
                for event in api.watch(job.id):
                    events.put(event)
            except grpc.RpcError as exc:  # pragma: no cover - reported by the assertions below
                events.put(exc)
            events.put(None)

        watcher = threading.Thread(target=follow)
        watcher.start()
        try:
            assert events.get(timeout=10).status == "queued"
            first.stop(grace=5).wait(10)
            second, _ = start_engine(settings, address=address)
        except BaseException:
            first.stop(0)
            raise
        try:
            api.cancel(job.id)
            received = [events.get(timeout=20)]
            assert events.get(timeout=10) is None
        finally:
            watcher.join(10)
            second.stop(0).wait(10)
    assert [(e.seq, e.status) for e in received] == [(2, "cancelled")]


# --- TLS ------------------------------------------------------------------------------------------------------


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer if issuer else (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = path.with_suffix(".crt"), path.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by the CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("PM Exports test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    out: dict[str, Path] = {}
    out["ca"], _ = _write(tmp_path / "ca", ca, ca_key)
    out["server_cert"], out["server_key"] = _write(
        tmp_path / "server", _cert("localhost", server_key, (ca.subject, ca_key), server=True), server_key
    )
    out["client_cert"], out["client_key"] = _write(
        tmp_path / "client", _cert("erp", client_key, (ca.subject, ca_key)), client_key
    )
    return out


def test_tls(engine_factory, pki: dict[str, Path]) -> None:
    engine = engine_factory(tls_cert=str(pki["server_cert"]), tls_key=str(pki["server_key"]))
    api = engine.client("reader", root_certificates=pki["ca"])
    assert api.list_templates()
    plain = engine.client("reader")  # a plaintext client cannot talk to a TLS server
    assert rpc_error(lambda: plain.list_templates()).code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_requires_a_client_certificate(engine_factory, pki: dict[str, Path]) -> None:
    engine = engine_factory(
        tls_cert=str(pki["server_cert"]), tls_key=str(pki["server_key"]), tls_client_ca=str(pki["ca"])
    )
    anonymous = engine.client("reader", root_certificates=pki["ca"], timeout=5)
    assert rpc_error(lambda: anonymous.list_templates()).code() == grpc.StatusCode.UNAVAILABLE
    api = engine.client(
        "reader", root_certificates=pki["ca"], client_cert=pki["client_cert"], client_key=pki["client_key"]
    )
    assert api.list_templates()
    assert rpc_error(
        lambda: engine.client(
            "reader", root_certificates=pki["ca"], client_cert=pki["client_cert"], client_key=pki["client_key"]
        ).create_export()
    ).code() == (grpc.StatusCode.PERMISSION_DENIED)


def test_unreadable_certificate_is_a_config_error(sqlite_db: Settings, tmp_path: Path) -> None:
    settings = sqlite_db.with_(tls_cert=str(tmp_path / "missing.crt"), tls_key=str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match="cannot read the TLS key"):
        create_server(settings, "127.0.0.1:0")


# --- errors and logs ------------------------------------------------------------------------------------------


def test_unexpected_errors_are_internal_with_a_request_id_and_no_trace(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from engine.services import templates

    def broken(after: str | None = None) -> list:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(templates, "list_templates", broken)
    caplog.set_level(logging.INFO, logger="engine.rpc")
    error = rpc_error(engine.client("reader").list_templates)
    assert error.code() == grpc.StatusCode.INTERNAL
    request_id = dict(error.trailing_metadata())["x-request-id"]
    assert error.details() == f"internal error (request id {request_id})"
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert record.levelno == logging.ERROR and record.exc_info and "secret detail" in str(record.exc_info[1])
    assert (record.method, record.code, record.key) == ("/pm.exports.v1.ExportService/ListTemplates", "INTERNAL",
                                                        "test-reader")  # fmt: skip


def test_one_log_line_per_call_with_the_callers_request_id(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engine.rpc")
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    metadata = (("authorization", f"Bearer {engine.keys['reader']}"), ("x-request-id", "erp-42"))
    started = time.monotonic()
    _response, call = stub.ListTemplates.with_call(exports_pb2.ListTemplatesRequest(), metadata=metadata, timeout=5)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert dict(call.trailing_metadata())["x-request-id"] == "erp-42"
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == "erp-42"]
    assert (record.method, record.key, record.code) == (
        "/pm.exports.v1.ExportService/ListTemplates",
        "test-reader",
        "OK",
    )
    # the server's own time for the call: a database query takes some, and it fits in the client's wait
    assert 0 < record.duration_ms <= elapsed_ms and record.peer.startswith("ipv4:127.0.0.1")
    assert engine.keys["reader"] not in record.getMessage()
