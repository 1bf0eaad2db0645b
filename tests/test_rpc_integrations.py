"""IntegrationService and the delivery RPCs through a real server and the generated stubs: roles per method,
secrets write-only, deliveries of a gRPC export visible in GetJob, RetryDelivery, GetArtifactLink."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from pm_exports_client.v1 import exports_pb2, exports_pb2_grpc, integrations_pb2, integrations_pb2_grpc

from engine.jobs import runner
from engine.models import Delivery
from tests.rpc_support import Engine, rpc_error

if TYPE_CHECKING:
    from tests.s3_server import S3Server

pytest_plugins = ["tests.rpc_fixtures", "tests.s3_server"]  # fixtures: engine, s3_server


def metadata(engine: Engine, role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {engine.keys[role]}"),)


def test_integrations_and_deliveries_over_grpc(engine: Engine, s3_server: S3Server) -> None:
    stub = integrations_pb2_grpc.IntegrationServiceStub(engine.channel())
    exports = exports_pb2_grpc.ExportServiceStub(engine.channel())
    bucket = s3_server.new_bucket()
    settings = Struct()
    settings.update({"bucket": bucket, "endpoint_url": s3_server.endpoint_url, "part_size_mb": 8})
    create = integrations_pb2.CreateIntegrationRequest(
        name="bucket",
        kind="s3",
        settings=settings,
        secrets={"access_key_id": s3_server.access_key, "secret_access_key": s3_server.secret_key},
    )
    denied = rpc_error(lambda: stub.CreateIntegration(create, metadata=metadata(engine, "manager")))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    created = stub.CreateIntegration(create, metadata=metadata(engine, "admin"))
    assert list(created.secrets_set) == ["access_key_id", "secret_access_key"]
    assert created.settings["part_size_mb"] == 8
    bad = integrations_pb2.CreateIntegrationRequest(name="x", kind="s3")
    error = rpc_error(lambda: stub.CreateIntegration(bad, metadata=metadata(engine, "admin")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details() == "settings.bucket: is required"
    listed = stub.ListIntegrations(integrations_pb2.ListIntegrationsRequest(), metadata=metadata(engine, "reader"))
    assert [i.name for i in listed.integrations] == ["bucket"]
    assert s3_server.secret_key not in str(listed)
    probe = integrations_pb2.TestIntegrationRequest(name="bucket")
    assert rpc_error(lambda: stub.TestIntegration(probe, metadata=metadata(engine, "reader"))).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert stub.TestIntegration(probe, metadata=metadata(engine, "manager")).ok
    trust = integrations_pb2.TestIntegrationRequest(name="bucket", trust=True)
    assert rpc_error(lambda: stub.TestIntegration(trust, metadata=metadata(engine, "manager"))).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )

    definition = exports_pb2.ExportDefinition(
        format="csv", deliveries=[exports_pb2.DeliveryTarget(integration="bucket", path="feeds/")]
    )
    job = exports.CreateExport(exports_pb2.CreateExportRequest(export=definition), metadata=metadata(engine, "manager"))
    (queued,) = exports.GetJob(exports_pb2.GetJobRequest(job_id=job.id), metadata=metadata(engine, "reader")).deliveries
    assert queued.integration == "bucket" and queued.status == "queued" and queued.HasField("task_job_id")
    runner.execute(queued.task_job_id, engine.settings)  # what a worker on the `deliver` queue does
    job = exports.GetJob(exports_pb2.GetJobRequest(job_id=job.id), metadata=metadata(engine, "reader"))
    (delivered,) = job.deliveries
    assert delivered.status == "succeeded" and delivered.attempts == 1
    assert delivered.receipts[0].remote == f"s3://{bucket}/feeds/{job.artifacts[0].name}"
    assert delivered.receipts[0].checksum == job.artifacts[0].sha256

    again = exports.RetryDelivery(
        exports_pb2.RetryDeliveryRequest(delivery_id=delivered.id), metadata=metadata(engine, "manager")
    )
    assert again.status == "queued" and Delivery.get_by_id(delivered.id).task_id == again.task_job_id
    link = exports_pb2.GetArtifactLinkRequest(job_id=job.id)
    error = rpc_error(lambda: exports.GetArtifactLink(link, metadata=metadata(engine, "reader")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "S3 artifact store" in error.details()

    stub.DeleteIntegration(integrations_pb2.DeleteIntegrationRequest(name="bucket"), metadata=metadata(engine, "admin"))
    gone = rpc_error(
        lambda: stub.GetIntegration(
            integrations_pb2.GetIntegrationRequest(name="bucket"), metadata=metadata(engine, "reader")
        )
    )
    assert gone.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("path", ["../up", "/root"])
def test_a_grpc_delivery_path_cannot_escape(engine: Engine, path: str) -> None:
    exports = exports_pb2_grpc.ExportServiceStub(engine.channel())
    definition = exports_pb2.ExportDefinition(
        format="csv", deliveries=[exports_pb2.DeliveryTarget(integration="bucket", path=path)]
    )
    error = rpc_error(
        lambda: exports.CreateExport(
            exports_pb2.CreateExportRequest(export=definition), metadata=metadata(engine, "manager")
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("deliveries[0].path:")
