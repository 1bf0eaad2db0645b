"""Deliveries against a real S3 server (SeaweedFS): files sent after the export, receipts recorded, a failure
turns the export `partial` without touching its files, transient failures are retried, a file changed on disk
is refused, and a delivery can be sent again."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.errors import InvalidRequest, RetryableError
from engine.jobs import runner
from engine.jobs.kinds.deliver import render_target, split_target
from engine.models import Artifact, Delivery, ExportJob
from engine.services import deliveries, integrations
from engine.services.exports import resolve_request, run_inline
from engine.services.jobs import get_job
from engine.settings import Settings
from tests.rpc_support import free_port
from tests.small_catalog import build_small_catalog

if TYPE_CHECKING:
    from tests.s3_server import S3Server

pytest_plugins = ["tests.s3_server"]  # fixture: s3_server


@pytest.fixture
def bucket(sqlite_db: Settings, s3_server: S3Server) -> str:
    build_small_catalog()
    name = s3_server.new_bucket()
    integrations.create_integration(
        sqlite_db,
        "bucket",
        "s3",
        {"bucket": name, "endpoint_url": s3_server.endpoint_url, "prefix": "pim"},
        {"access_key_id": s3_server.access_key, "secret_access_key": s3_server.secret_key},
    )
    return name


def export_to(settings: Settings, path: str, integration: str = "bucket") -> int:
    request = resolve_request(None, {"format": "csv", "deliveries": [{"integration": integration, "path": path}]})
    view, _result = run_inline(request, settings, requested_by="test")
    return view.id


def test_render_target_is_confined() -> None:
    import datetime as dt

    when = dt.datetime(2026, 3, 4, 5, 6, 7)
    rendered = render_target("feeds/{template}/{date}/", template="Mon Modèle", fmt="csv", when=when, count=3, part=1)
    assert rendered == "feeds/mon-modele/2026-03-04"
    with pytest.raises(InvalidRequest, match=r"deliveries\.path: .*no \.\."):
        render_target("a/{date}/../../b", template="t", fmt="csv", when=when, count=1, part=1)
    assert split_target("feeds/catalog.csv", "standard-csv.csv", True) == ("feeds", "catalog.csv")
    assert split_target("feeds/catalog.csv", "x-part1.csv", False) == ("feeds/catalog.csv", "x-part1.csv")


def test_export_is_delivered_with_receipts(sqlite_db: Settings, s3_server: S3Server, bucket: str) -> None:
    job_id = export_to(sqlite_db, "feeds/{date}/catalog.csv")
    job = get_job(job_id)
    assert job.status == "succeeded", job.error
    (delivery,) = job.deliveries
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.integration == "bucket"
    (artifact,) = job.artifacts
    (receipt,) = delivery.receipts
    key = f"pim/feeds/{job.started_at:%Y-%m-%d}/catalog.csv"
    assert receipt["remote"] == f"s3://{bucket}/{key}"
    assert receipt["checksum"] == artifact.sha256 and receipt["size"] == artifact.size
    body = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == artifact.sha256
    with urllib.request.urlopen(receipt["url"], timeout=10) as answer:  # noqa: S310 - presigned loopback link
        assert answer.read() == body
    task = ExportJob.get_by_id(delivery.task_id)
    assert task.kind == "deliver" and task.status == "succeeded"


def test_a_failed_delivery_leaves_the_export_partial(sqlite_db: Settings, bucket: str) -> None:
    integrations.update_integration(sqlite_db, "bucket", secrets={"secret_access_key": "wrong-secret"})
    job_id = export_to(sqlite_db, "")
    job = get_job(job_id)
    assert job.status == "partial"
    assert job.error is not None and job.error.startswith("delivery to bucket: ")
    assert "SignatureDoesNotMatch" in job.error and "wrong-secret" not in job.error
    assert job.report["failed_deliveries"] == ["bucket"]
    (delivery,) = job.deliveries
    assert delivery.status == "failed" and delivery.attempts == 1  # fatal: not retried
    (artifact,) = job.artifacts
    assert Path(Artifact.get_by_id(artifact.id).location).is_file()  # the export's file is kept
    # fixed, sent again: the export is whole again
    integrations.update_integration(sqlite_db, "bucket", secrets={"secret_access_key": _secret()})
    (again,) = deliveries.redeliver(sqlite_db, job_id, inline=True)
    assert again.status == "succeeded" and again.attempts == 2
    assert get_job(job_id).status == "succeeded" and "failed_deliveries" not in get_job(job_id).report


def _secret() -> str:
    from tests.s3_server import SECRET_KEY

    return SECRET_KEY


def test_transient_failure_is_retried_then_succeeds(sqlite_db: Settings, s3_server: S3Server, bucket: str) -> None:
    integrations.update_integration(sqlite_db, "bucket", {"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    job_id = export_to(sqlite_db, "")
    (delivery,) = get_job(job_id).deliveries
    assert delivery.status == "failed" and "delivery to bucket" in (delivery.last_error or "")
    # the same delivery run by a worker with retries left: stays queued, the error is raised for RQ to retry
    task = ExportJob.create(kind="deliver", spec={"delivery_id": delivery.id}, status="queued", phase="queued")
    with pytest.raises(RetryableError):
        runner.execute(task.id, sqlite_db, channel=runner.LocalChannel(), can_retry=lambda: True)
    assert Delivery.get_by_id(delivery.id).status == "queued"
    integrations.update_integration(sqlite_db, "bucket", {"endpoint_url": s3_server.endpoint_url})
    assert runner.execute(task.id, sqlite_db, channel=runner.LocalChannel()).status == "succeeded"
    row = Delivery.get_by_id(delivery.id)
    assert row.status == "succeeded" and row.attempts == 3
    assert get_job(job_id).status == "succeeded"


def test_a_file_changed_on_disk_is_refused(sqlite_db: Settings, bucket: str) -> None:
    job_id = export_to(sqlite_db, "", integration="bucket")
    (artifact,) = get_job(job_id).artifacts
    with Path(Artifact.get_by_id(artifact.id).location).open("ab") as handle:
        handle.write(b"tampered\n")
    (again,) = deliveries.redeliver(sqlite_db, job_id, to="bucket", inline=True)
    assert again.status == "failed" and "changed on disk" in (again.last_error or "")
    assert get_job(job_id).status == "partial"


def test_a_file_changed_in_place_is_refused_by_the_upload_and_never_appears(
    sqlite_db: Settings, s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size, other bytes: the S3 destination hashes what it sends and refuses to complete the object, so the
    deliver kind does not read the file a second time beforehand (it only compares the size)."""
    from engine.jobs.kinds import deliver

    hashed: list[Path] = []
    real_sha256_file = deliver.sha256_file
    monkeypatch.setattr(deliver, "sha256_file", lambda path: hashed.append(path) or real_sha256_file(path))
    job_id = export_to(sqlite_db, "feeds/catalog.csv")
    assert get_job(job_id).status == "succeeded" and hashed == []  # delivered, the file read once (the upload)
    (artifact,) = get_job(job_id).artifacts
    location = Path(Artifact.get_by_id(artifact.id).location)
    data = bytearray(location.read_bytes())
    data[-2] = ord("X") if data[-2] != ord("X") else ord("Y")
    location.write_bytes(bytes(data))
    s3_server.client().delete_object(Bucket=bucket, Key="pim/feeds/catalog.csv")  # type: ignore[attr-defined]
    (again,) = deliveries.redeliver(sqlite_db, job_id, to="bucket", inline=True)
    assert again.status == "failed" and "changed on disk" in (again.last_error or "")
    listed = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="pim/")  # type: ignore[attr-defined]
    assert listed.get("KeyCount", 0) == 0 and hashed == []
    assert get_job(job_id).status == "partial"
