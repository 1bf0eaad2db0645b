"""The destination contract, run against real servers on loopback: FTP and FTPS (pyftpdlib), SFTP (asyncssh),
SMTP with STARTTLS (aiosmtpd) and a webhook receiver that checks signatures. Every kind passes the same cases
(deliver and read back, test(), wrong secret, server down then up, full storage, cut connection), then the
cases proper to one kind."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.destinations.base import DeliveryFile, Destination, DestinationOptions, Receipt
from engine.destinations.email import EmailDestination
from engine.destinations.ftp import FtpDestination, FtpsDestination
from engine.destinations.registry import get_destination
from engine.destinations.sftp import HostKey, SftpDestination
from engine.destinations.webhook import WebhookDestination, sign
from engine.errors import FatalError, InvalidRequest, RetryableError
from tests.servers.fixtures import certificates, webhook_receiver  # noqa: F401 - fixtures
from tests.servers.ftp import FtpServer
from tests.servers.sftp import SftpServer
from tests.servers.smtp import SmtpServer
from tests.servers.tls import CertificateFiles
from tests.servers.webhook import WebhookReceiver

OPTIONS = DestinationOptions(timeout=5.0, allow_private_networks=True)
ALL_KINDS = ["ftp", "ftps", "sftp", "smtp", "webhook"]
FILE_KINDS = ["ftp", "ftps", "sftp"]


def delivery_file(folder: Path, name: str, data: bytes, content_type: str = "text/csv") -> DeliveryFile:
    path = folder / name
    path.write_bytes(data)
    return DeliveryFile(name, path, len(data), hashlib.sha256(data).hexdigest(), content_type)


@dataclass
class Harness:
    """One destination kind wired to its running server: how to build it and how to see what arrived."""

    kind: str
    server: Any  # start() / stop()
    settings: dict[str, Any]
    secrets: dict[str, str]
    wrong_secrets: dict[str, str]
    arrived: Callable[[Receipt, DeliveryFile], bytes | None]  # the delivered bytes, None when absent
    root: Path | None = None  # where a file server keeps the files
    options: DestinationOptions = OPTIONS
    extra: dict[str, Any] = field(default_factory=dict)

    def destination(self, *, secrets: dict[str, str] | None = None, **settings: Any) -> Destination:
        cls = get_destination(self.kind)
        return cls({**self.settings, **settings}, self.secrets if secrets is None else secrets, self.options)


def _file_harness(
    kind: str, server: FtpServer | SftpServer, settings: dict[str, Any], secrets: dict[str, str]
) -> Harness:
    root = server.root

    def arrived(receipt: Receipt, _file: DeliveryFile) -> bytes | None:
        path = root / receipt.remote
        return path.read_bytes() if path.exists() else None

    return Harness(kind, server, settings, secrets, {**secrets, "password": "not-the-password"}, arrived, root)


@pytest.fixture(params=ALL_KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path, certificates: CertificateFiles) -> Iterator[Harness]:  # noqa: F811
    kind = request.param
    built: Harness
    if kind in ("ftp", "ftps"):
        ftp = FtpServer(tmp_path / "root", tls=certificates if kind == "ftps" else None).start()
        settings = {**ftp.settings, "base_path": "incoming"}
        if kind == "ftps":
            settings["ca_file"] = str(certificates.ca_file)
        built = _file_harness(kind, ftp, settings, ftp.secrets)
    elif kind == "sftp":
        sftp = SftpServer(tmp_path / "root").start()
        settings = {**sftp.settings, "base_path": "incoming", "host_key": sftp.host_key_line}
        built = _file_harness(kind, sftp, settings, {"password": sftp.password})
    elif kind == "smtp":
        smtp = SmtpServer(mode="starttls", tls=certificates).start()
        settings = {
            **smtp.settings,
            "ca_file": str(certificates.ca_file),
            "from_address": "exports@example.com",
            "to": ["feeds@example.com", "ops@example.com"],
        }

        def mail_arrived(_receipt: Receipt, file: DeliveryFile) -> bytes | None:
            for received in smtp.received:
                for part in received.message.iter_attachments():
                    if part.get_filename() == file.name:
                        payload = part.get_payload(decode=True)  # the transferred bytes, not decoded text
                        assert isinstance(payload, bytes)
                        return payload
            return None

        built = Harness(kind, smtp, settings, {"password": smtp.password}, {"password": "wrong"}, mail_arrived)
    else:
        receiver = WebhookReceiver().start()

        def described(_receipt: Receipt, file: DeliveryFile) -> bytes | None:
            # a webhook never carries the bodies: what arrives is the description, checked against the file
            for delivered in receiver.log:
                if delivered.signature_valid and delivered.event["event"] == "export.files":
                    for item in delivered.event["data"]["files"]:
                        if item["name"] == file.name and item["sha256"] == file.sha256 and item["size"] == file.size:
                            return file.path.read_bytes()
            return None

        built = Harness(
            kind,
            receiver,
            {"url": receiver.url("/hook")},
            {"signing_secret": receiver.secret},
            {"signing_secret": "not-the-secret"},
            described,
        )
    yield built
    built.server.stop()


# -- the contract, for every kind ----------------------------------------------------------------------------


def test_deliver_then_read_back_the_same_bytes(harness: Harness, tmp_path: Path) -> None:
    files = [
        delivery_file(tmp_path, "products.csv", b"sku;title\n" + b"SKU-1;Caf\xc3\xa9 cr\xc3\xa8me\n" * 2000),
        delivery_file(tmp_path, "stock.json", b'{"sku": "SKU-1", "stock": 4}\n', "application/json"),
    ]
    receipts = harness.destination().deliver(files, "feeds/daily")

    assert [r.size for r in receipts] == [f.size for f in files]
    for receipt, file in zip(receipts, files, strict=True):
        data = harness.arrived(receipt, file)
        assert data is not None, f"{file.name} did not arrive ({receipt})"
        assert hashlib.sha256(data).hexdigest() == file.sha256
    if harness.root is not None:
        assert receipts[0].remote == "incoming/feeds/daily/products.csv"
        leftovers = [p.name for p in harness.root.rglob("*") if p.name.startswith(".")]
        assert leftovers == [], "temporary upload names must be renamed away"


def test_deliver_again_replaces_the_file(harness: Harness, tmp_path: Path) -> None:
    destination = harness.destination()
    destination.deliver([delivery_file(tmp_path, "feed.csv", b"old\n" * 10)], "")
    newer = delivery_file(tmp_path, "feed.csv", b"new\n" * 20)
    receipts = destination.deliver([newer], "")
    if harness.kind in FILE_KINDS:
        assert harness.arrived(receipts[0], newer) == newer.path.read_bytes()


def test_connection_test_reports_latency_and_the_server_answer(harness: Harness) -> None:
    result = harness.destination().test()

    assert result.latency_ms > 0
    assert result.message.strip()
    if harness.kind in ("ftp", "ftps"):
        assert result.message.startswith("220 ")
    if harness.kind == "ftps":
        assert result.details["tls"].startswith("TLS")
    if harness.kind == "sftp":
        assert result.message.startswith("SSH-2.0-")
        assert result.details["trusted"] == "yes"
    if harness.kind == "smtp":
        assert result.message.startswith("220 ")
        assert harness.server.received == [], "a connection test sends no mail"
    if harness.kind == "webhook":
        assert result.message.startswith("HTTP 204")
        assert harness.server.log[-1].event["event"] == "webhook.test"
    if harness.root is not None:
        assert [p.name for p in harness.root.rglob("*") if p.is_file()] == [], "the probe file is deleted"


def test_wrong_secret_is_fatal_at_once_and_the_message_names_no_secret(harness: Harness, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, "a.csv", b"x\n")
    destination = harness.destination(secrets=harness.wrong_secrets)

    with pytest.raises(FatalError) as caught:
        destination.deliver([file], "")

    message = str(caught.value)
    for secret in [*harness.secrets.values(), *harness.wrong_secrets.values()]:
        assert secret not in message
    assert "refused" in message or "HTTP 401" in message
    assert harness.arrived(Receipt(remote="a.csv", size=2), file) is None


def test_server_down_is_retryable_then_the_delivery_succeeds(harness: Harness, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, "a.csv", b"sku\nA\n")
    destination = harness.destination()
    harness.server.stop()

    with pytest.raises(RetryableError) as caught:
        destination.deliver([file], "")
    assert caught.value.seconds > 0

    harness.server.start()
    receipts = destination.deliver([file], "")
    assert harness.arrived(receipts[0], file) == file.path.read_bytes()


@pytest.mark.parametrize("harness", ["ftp", "ftps", "sftp", "smtp"], indirect=True)
def test_full_storage_on_the_server_is_a_clear_error(harness: Harness, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, "big.csv", b"0123456789" * 50_000)
    if harness.kind in ("ftp", "ftps"):
        harness.server.faults.storage_full = True
    elif harness.kind == "sftp":
        harness.server.faults.quota_bytes = 100_000
    else:
        harness.server.refuse_data = "552 5.2.2 Mailbox full"

    with pytest.raises(FatalError) as caught:
        harness.destination().deliver([file], "out")

    message = str(caught.value)
    assert any(words in message for words in ("quota", "disk full", "No space left", "mailbox full")), message
    assert harness.arrived(Receipt(remote="incoming/out/big.csv", size=file.size), file) is None
    if harness.root is not None:
        assert [p.name for p in harness.root.rglob("*") if p.is_file()] == [], "the partial upload is removed"


@pytest.mark.parametrize("harness", FILE_KINDS, indirect=True)
def test_connection_cut_mid_upload_leaves_nothing_under_the_final_name(harness: Harness, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, "big.csv", b"0123456789abcdef" * 1_000_000)  # 16 MB: still sending at the cut
    harness.server.faults.cut_upload_after = 2_000_000

    with pytest.raises(RetryableError):
        harness.destination().deliver([file], "out")

    assert harness.root is not None
    assert not (harness.root / "incoming" / "out" / "big.csv").exists()

    harness.server.faults.cut_upload_after = None
    receipts = harness.destination().deliver([file], "out")
    assert harness.arrived(receipts[0], file) == file.path.read_bytes()


@pytest.mark.parametrize("harness", ["ftp", "ftps", "sftp", "smtp"], indirect=True)
def test_a_file_changed_since_the_export_is_refused(harness: Harness, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, "feed.csv", b"sku\nA\n")
    file.path.write_bytes(b"sku\nB\n")  # same size, other bytes

    with pytest.raises(FatalError, match="changed since the export"):
        harness.destination().deliver([file], "")

    assert harness.arrived(Receipt(remote="incoming/feed.csv", size=file.size), file) is None


# -- FTP/FTPS --------------------------------------------------------------------------------------------------


def test_ftps_refuses_a_certificate_it_cannot_verify(tmp_path: Path, certificates: CertificateFiles) -> None:  # noqa: F811
    with FtpServer(tmp_path / "root", tls=certificates) as server:
        destination = FtpsDestination(server.settings, server.secrets, OPTIONS)  # no ca_file
        with pytest.raises(FatalError, match=r"certificate is not trusted.*ca_file"):
            destination.test()


def test_ftp_kinds_declare_their_fields() -> None:
    assert get_destination("ftp") is FtpDestination
    assert get_destination("ftps") is FtpsDestination
    secret_fields = {spec.name for spec in FtpsDestination.fields if spec.secret}
    assert secret_fields == {"password"}
    assert "ca_file" in {spec.name for spec in FtpsDestination.fields}
    with pytest.raises(InvalidRequest, match="host"):
        FtpDestination({"username": "u"}, {"password": "p"}, OPTIONS)


# -- SFTP ------------------------------------------------------------------------------------------------------


def test_sftp_unknown_host_key_shows_the_fingerprint_and_refuses_to_deliver(tmp_path: Path) -> None:
    with SftpServer(tmp_path / "root") as server:
        destination = SftpDestination(server.settings, {"password": server.password}, OPTIONS)

        result = destination.test()
        expected = "ssh-ed25519 " + server.host_key.get_fingerprint("sha256")
        assert result.details["host_key"] == expected
        assert result.details["trusted"] == "no"
        assert expected in result.message

        with pytest.raises(FatalError, match="not trusted yet"):
            destination.deliver([delivery_file(tmp_path, "a.csv", b"x")], "")
        assert list(server.root.iterdir()) == []

        trusted = SftpDestination(
            {**server.settings, "host_key": result.details["host_key"]}, {"password": server.password}, OPTIONS
        )
        assert trusted.test().details["trusted"] == "yes"


def test_sftp_changed_host_key_is_refused_with_both_fingerprints(tmp_path: Path) -> None:
    server = SftpServer(tmp_path / "root")
    pinned = "ssh-ed25519 " + server.host_key.get_fingerprint("sha256")
    server.replace_host_key()
    presented = "ssh-ed25519 " + server.host_key.get_fingerprint("sha256")
    with server:
        destination = SftpDestination({**server.settings, "host_key": pinned}, {"password": server.password}, OPTIONS)
        for call in (destination.test, lambda: destination.deliver([delivery_file(tmp_path, "a.csv", b"x")], "")):
            with pytest.raises(FatalError) as caught:
                call()
            assert pinned in str(caught.value) and presented in str(caught.value)
            assert server.password not in str(caught.value)
        assert list(server.root.iterdir()) == []


def test_sftp_private_key_login_with_and_without_passphrase(tmp_path: Path) -> None:
    with SftpServer(tmp_path / "root") as server:
        settings = {**server.settings, "host_key": server.host_key_line}
        file = delivery_file(tmp_path, "a.csv", b"sku\nA\n")

        SftpDestination(settings, {"private_key": server.client_key}, OPTIONS).deliver([file], "")
        encrypted = server.encrypted_client_key("key-passphrase")
        SftpDestination(
            settings, {"private_key": encrypted, "private_key_passphrase": "key-passphrase"}, OPTIONS
        ).deliver([file], "k")
        with pytest.raises(FatalError, match="private_key_passphrase"):
            SftpDestination(settings, {"private_key": encrypted}, OPTIONS).deliver([file], "")

        assert (server.root / "a.csv").read_bytes() == (server.root / "k" / "a.csv").read_bytes() == b"sku\nA\n"


def test_sftp_host_key_setting_forms() -> None:
    assert str(HostKey.parse("ssh-ed25519 SHA256:abc=")) == "ssh-ed25519 SHA256:abc"
    assert HostKey.parse("SHA256:abc").matches(HostKey("ssh-rsa", "SHA256:abc"))
    assert not HostKey.parse("ssh-ed25519 SHA256:abc").matches(HostKey("ssh-rsa", "SHA256:abc"))
    with pytest.raises(InvalidRequest, match="host_key"):
        HostKey.parse("not a key")
    with pytest.raises(InvalidRequest, match="password"):
        SftpDestination({"host": "h", "username": "u"}, {}, OPTIONS)


# -- email -----------------------------------------------------------------------------------------------------


def _smtp_settings(server: SmtpServer, certs: CertificateFiles, **extra: Any) -> dict[str, Any]:
    return {
        **server.settings,
        "ca_file": str(certs.ca_file),
        "from_address": "exports@example.com",
        "to": ["feeds@example.com"],
        **extra,
    }


def test_email_links_files_above_the_attachment_limit(
    tmp_path: Path,
    certificates: CertificateFiles,  # noqa: F811
) -> None:
    small = delivery_file(tmp_path, "small.csv", b"a\n" * 1000)
    big = delivery_file(tmp_path, "big.csv", b"b" * (1024 * 1024 + 1))
    with SmtpServer(tls=certificates) as server:
        settings = _smtp_settings(server, certificates, max_attachment_mb=1, subject="Feed {count}: {files}")
        secrets = {"password": server.password}
        linked = DestinationOptions(timeout=5.0, link_for=lambda f: f"https://files.example.com/{f.name}")

        receipts = EmailDestination(settings, secrets, linked).deliver([small, big], "")

        assert [r.url for r in receipts] == [None, "https://files.example.com/big.csv"]
        message = server.received[0].message
        assert message["Subject"] == "Feed 2: small.csv, big.csv"
        assert [p.get_filename() for p in message.iter_attachments()] == ["small.csv"]
        assert "https://files.example.com/big.csv" in message.get_body(("plain",)).get_content()
        assert receipts[0].remote == message["Message-ID"]

        with pytest.raises(FatalError, match=r"big.csv .* attachment limit and no download link"):
            EmailDestination(settings, secrets, OPTIONS).deliver([big], "")
        assert len(server.received) == 1


def test_email_send_message_for_notifications(tmp_path: Path, certificates: CertificateFiles) -> None:  # noqa: F811
    with SmtpServer(tls=certificates) as server:
        destination = EmailDestination(_smtp_settings(server, certificates), {"password": server.password}, OPTIONS)
        report = delivery_file(tmp_path, "report.csv", b"sku;rule\nA;price\n")

        receipt = destination.send_message(["boss@example.com"], "Export completed", "Rows: 12\n", [report])

        received = server.received[0]
        assert received.rcpt_tos == ["boss@example.com"]
        assert received.message["Subject"] == "Export completed"
        assert "Rows: 12" in received.message.get_body(("plain",)).get_content()
        assert receipt.remote == received.message["Message-ID"]
        with pytest.raises(InvalidRequest, match="to"):
            destination.send_message(["not an address"], "s", "t")


def test_email_settings_are_checked() -> None:
    base = {"host": "smtp.example.com", "from_address": "exports@example.com"}
    with pytest.raises(InvalidRequest, match=r"security: .*loopback"):
        EmailDestination({**base, "security": "none"}, {}, OPTIONS)
    with pytest.raises(InvalidRequest, match="subject: unknown placeholder \\{sku\\}"):
        EmailDestination({**base, "subject": "{sku}"}, {}, OPTIONS)
    with pytest.raises(InvalidRequest, match="to: "):
        EmailDestination({**base, "to": ["a@b.example", "bad"]}, {}, OPTIONS)
    with pytest.raises(InvalidRequest, match="from_address"):
        EmailDestination({**base, "from_address": "Exports <x@example.com>\r\nBcc: y@example.com"}, {}, OPTIONS)
    assert get_destination("smtp") is EmailDestination


def test_email_over_implicit_tls(tmp_path: Path, certificates: CertificateFiles) -> None:  # noqa: F811
    with SmtpServer(mode="ssl", tls=certificates) as server:
        destination = EmailDestination(_smtp_settings(server, certificates), {"password": server.password}, OPTIONS)
        assert destination.test().details["tls"].startswith("TLS")
        file = delivery_file(tmp_path, "a.csv", b"x\n")
        destination.deliver([file], "")
        assert [p.get_filename() for p in server.received[0].message.iter_attachments()] == ["a.csv"]


# -- webhooks --------------------------------------------------------------------------------------------------


def _webhook(receiver: WebhookReceiver, path: str, options: DestinationOptions = OPTIONS) -> WebhookDestination:
    return WebhookDestination({"url": receiver.url(path)}, {"signing_secret": receiver.secret}, options)


def test_webhook_event_is_signed_and_carries_no_file_body(
    webhook_receiver: WebhookReceiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    file = delivery_file(tmp_path, "products.csv", b"SECRET-BODY-BYTES\n")
    options = DestinationOptions(timeout=5.0, allow_private_networks=True, link_for=lambda f: f"https://dl/{f.name}")

    receipts = _webhook(webhook_receiver, "/hook", options).deliver([file], "feeds")
    _webhook(webhook_receiver, "/hook", options).deliver([file], "feeds")

    first, again = webhook_receiver.log
    assert first.signature_valid
    assert b"SECRET-BODY-BYTES" not in first.body
    event = first.event
    assert event["event"] == "export.files" == first.headers["x-pm-event"]
    assert event["webhook_id"] == first.headers["x-pm-webhook-id"] == again.headers["x-pm-webhook-id"]
    assert event["timestamp"] == int(first.headers["x-pm-timestamp"])
    assert event["data"] == {
        "folder": "feeds",
        "files": [
            {
                "name": "products.csv",
                "size": file.size,
                "sha256": file.sha256,
                "content_type": "text/csv",
                "url": "https://dl/products.csv",
            }
        ],
    }
    assert first.headers["x-pm-signature"] == sign(webhook_receiver.secret, first.headers["x-pm-timestamp"], first.body)
    assert receipts[0].remote == webhook_receiver.url("/hook") and receipts[0].url == "https://dl/products.csv"


def test_webhook_send_event_has_a_new_id_each_time(webhook_receiver: WebhookReceiver) -> None:  # noqa: F811
    destination = _webhook(webhook_receiver, "/hook")
    destination.send_event("export.completed", {"job_id": "j1", "rows": 12})
    destination.send_event("export.completed", {"job_id": "j1", "rows": 12})

    ids = [d.headers["x-pm-webhook-id"] for d in webhook_receiver.log]
    assert len(set(ids)) == 2 and all(d.signature_valid for d in webhook_receiver.log)
    assert webhook_receiver.log[0].event["data"] == {"job_id": "j1", "rows": 12}
    with pytest.raises(InvalidRequest, match="event"):
        destination.send_event("Export Completed!", {})


@pytest.mark.parametrize(
    ("path", "error", "expected"),
    [
        ("/fail", RetryableError, "HTTP 500"),
        ("/busy", RetryableError, "HTTP 429"),
        ("/gone", FatalError, "410 Gone: the endpoint no longer exists"),
        ("/moved", FatalError, "HTTP 302.*not redirected"),
    ],
)
def test_webhook_answers_map_to_retryable_or_fatal(
    webhook_receiver: WebhookReceiver,  # noqa: F811
    path: str,
    error: type[Exception],
    expected: str,
) -> None:
    with pytest.raises(error, match=expected) as caught:
        _webhook(webhook_receiver, path).send_event("export.failed", {"job_id": "j1"})
    if path == "/busy":
        assert isinstance(caught.value, RetryableError) and caught.value.seconds == webhook_receiver.retry_after
    assert webhook_receiver.secret not in str(caught.value)


def test_webhook_to_a_private_address_is_refused_unless_allowed(webhook_receiver: WebhookReceiver) -> None:  # noqa: F811
    with pytest.raises(FatalError, match=r"internal address.*PM_EXPORTS_ALLOW_PRIVATE_NETWORKS"):
        _webhook(webhook_receiver, "/hook", DestinationOptions(timeout=5.0)).send_event("export.failed", {})
    assert webhook_receiver.log == [], "refused before any connection"


def test_webhook_url_is_checked_and_kept_out_of_messages() -> None:
    with pytest.raises(InvalidRequest, match="url"):
        WebhookDestination({"url": "ftp://example.com/hook"}, {"signing_secret": "s"}, OPTIONS)
    destination = WebhookDestination(
        {"url": "https://hooks.example.com/services/T000/B000/tokenpart"}, {"signing_secret": "s"}, OPTIONS
    )
    assert destination.where == "webhook https://hooks.example.com"
