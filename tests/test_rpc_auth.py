"""API keys and roles on the gRPC API: no key, bad keys, revoked keys, what each role may call."""

from __future__ import annotations

import datetime as dt
import hashlib

import grpc
import pytest
from pm_exports_client.v1 import catalog_pb2, exports_pb2, exports_pb2_grpc

from engine.errors import InvalidRequest, NotFound, PermissionDenied, Unauthenticated
from engine.models import ApiKey
from engine.rpc.interceptors import roles_from_descriptors
from engine.services import apikeys
from engine.settings import Settings
from tests.rpc_support import Engine, rpc_error

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db

LIST = exports_pb2.ListTemplatesRequest()


def test_every_rpc_declares_its_role() -> None:
    roles = roles_from_descriptors(exports_pb2.DESCRIPTOR, catalog_pb2.DESCRIPTOR)
    methods = {
        f"/{s.full_name}/{m.name}"
        for f in (exports_pb2.DESCRIPTOR, catalog_pb2.DESCRIPTOR)
        for s in f.services_by_name.values()
        for m in s.methods
    }
    assert set(roles) == methods
    assert roles["/pm.exports.v1.ExportService/RunExport"] == "manager"
    assert roles["/pm.exports.v1.ExportService/CancelJob"] == "manager"
    assert roles["/pm.exports.v1.ExportService/DownloadArtifact"] == "reader"
    assert roles["/pm.exports.v1.CatalogService/UpsertProducts"] == "manager"
    assert roles["/pm.exports.v1.CatalogService/GetProduct"] == "reader"


def test_no_key_is_unauthenticated(engine: Engine) -> None:
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    error = rpc_error(lambda: stub.ListTemplates(LIST, timeout=10))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in error.details()
    request_id = dict(error.trailing_metadata())["x-request-id"]
    assert len(request_id) >= 8


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer pmx_00000000_nope", "unknown API key"),
        ("Bearer something-else", "malformed API key"),
        ("Basic dXNlcjpwYXNz", "no API key"),
    ],
)
def test_bad_keys_are_unauthenticated(engine: Engine, header: str, message: str) -> None:
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    error = rpc_error(lambda: stub.ListTemplates(LIST, metadata=(("authorization", header),), timeout=10))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert message in error.details()


def test_a_forged_secret_with_a_real_prefix_is_refused(engine: Engine) -> None:
    real = engine.keys["admin"]
    forged = real[: real.rindex("_") + 1] + "x" * 43
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    error = rpc_error(lambda: stub.ListTemplates(LIST, metadata=(("authorization", f"Bearer {forged}"),), timeout=10))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_revoked_key_is_refused(engine: Engine) -> None:
    api = engine.client("reader")
    assert api.list_templates()
    apikeys.revoke_api_key(engine.keys["reader"].split("_")[1])
    error = rpc_error(api.list_templates)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in error.details()


def test_reader_cannot_start_cancel_or_write(engine: Engine) -> None:
    reader = engine.client("reader")
    for call in (
        lambda: reader.create_export("Standard CSV"),
        lambda: reader.run_export("Standard CSV"),
        lambda: reader.cancel(1),
        lambda: reader.retry(1),
        lambda: reader.upsert_products([{"sku": "R-1", "title": "x"}]),
        lambda: reader.delete_products(skus=["CAS-001"]),
    ):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "has the role reader; this needs manager" in error.details()
    assert reader.get_product(sku="CAS-001")["title"].startswith("Casserole")


def test_reader_can_read(engine: Engine) -> None:
    job = engine.client("manager").create_export("Price & Stock")
    reader = engine.client("reader")
    assert {t.name for t in reader.list_templates()} >= {"Standard CSV", "Price & Stock"}
    assert reader.get_template("Standard CSV").format == "csv"
    assert reader.get_job(job.id).status == "succeeded"
    assert [j.id for j in reader.list_jobs().jobs] == [job.id]
    assert [e.status for e in reader.watch(job.id)][-1] == "succeeded"
    assert reader.preview("Standard CSV", limit=2).rows


def test_manager_and_admin_can_start_exports(engine: Engine) -> None:
    for role in ("manager", "admin"):
        job = engine.client(role).create_export("Price & Stock")
        assert job.status == "succeeded"
        assert job.requested_by == f"api:test-{role}"


def test_keys_are_stored_hashed_and_shown_once(sqlite_db: Settings) -> None:
    key, row = apikeys.create_api_key("erp", "manager")
    assert key.startswith(f"pmx_{row.prefix}_") and len(key) > 40
    stored = ApiKey.get_by_id(row.id)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {str(v) for v in stored.__data__.values()}
    assert apikeys.authenticate(key).id == row.id
    with pytest.raises(InvalidRequest, match="role"):
        apikeys.create_api_key("x", "owner")
    with pytest.raises(InvalidRequest, match="name"):
        apikeys.create_api_key("  ", "reader")


def test_last_used_is_written_at_most_once_a_minute(sqlite_db: Settings) -> None:
    key, row = apikeys.create_api_key("erp", "reader")
    first = apikeys.authenticate(key).last_used_at
    assert first is not None
    assert ApiKey.get_by_id(row.id).last_used_at == first
    apikeys.authenticate(key)
    assert ApiKey.get_by_id(row.id).last_used_at == first  # unchanged within the minute
    earlier = first - dt.timedelta(minutes=2)
    ApiKey.update(last_used_at=earlier).where(ApiKey.id == row.id).execute()
    apikeys.authenticate(key)
    assert ApiKey.get_by_id(row.id).last_used_at > earlier


def test_roles_are_ordered_and_revoking_is_idempotent(sqlite_db: Settings) -> None:
    _key, row = apikeys.create_api_key("erp", "manager")
    apikeys.require_role(row, "reader")
    apikeys.require_role(row, "manager")
    with pytest.raises(PermissionDenied):
        apikeys.require_role(row, "admin")
    assert apikeys.revoke_api_key(str(row.id)).revoked_at is not None
    assert apikeys.revoke_api_key(row.prefix).revoked_at is not None
    with pytest.raises(NotFound):
        apikeys.revoke_api_key("nope")
    with pytest.raises(Unauthenticated, match="no API key"):
        apikeys.authenticate("")
    assert [k.id for k in apikeys.list_api_keys(include_revoked=False)] == []
