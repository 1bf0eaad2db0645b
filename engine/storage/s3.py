"""The S3 artifact store (PM_EXPORTS_ARTIFACT_STORE=s3://bucket/prefix): finished files uploaded to a bucket that
the engine and every worker reach, so no machine needs another's disk; reads are ranged GETs, links presigned."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

from engine.destinations.s3 import join_key, s3_client, translated_errors, upload_verified
from engine.errors import ConfigError, ExportsError, OutputError
from engine.settings import Settings
from engine.storage.base import StoredFile

PART_SIZE = 16 * 1024 * 1024
MAX_NAME_TRIES = 1000


def parse_store_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ConfigError("PM_EXPORTS_ARTIFACT_STORE must name a bucket: s3://bucket/prefix")
    return bucket, prefix.strip("/")


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3Store:
    """Files under `prefix/` in one bucket; locations are `s3://bucket/key`. An object appears only once complete."""

    def __init__(self, settings: Settings) -> None:
        self.bucket, self.prefix = parse_store_url(settings.artifact_store)
        self.client: Any = s3_client(
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key or None,
            path_style=bool(settings.s3_endpoint_url),
            timeout=float(settings.delivery_timeout),
        )

    def _key(self, location: str) -> str:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        if bucket != self.bucket or not location.startswith("s3://"):
            raise FileNotFoundError(location)
        return key

    def ensure_ready(self) -> None:
        try:
            with translated_errors(f"artifact store s3://{self.bucket}"):
                self.client.head_bucket(Bucket=self.bucket)
        except ExportsError as exc:
            raise OutputError(f"cannot use the artifact store: {exc}") from None

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def put(self, source: Path, name: str) -> StoredFile:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        size = source.stat().st_size
        with translated_errors(f"artifact store s3://{self.bucket}"):
            for n in range(1, MAX_NAME_TRIES + 1):
                candidate = name if n == 1 else f"{stem}-{n}{dot}{ext}"
                key = join_key(self.prefix, candidate)
                if not self._exists(key):
                    break
            else:
                raise OutputError(f"no free name for {name} in s3://{self.bucket}/{self.prefix}")
            with source.open("rb") as handle:
                upload_verified(
                    self.client, self.bucket, key, handle, size=size, expected_sha256=None,
                    content_type="application/octet-stream", part_size=PART_SIZE,
                )  # fmt: skip
        source.unlink()
        return StoredFile(f"s3://{self.bucket}/{key}", candidate, size)

    def open(self, location: str, offset: int = 0) -> BinaryIO:
        extra = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(location), **extra)
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(location) from None
            if str(exc.response.get("Error", {}).get("Code")) == "InvalidRange":  # offset == size: nothing left
                return io.BytesIO()
            raise
        return cast(BinaryIO, answer["Body"])

    def size(self, location: str) -> int | None:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self._key(location))
        except (ClientError, BotoCoreError, FileNotFoundError):
            return None
        return int(answer["ContentLength"])

    def delete(self, location: str) -> bool:
        if self.size(location) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._key(location))
        return True

    def local_path(self, location: str) -> Path | None:
        return None if location.startswith("s3://") else Path(location)

    def link(self, location: str, seconds: int) -> str:
        """A presigned GET link to the stored file, valid `seconds`."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(location)}, ExpiresIn=seconds
        )
        return url
