"""Email destination (smtplib): the files attached to one message up to a size limit, a download link above it.

Security is STARTTLS (default), implicit TLS (`ssl`) or `none`, which is allowed for a loopback server only;
the server's certificate is verified, with the `ca_file` setting's CAs added when set. `send_message()` is the
notifications' way to mail a summary. SMTP replies become engine errors: 4xx, timeouts and dropped
connections are RetryableError; a refused login, refused recipients or sender, a message too large (552) and
other 5xx are FatalError.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import ipaddress
import smtplib
import ssl
import string
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, ClassVar

from engine.destinations.base import DeliveryFile, DestinationOptions, FieldSpec, ProbeResult, Receipt
from engine.destinations.transfer import one_line, open_local, setting, tls_context
from engine.errors import ExportsError, FatalError, InvalidRequest, RetryableError

MiB = 1024 * 1024
RETRY_SECONDS = 60.0
SUBJECT_PLACEHOLDERS = ("files", "count", "folder", "date")

_HOST = FieldSpec("host", required=True, max_length=255, help="SMTP server host name or address")
_PORT = FieldSpec("port", kind="int", default=587, minimum=1, maximum=65535, help="SMTP server port")
_SECURITY = FieldSpec(
    "security",
    kind="choice",
    default="starttls",
    choices=("starttls", "ssl", "none"),
    help="STARTTLS, implicit TLS (usually port 465), or none (loopback servers only)",
)
_USERNAME = FieldSpec("username", default="", max_length=255, help="Login name (empty: no login)")
_PASSWORD = FieldSpec("password", secret=True, default="", max_length=1024, help="Login password")
_FROM = FieldSpec("from_address", required=True, max_length=320, help="Sender address")
_TO = FieldSpec("to", kind="text_list", default=(), max_length=50, help="Recipients of the delivered files")
_SUBJECT = FieldSpec(
    "subject",
    default="Export {files}",
    max_length=200,
    help="Subject pattern; placeholders: " + ", ".join("{" + p + "}" for p in SUBJECT_PLACEHOLDERS),
)
_MAX_ATTACHMENT_MB = FieldSpec(
    "max_attachment_mb",
    kind="int",
    default=10,
    minimum=1,
    maximum=50,
    help="Files are attached while their total stays under this many MB; the others are sent as download links",
)
_CA_FILE = FieldSpec("ca_file", default="", max_length=1024, help="PEM file of extra CAs to trust for the server")


def check_address(address: str, field: str) -> str:
    """An email address (addr-spec, no display name); InvalidRequest naming `field` otherwise."""
    address = address.strip()
    _name, parsed = email.utils.parseaddr(address)
    local, _at, domain = parsed.rpartition("@")
    if parsed != address or not local or "." not in domain or any(c.isspace() for c in address):
        raise InvalidRequest(f"{address!r} is not an email address", field)
    return address


def _human_size(size: int) -> str:
    if size >= MiB:
        return f"{size / MiB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size} bytes"


@dataclass(frozen=True)
class _Sent:
    message_id: str
    detail: str  # Message-ID, recipients, refused ones
    links: dict[str, str]  # file name -> download link, for the files not attached


class EmailDestination:
    """An SMTP server that mails the files (kind `smtp`); also sends the notification emails."""

    kind: ClassVar[str] = "smtp"
    fields: ClassVar[tuple[FieldSpec, ...]] = (
        _HOST,
        _PORT,
        _SECURITY,
        _USERNAME,
        _PASSWORD,
        _FROM,
        _TO,
        _SUBJECT,
        _MAX_ATTACHMENT_MB,
        _CA_FILE,
    )

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        self.host = str(setting(settings, _HOST))
        self.port = int(setting(settings, _PORT))
        self.security = str(setting(settings, _SECURITY))
        if self.security not in _SECURITY.choices:
            raise InvalidRequest(f"must be one of {', '.join(_SECURITY.choices)}, got {self.security!r}", "security")
        if self.security == "none" and not _is_loopback(self.host):
            raise InvalidRequest(
                "none sends the password and the files in clear: allowed for a loopback server only", "security"
            )
        self.username = str(setting(settings, _USERNAME))
        self._password = str(setting(secrets, _PASSWORD))
        self.from_address = check_address(str(setting(settings, _FROM)), "from_address")
        self.to = [check_address(str(a), "to") for a in setting(settings, _TO) or ()]
        self.subject = str(setting(settings, _SUBJECT))
        for _text, name, _spec, _conv in string.Formatter().parse(self.subject):
            if name is not None and name not in SUBJECT_PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in SUBJECT_PLACEHOLDERS)
                raise InvalidRequest(f"unknown placeholder {{{name}}} (known: {known})", "subject")
        self.max_attachment_bytes = int(setting(settings, _MAX_ATTACHMENT_MB)) * MiB
        self._context = tls_context(str(setting(settings, _CA_FILE)))
        self.options = options

    @property
    def where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    def test(self) -> ProbeResult:
        """Connect, secure the connection, log in and say NOOP; no message is sent."""
        started = time.monotonic()
        with self._session() as (smtp, banner):
            with self._translated("NOOP"):
                smtp.noop()
            details = {"server": banner, "tls": _tls_description(smtp)}
        return ProbeResult((time.monotonic() - started) * 1000, banner, details)

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        """Mail the files to the `to` recipients in one message (`folder` only fills the {folder} placeholder)."""
        if not self.to:
            raise FatalError(f"{self.where}: no recipients: set the `to` setting of the integration")
        names = ", ".join(f.name for f in files)
        subject = self.subject.format(
            files=names if len(names) <= 120 else names[:119] + "…",
            count=len(files),
            folder=folder or "/",
            date=dt.date.today().isoformat(),
        )
        lines = [f"PM Exports delivers {len(files)} file(s):", ""]
        sent = self._send(self.to, subject, lines, files)
        return [
            Receipt(
                remote=sent.message_id,
                size=f.size,
                url=sent.links.get(f.name),
                detail=("linked in " if f.name in sent.links else "attached to ") + sent.detail,
            )
            for f in files
        ]

    def send_message(
        self, to: Sequence[str], subject: str, text: str, files: Sequence[DeliveryFile] = (), *, html: str | None = None
    ) -> Receipt:
        """Mail `text` (and the files, attached or linked like deliveries) to `to`, with `html` as the alternative
        part beside the text when given (the caller escaped it); the receipt names the message."""
        recipients = [check_address(a, "to") for a in to]
        if not recipients:
            raise InvalidRequest("no recipients", "to")
        if len(recipients) > _TO.max_length:
            raise InvalidRequest(f"at most {_TO.max_length} recipients, got {len(recipients)}", "to")
        clean_subject = one_line(subject, 200)
        sent = self._send(recipients, clean_subject, text.splitlines(), files, html)
        size = len(text.encode()) + len((html or "").encode()) + sum(f.size for f in files)
        return Receipt(remote=sent.message_id, size=size, detail=sent.detail)

    # internals

    def _send(
        self, to: Sequence[str], subject: str, lines: list[str], files: Sequence[DeliveryFile], html: str | None = None
    ) -> _Sent:
        """Build and send one message (text, and HTML as its alternative when given)."""
        attached, links = self._split(files)
        body = list(lines)
        if files:
            if body and body[-1] != "":
                body.append("")
            for file in files:
                where = f"download: {links[file.name]}" if file.name in links else "attached"
                body.append(f"- {file.name} ({_human_size(file.size)}, SHA-256 {file.sha256}): {where}")
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(localtime=True)
        message_id = email.utils.make_msgid(domain=self.from_address.rpartition("@")[2])
        message["Message-ID"] = message_id
        message.set_content("\n".join(body) + "\n")
        if html is not None:
            message.add_alternative(html, subtype="html")
        for file in attached:
            maintype, _slash, subtype = (file.content_type or "application/octet-stream").partition("/")
            message.add_attachment(
                _read_checked(file), maintype=maintype, subtype=subtype or "octet-stream", filename=file.name
            )
        with self._session() as (smtp, _banner), self._translated("sending the message"):
            refused = smtp.send_message(message, from_addr=self.from_address, to_addrs=list(to))
        detail = f"message {message_id} to {len(to) - len(refused)} recipient(s)"
        if refused:  # the others accepted it: sending again would mail them twice, so report instead
            detail += "; refused: " + ", ".join(f"{address} ({code})" for address, (code, _msg) in refused.items())
        return _Sent(message_id, detail, links)

    def _split(self, files: Sequence[DeliveryFile]) -> tuple[list[DeliveryFile], dict[str, str]]:
        """The files to attach (in order, while their total fits the limit) and links for the others."""
        attached: list[DeliveryFile] = []
        links: dict[str, str] = {}
        total = 0
        for file in files:
            if total + file.size <= self.max_attachment_bytes:
                attached.append(file)
                total += file.size
                continue
            link = self.options.link_for(file)
            if not link:
                raise FatalError(
                    f"{file.name} ({_human_size(file.size)}) does not fit the "
                    f"{self.max_attachment_bytes // MiB} MB attachment limit and no download link is available: "
                    "raise max_attachment_mb or use an artifact store that gives links"
                )
            links[file.name] = link
        return attached, links

    @contextmanager
    def _session(self) -> Iterator[tuple[smtplib.SMTP, str]]:
        """A connected, secured and logged-in SMTP session, and the server's greeting line."""
        timeout = self.options.timeout
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(timeout=timeout, context=self._context)
        else:
            smtp = smtplib.SMTP(timeout=timeout)
        smtp._host = self.host  # type: ignore[attr-defined]  # TLS verifies it; set by smtplib only when __init__ connects
        try:
            with self._translated("connecting"):
                code, greeting = smtp.connect(self.host, self.port)
                banner = one_line(f"{code} {greeting.decode(errors='replace')}")
                smtp.ehlo()
                if self.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise FatalError(f"{self.where}: the server does not offer STARTTLS")
                    smtp.starttls(context=self._context)
                    smtp.ehlo()
            if self.username:
                with self._translated(f"logging in as {self.username}"):
                    smtp.login(self.username, self._password)
            yield smtp, banner
            with suppress(smtplib.SMTPException, OSError):
                smtp.quit()
        finally:
            smtp.close()

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """smtplib, TLS and socket errors as RetryableError / FatalError naming the server."""
        try:
            yield
        except ExportsError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise FatalError(
                f"{self.where}: login refused for user {self.username} ({exc.smtp_code} {_reply(exc.smtp_error)})"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise FatalError(f"{self.where}: {action} failed: {one_line(str(exc))}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            listed = ", ".join(f"{address} ({code} {_reply(msg)})" for address, (code, msg) in exc.recipients.items())
            raise FatalError(f"{self.where}: every recipient was refused: {listed}") from None
        except smtplib.SMTPServerDisconnected:
            raise RetryableError(
                f"{self.where}: {action} failed: the server closed the connection", RETRY_SECONDS
            ) from None
        except smtplib.SMTPResponseException as exc:
            reply = f"{exc.smtp_code} {_reply(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise RetryableError(f"{self.where}: {action} failed: {reply}", RETRY_SECONDS) from None
            if exc.smtp_code == 552:
                raise FatalError(
                    f"{self.where}: {action} refused: message too large or mailbox full ({reply}); "
                    "lower max_attachment_mb"
                ) from None
            raise FatalError(f"{self.where}: {action} refused ({reply})") from None
        except smtplib.SMTPException as exc:
            raise RetryableError(f"{self.where}: {action} failed: {one_line(str(exc))}", RETRY_SECONDS) from None
        except ssl.SSLCertVerificationError as exc:
            raise FatalError(
                f"{self.where}: the server's TLS certificate is not trusted ({exc.verify_message}); "
                "add its CA with the ca_file setting"
            ) from None
        except ssl.SSLError as exc:
            raise FatalError(f"{self.where}: {action} failed: TLS error ({exc.reason or exc})") from None
        except TimeoutError:
            raise RetryableError(
                f"{self.where}: {action} timed out after {self.options.timeout:g} s", RETRY_SECONDS
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise RetryableError(f"{self.where}: {action} failed: {reason}", RETRY_SECONDS) from None


def _reply(raw: bytes | str) -> str:
    return one_line(raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw))


def _read_checked(file: DeliveryFile) -> bytes:
    """The file's bytes (it fits the attachment limit), checked against the export's size and SHA-256."""
    with open_local(file) as stream:
        data = stream.read(file.size + 1)
    if len(data) != file.size or hashlib.sha256(data).hexdigest() != file.sha256.lower():
        raise FatalError(f"{file.name}: the local file changed since the export wrote it: not delivered")
    return data


def _tls_description(smtp: smtplib.SMTP) -> str:
    sock = smtp.sock
    if isinstance(sock, ssl.SSLSocket):
        cipher = sock.cipher()
        return f"{sock.version()} {cipher[0] if cipher else ''}".strip()
    return "none"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
