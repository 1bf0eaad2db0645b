"""The S3 artifact store against a real S3 server (SeaweedFS): a worker with its own var folder writes the files,
the engine (another var folder) streams them from S3 and gives presigned links: no shared disk."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet

from engine.errors import InvalidState
from engine.services import integrations
from engine.services.jobs import artifact_link, create_export, get_job, open_artifact
from engine.settings import Settings
from engine.storage import open_store
from tests.small_catalog import build_small_catalog

if TYPE_CHECKING:
    from tests.s3_server import S3Server

pytest_plugins = ["tests.s3_server"]  # fixture: s3_server


def store_settings(base: Settings, server: S3Server, bucket: str, **extra: object) -> Settings:
    return base.with_(
        artifact_store=f"s3://{bucket}/artifacts",
        s3_endpoint_url=server.endpoint_url,
        s3_access_key_id=server.access_key,
        s3_secret_access_key=server.secret_key,
        **extra,
    )


def test_store_put_open_size_delete(settings: Settings, s3_server: S3Server, tmp_path: Path) -> None:
    store = open_store(store_settings(settings, s3_server, s3_server.new_bucket()))
    store.ensure_ready()
    source = tmp_path / "a.csv"
    source.write_bytes(b"0123456789" * 1000)
    first = store.put(source, "a.csv")
    assert not source.exists() and first.location.endswith("/artifacts/a.csv") and first.size == 10_000
    source.write_bytes(b"x")
    assert store.put(source, "a.csv").name == "a-2.csv"
    with store.open(first.location, 9_990) as handle:
        assert handle.read() == b"0123456789"
    assert store.size(first.location) == 10_000 and store.local_path(first.location) is None
    assert store.delete(first.location) and not store.delete(first.location)
    with pytest.raises(FileNotFoundError):
        store.open(first.location)


def test_engine_and_worker_share_no_disk(
    sqlite_db: Settings, s3_server: S3Server, redis_url: str, tmp_path: Path
) -> None:
    build_small_catalog()
    bucket = s3_server.new_bucket()
    key = Fernet.generate_key().decode()
    engine = store_settings(sqlite_db, s3_server, bucket, redis_url=redis_url, secret_key=key)
    integrations.create_integration(
        engine, "bucket", "s3", {"bucket": bucket, "endpoint_url": s3_server.endpoint_url, "prefix": "out"},
        {"access_key_id": s3_server.access_key, "secret_access_key": s3_server.secret_key},
    )  # fmt: skip
    job = create_export(engine, None, {"format": "csv", "deliveries": [{"integration": "bucket"}]},
                        inline_allowed=False)  # fmt: skip
    worker_var = tmp_path / "worker-var"
    env = {
        **os.environ,
        "PM_EXPORTS_VAR_DIR": str(worker_var),
        "DATABASE_URL": engine.effective_database_url,
        "REDIS_URL": redis_url,
        "PM_EXPORTS_ARTIFACT_STORE": engine.artifact_store,
        "PM_EXPORTS_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "PM_EXPORTS_S3_ACCESS_KEY_ID": s3_server.access_key,
        "PM_EXPORTS_S3_SECRET_ACCESS_KEY": s3_server.secret_key,
        "PM_EXPORTS_SECRET_KEY": key,
        "PM_EXPORTS_LOG_FORMAT": "json",
    }
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "worker", "--queues", "exports,deliver", "--burst"],
        env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    done = get_job(job.id)
    assert done.status == "succeeded", done.error
    (artifact,) = done.artifacts
    (delivery,) = done.deliveries
    assert delivery.status == "succeeded" and delivery.receipts[0]["checksum"] == artifact.sha256
    leftovers = [p for p in worker_var.rglob("*") if p.is_file() and p.suffix == ".csv"]
    assert leftovers == [] and not (engine.export_dir / artifact.name).exists()
    view, handle = open_artifact(engine, job.id)
    with handle:
        body = handle.read()
    assert hashlib.sha256(body).hexdigest() == view.sha256 == artifact.sha256
    url, expires = artifact_link(engine, job.id)
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - presigned loopback link
        assert answer.read() == body
    assert expires <= view.expires_at
    with pytest.raises(InvalidState, match="S3 artifact store"):
        artifact_link(engine.with_(artifact_store=""), job.id)


def test_multipart_upload_is_verified_and_invisible_until_complete(s3_server: S3Server, tmp_path: Path) -> None:
    from engine.destinations.s3 import MIN_PART, upload_verified
    from engine.errors import FatalError

    client = s3_server.client()
    bucket = s3_server.new_bucket()
    data = os.urandom(2 * MIN_PART + 1234)  # three parts
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    with source.open("rb") as handle:
        sha = upload_verified(client, bucket, "big.bin", handle, size=len(data), expected_sha256=expected,
                              content_type="application/octet-stream", part_size=MIN_PART)  # fmt: skip
    assert sha == expected
    assert client.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data  # type: ignore[attr-defined]
    with source.open("rb") as handle, pytest.raises(FatalError, match="changed on disk"):
        upload_verified(client, bucket, "changed.bin", handle, size=len(data), expected_sha256="0" * 64,
                        content_type="application/octet-stream", part_size=MIN_PART)  # fmt: skip
    listed = client.list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    assert [o["Key"] for o in listed.get("Contents", [])] == ["big.bin"]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # type: ignore[attr-defined]
