"""A real SMTP server (aiosmtpd) on 127.0.0.1: STARTTLS (required before login), implicit TLS or plain, one
login, and the received messages parsed for the test to read. `refuse_data` makes it answer DATA with a reply
of the test's choice (a full mailbox: "552 ...", a busy server: "451 ...")."""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.servers.net import free_port
from tests.servers.tls import CertificateFiles


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        if self._server.refuse_data:
            return self._server.refuse_data
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's controller, closing the sessions still open when it stops (its own stop leaves them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = super().factory()
        self.sessions.append(session)
        return session

    def stop(self, no_assert: bool = False) -> None:
        async def close_sessions() -> None:
            for session in self.sessions:
                if session.transport is not None:
                    session.transport.close()
            await asyncio.sleep(0)  # let the transports finish closing

        asyncio.run_coroutine_threadsafe(close_sessions(), self.loop).result(timeout=10)
        super().stop(no_assert)


class SmtpServer:
    """`start()` listens on `port` (given, or free); `stop()` closes it. `mode` "starttls" and "ssl" need `tls`."""

    def __init__(
        self,
        *,
        mode: Literal["starttls", "ssl", "none"] = "starttls",
        tls: CertificateFiles | None = None,
        user: str = "mailer",
        password: str = "smtp-secret-pw",
        port: int | None = None,
    ) -> None:
        self.mode = mode
        self.tls = tls
        self.user = user
        self.password = password
        self.port = port or free_port()
        self.received: list[Received] = []
        self.refuse_data: str | None = None
        self._controller: _Controller | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.port, "security": self.mode, "username": self.user}

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        # implicit TLS is TLS from the first byte, but aiosmtpd only counts STARTTLS for its AUTH-over-TLS rule
        kwargs: dict[str, Any] = {"authenticator": self._authenticate, "auth_require_tls": self.mode == "starttls"}
        if self.mode == "starttls":
            assert self.tls is not None
            kwargs.update(tls_context=self.tls.server_context(), require_starttls=True)
        elif self.mode == "ssl":
            assert self.tls is not None
            kwargs.update(ssl_context=self.tls.server_context())
        self._controller = _Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, server_hostname="mail.test", **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
