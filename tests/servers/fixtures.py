"""pytest fixtures for the real test servers; a test module imports the ones it uses
(`from tests.servers.fixtures import ftp_server, ...`). Each server is started for the test and stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.ftp import FtpServer
from tests.servers.sftp import SftpServer
from tests.servers.smtp import SmtpServer
from tests.servers.tls import CertificateFiles, make_certificates
from tests.servers.webhook import WebhookReceiver


@pytest.fixture
def certificates(tmp_path: Path) -> CertificateFiles:
    return make_certificates(tmp_path / "certificates")


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    with FtpServer(tmp_path / "ftp-root") as server:
        yield server


@pytest.fixture
def ftps_server(tmp_path: Path, certificates: CertificateFiles) -> Iterator[FtpServer]:
    with FtpServer(tmp_path / "ftps-root", tls=certificates) as server:
        yield server


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    with SftpServer(tmp_path / "sftp-root") as server:
        yield server


@pytest.fixture
def smtp_server(certificates: CertificateFiles) -> Iterator[SmtpServer]:
    with SmtpServer(mode="starttls", tls=certificates) as server:
        yield server


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
