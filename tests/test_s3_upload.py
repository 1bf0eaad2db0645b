"""Multipart uploads to a real S3 server (SeaweedFS) with several parts in flight: the object is whole and in order,
no more parts than allowed are sent at once, and a failed part or a file changed on disk aborts the upload (no
object, no upload left open)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from engine.destinations.s3 import MIN_PART, translated_errors, upload_verified
from engine.errors import FatalError, RetryableError

if TYPE_CHECKING:
    from tests.s3_server import S3Server

pytest_plugins = ["tests.s3_server"]  # fixture: s3_server


class WatchedClient:
    """The real boto3 client, its upload_part counted: the most parts in flight at once; the first two parts wait
    for each other (a barrier), which only concurrent sends get through; `fail_part` answers an error instead."""

    def __init__(self, client: Any, fail_part: int | None = None) -> None:
        self._client = client
        self.fail_part = fail_part
        self.active = self.most_active = 0
        self.sent: list[int] = []
        self._lock = threading.Lock()
        self._first_two = threading.Barrier(2, timeout=30)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def upload_part(self, **kwargs: Any) -> Any:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            if kwargs["PartNumber"] <= 2:
                self._first_two.wait()
            if kwargs["PartNumber"] == self.fail_part:
                from botocore.exceptions import ClientError

                raise ClientError({"Error": {"Code": "InternalError", "Message": "disk full"}}, "UploadPart")
            answer = self._client.upload_part(**kwargs)
            with self._lock:
                self.sent.append(kwargs["PartNumber"])
            return answer
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def big_file(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(5 * MIN_PART + 4321)  # six parts
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    return path, data


def _upload(client: Any, bucket: str, key: str, path: Path, expected: str, parts_in_flight: int) -> str:
    with translated_errors(f"s3://{bucket}/{key}"), path.open("rb") as handle:
        return upload_verified(client, bucket, key, handle, size=path.stat().st_size, expected_sha256=expected,
                               content_type="application/octet-stream", part_size=MIN_PART,
                               parts_in_flight=parts_in_flight)  # fmt: skip


def test_parts_are_sent_concurrently_within_the_bound(s3_server: S3Server, big_file: tuple[Path, bytes]) -> None:
    path, data = big_file
    bucket = s3_server.new_bucket()
    client = WatchedClient(s3_server.client())
    expected = hashlib.sha256(data).hexdigest()
    assert _upload(client, bucket, "big.bin", path, expected, parts_in_flight=3) == expected
    assert 2 <= client.most_active <= 3 and sorted(client.sent) == [1, 2, 3, 4, 5, 6]
    assert client.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data


def test_a_failed_part_aborts_the_upload(s3_server: S3Server, big_file: tuple[Path, bytes]) -> None:
    path, data = big_file
    bucket = s3_server.new_bucket()
    client = WatchedClient(s3_server.client(), fail_part=4)
    with pytest.raises(RetryableError, match="InternalError"):
        _upload(client, bucket, "big.bin", path, hashlib.sha256(data).hexdigest(), parts_in_flight=4)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_file_changed_on_disk_aborts_the_upload(s3_server: S3Server, big_file: tuple[Path, bytes]) -> None:
    path, _data = big_file
    bucket = s3_server.new_bucket()
    client = WatchedClient(s3_server.client())
    with pytest.raises(FatalError, match="changed on disk"):
        _upload(client, bucket, "big.bin", path, "0" * 64, parts_in_flight=4)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
