"""The S3 destination (AWS S3, MinIO, SeaweedFS...): streamed multipart uploads (a few parts sent at once) whose
object only appears once complete, every part checked by the server (Content-MD5) and the whole file's SHA-256
compared before completing, path-style addressing and a custom endpoint for self-hosted servers, presigned links."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from engine.destinations.base import DeliveryFile, DestinationOptions, FieldSpec, ProbeResult, Receipt
from engine.errors import FatalError, RetryableError

MB = 1024 * 1024
MIN_PART = 5 * MB  # S3's smallest part (except the last)
MAX_PARTS = 10_000
PARTS_IN_FLIGHT = 4  # parts of one multipart upload sent at once (memory: that many parts)
MAX_PARTS_IN_FLIGHT = 8
PRESIGN_MAX_SECONDS = 7 * 24 * 3600
RETRYABLE_CODES = {"RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable", "Throttling", "503", "500"}


def s3_client(
    *,
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None = None,
    path_style: bool = True,
    verify: bool | str = True,
    timeout: float = 30.0,
) -> Any:
    """A boto3 S3 client: path-style addressing for self-hosted servers, bounded timeouts, no retries of its own
    (the delivery job retries with backoff)."""
    config = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path" if path_style else "auto"},
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        aws_session_token=session_token or None,
        config=config,
        verify=verify,
    )


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """botocore errors as engine errors: transient ones retryable, the rest fatal; no secret in the message."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        message = f"{what}: {code} {str(error.get('Message', '')).splitlines()[0] if error.get('Message') else ''}"
        if code in RETRYABLE_CODES or status >= 500 or status in (408, 429):
            raise RetryableError(message.strip(), 30.0) from None
        raise FatalError(message.strip()) from None
    except (ConnectionError, HTTPClientError) as exc:
        raise RetryableError(f"{what}: {type(exc).__name__}: {exc}", 30.0) from None
    except BotoCoreError as exc:
        raise FatalError(f"{what}: {exc}") from None


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def upload_verified(
    client: Any,
    bucket: str,
    key: str,
    handle: BinaryIO,
    *,
    size: int,
    expected_sha256: str | None,
    content_type: str,
    part_size: int,
    parts_in_flight: int = PARTS_IN_FLIGHT,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """Upload a file read from `handle` in parts of `part_size`, up to `parts_in_flight` of them sent at once
    (memory: that many parts), each checked by the server: over HTTPS with its Content-MD5; over plain HTTP SigV4
    already signs the SHA-256 of every body and the server checks it, so no MD5 is added. The object appears only when
    complete, and is not completed when the bytes read do not hash to `expected_sha256` (the file changed on
    disk): the upload is aborted. Returns the file's SHA-256 (hex)."""
    whole = hashlib.sha256()
    signed_payload = str(client.meta.endpoint_url).startswith("http://")

    def content_md5(body: bytes) -> dict[str, str]:
        return {} if signed_payload else {"ContentMD5": _b64(hashlib.md5(body, usedforsecurity=False).digest())}

    meta: dict[str, str] = dict(metadata or {})
    part_size = max(part_size, MIN_PART, -(-size // MAX_PARTS))
    parts_in_flight = max(1, min(parts_in_flight, MAX_PARTS_IN_FLIGHT))
    if size <= part_size:
        body = handle.read(size + 1)
        whole.update(body)
        _check_sha(whole.hexdigest(), expected_sha256, key, len(body), size)
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata={**meta, "sha256": whole.hexdigest()},
            **content_md5(body),
        )
        return whole.hexdigest()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type, Metadata=meta)[
        "UploadId"
    ]

    def send(number: int, chunk: bytes) -> dict[str, Any]:
        answer = client.upload_part(  # boto3 clients are thread-safe
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
            **content_md5(chunk),
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    pool = ThreadPoolExecutor(max_workers=parts_in_flight, thread_name_prefix="s3-part")
    pending: set[Future[dict[str, Any]]] = set()
    try:
        parts: list[dict[str, Any]] = []
        read = 0
        for number in range(1, MAX_PARTS + 1):
            if len(pending) >= parts_in_flight:  # the next part is read only once one in flight is sent
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                parts.extend(future.result() for future in done)  # raises the first failed part's error
            chunk = handle.read(part_size)
            if not chunk:
                break
            read += len(chunk)
            whole.update(chunk)  # the parts are read in order: the whole file's hash is computed as they go
            pending.add(pool.submit(send, number, chunk))
            del chunk  # held by its task alone: memory stays at `parts_in_flight` parts while waiting
        done, pending = wait(pending)
        parts.extend(future.result() for future in done)
        _check_sha(whole.hexdigest(), expected_sha256, key, read, size)
        parts.sort(key=lambda part: int(part["PartNumber"]))
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # no part may land after the abort
        # nothing is visible either way; a failed abort leaves parts for the bucket's lifecycle rule
        with contextlib.suppress(ClientError, BotoCoreError):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    finally:
        pool.shutdown(wait=True)
    return whole.hexdigest()


def _check_sha(actual: str, expected: str | None, key: str, read: int, size: int) -> None:
    if read != size or (expected is not None and actual != expected):
        raise FatalError(f"{key}: the file changed on disk since the export wrote it (SHA-256 or size differs)")


def join_key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class S3Destination:
    """Files uploaded to a bucket under `prefix/folder/name`."""

    kind: ClassVar[str] = "s3"
    verifies_content: ClassVar[bool] = True  # each file is hashed as it is sent, checked before it is final
    fields: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("bucket", required=True, max_length=63, help="bucket name"),
        FieldSpec("prefix", max_length=512, help="key prefix (folder) inside the bucket"),
        FieldSpec("endpoint_url", max_length=512, help="custom endpoint (MinIO, SeaweedFS); empty for AWS"),
        FieldSpec("region", default="us-east-1", max_length=64),
        FieldSpec("path_style", "bool", default=True, help="path-style addressing (self-hosted servers)"),
        FieldSpec("verify_tls", "bool", default=True, help="verify the server's TLS certificate"),
        FieldSpec("ca_file", max_length=1024, help="CA bundle (PEM) to verify the server with"),
        FieldSpec("part_size_mb", "int", default=16, minimum=5, maximum=512, help="multipart part size"),
        FieldSpec(
            "parts_in_flight",
            "int",
            default=PARTS_IN_FLIGHT,
            minimum=1,
            maximum=MAX_PARTS_IN_FLIGHT,
            help="parts of a multipart upload sent at once (memory: that many parts)",
        ),
        FieldSpec("link_days", "int", default=7, minimum=1, maximum=7, help="validity of presigned links"),
        FieldSpec("access_key_id", secret=True, max_length=256),
        FieldSpec("secret_access_key", secret=True, max_length=256),
        FieldSpec("session_token", secret=True, max_length=4096),
    )

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        self.bucket = str(settings["bucket"])
        self.prefix = str(settings.get("prefix") or "")
        self.part_size = int(settings.get("part_size_mb") or 16) * MB
        self.parts_in_flight = int(settings.get("parts_in_flight") or PARTS_IN_FLIGHT)
        self.link_seconds = min(int(settings.get("link_days") or 7) * 86400, PRESIGN_MAX_SECONDS)
        verify: bool | str = bool(settings.get("verify_tls", True))
        if verify and settings.get("ca_file"):
            verify = str(settings["ca_file"])
        self.client = s3_client(
            endpoint_url=settings.get("endpoint_url") or None,
            region=str(settings.get("region") or "us-east-1"),
            access_key_id=secrets.get("access_key_id"),
            secret_access_key=secrets.get("secret_access_key"),
            session_token=secrets.get("session_token"),
            path_style=bool(settings.get("path_style", True)),
            verify=verify,
            timeout=options.timeout,
        )

    def test(self) -> ProbeResult:
        key = join_key(self.prefix, f".pm-exports-probe-{uuid.uuid4().hex}")
        started = time.monotonic()
        with translated_errors(f"s3 bucket {self.bucket}"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"probe")
            self.client.delete_object(Bucket=self.bucket, Key=key)
        latency = (time.monotonic() - started) * 1000
        return ProbeResult(round(latency, 1), f"bucket {self.bucket}: wrote and deleted {key}")

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        receipts = []
        for file in files:
            key = join_key(self.prefix, folder, file.name)
            with translated_errors(f"s3://{self.bucket}/{key}"), Path(file.path).open("rb") as handle:
                sha = upload_verified(
                    self.client,
                    self.bucket,
                    key,
                    handle,
                    size=file.size,
                    expected_sha256=file.sha256,
                    content_type=file.content_type,
                    part_size=self.part_size,
                    parts_in_flight=self.parts_in_flight,
                    metadata={"sha256": file.sha256},
                )
                url = self.presign(key, self.link_seconds)
            receipts.append(Receipt(f"s3://{self.bucket}/{key}", file.size, sha, url, "uploaded"))
        return receipts

    def presign(self, key: str, seconds: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=min(seconds, PRESIGN_MAX_SECONDS)
        )
        return url
