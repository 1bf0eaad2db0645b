"""Webhook destination: a signed JSON event POSTed through the safe outbound HTTP client (engine.net.http).

Every request is `{"event", "timestamp", "webhook_id", "data"}` with the headers

    X-PM-Signature: sha256=<hex HMAC-SHA256, keyed with the `signing_secret`, of "<timestamp>.<raw body>">
    X-PM-Timestamp: <timestamp, Unix seconds>      X-PM-Webhook-Id: <webhook_id>      X-PM-Event: <event>

A receiver recomputes the HMAC over the timestamp header, a dot and the body exactly as received, compares it
in constant time, and drops events whose timestamp is more than a few minutes old (replays) or whose
`webhook_id` it has already seen (a retried delivery keeps its id). `deliver()` sends an `export.files` event
describing the files (name, size, SHA-256, download link) and never their bodies. Addresses on loopback,
private, link-local or metadata networks are refused unless `options.allow_private_networks`. 408, 429 (with
its Retry-After) and 5xx are RetryableError; 410 Gone and the other 4xx are FatalError: the job runner owns
the retry schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import orjson

from engine.destinations.base import DeliveryFile, DestinationOptions, FieldSpec, ProbeResult, Receipt
from engine.destinations.transfer import setting, tls_context
from engine.errors import FatalError, InvalidRequest, RetryableError
from engine.net.http import (
    AddressRefused,
    FatalHttpError,
    HttpClient,
    InvalidUrl,
    RetryableHttpError,
    parse_url,
)

FILES_EVENT = "export.files"
TEST_EVENT = "webhook.test"
MAX_BODY_BYTES = 1024 * 1024  # an event's JSON body
RETRY_SECONDS = 60.0  # a retryable answer without a Retry-After
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

_URL = FieldSpec("url", required=True, max_length=2048, help="The receiver's http(s) URL")
_SIGNING_SECRET = FieldSpec(
    "signing_secret", secret=True, required=True, max_length=256, help="Key of the X-PM-Signature HMAC"
)
_CA_FILE = FieldSpec("ca_file", default="", max_length=1024, help="PEM file of extra CAs to trust for an https URL")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-PM-Signature value: "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookDestination:
    """An HTTP(S) endpoint that receives signed events: file deliveries and notifications."""

    kind: ClassVar[str] = "webhook"
    fields: ClassVar[tuple[FieldSpec, ...]] = (_URL, _SIGNING_SECRET, _CA_FILE)
    disable_after_failures: ClassVar[int] = 5  # failed deliveries in a row; a successful test enables it again

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        self.url = str(setting(settings, _URL)).strip()
        try:
            target = parse_url(self.url)
        except InvalidUrl as exc:
            raise InvalidRequest(str(exc), "url") from None
        port = "" if target.port == (443 if target.scheme == "https" else 80) else f":{target.port}"
        self.origin = f"{target.scheme}://{target.host}{port}"  # what messages show: the path may hold a token
        self._secret = str(setting(secrets, _SIGNING_SECRET))
        self._context = tls_context(str(setting(settings, _CA_FILE)))
        self.options = options

    @property
    def where(self) -> str:
        return f"webhook {self.origin}"

    def test(self) -> ProbeResult:
        """Send a signed `webhook.test` event; the receiver's status line is the answer."""
        started = time.monotonic()
        receipt = self.send_event(TEST_EVENT, {"message": "PM Exports connection test"})
        return ProbeResult((time.monotonic() - started) * 1000, receipt.detail, {"url": receipt.remote})

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        """POST one `export.files` event describing the files; the id is the same on every retry of it."""
        links = [self.options.link_for(f) for f in files]
        described = [
            {"name": f.name, "size": f.size, "sha256": f.sha256, "content_type": f.content_type, "url": link}
            for f, link in zip(files, links, strict=True)
        ]
        identity = orjson.dumps([FILES_EVENT, self.url, folder, [(f.name, f.sha256) for f in files]])
        event_id = "evt_" + hashlib.sha256(identity).hexdigest()[:32]
        receipt = self.send_event(FILES_EVENT, {"folder": folder, "files": described}, event_id=event_id)
        return [
            Receipt(remote=receipt.remote, size=f.size, url=link, detail=receipt.detail)
            for f, link in zip(files, links, strict=True)
        ]

    def send_event(self, event: str, data: Mapping[str, Any], *, event_id: str | None = None) -> Receipt:
        """POST a signed event; `event_id` (default: a new one) becomes `webhook_id` for the receiver's dedup."""
        if len(event) > 64 or not _EVENT_NAME.fullmatch(event):
            raise InvalidRequest(f"{event!r} is not an event name (lower-case words joined by dots)", "event")
        webhook_id = event_id or f"evt_{uuid.uuid4().hex}"
        timestamp = str(int(time.time()))
        payload = {"event": event, "timestamp": int(timestamp), "webhook_id": webhook_id, "data": dict(data)}
        try:
            body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:
            raise InvalidRequest(f"event data is not JSON: {exc}", "data") from None
        if len(body) > MAX_BODY_BYTES:
            raise InvalidRequest(f"event body of {len(body)} bytes is over the {MAX_BODY_BYTES} bytes limit", "data")
        headers = {
            "Content-Type": "application/json",
            "X-PM-Event": event,
            "X-PM-Timestamp": timestamp,
            "X-PM-Webhook-Id": webhook_id,
            "X-PM-Signature": sign(self._secret, timestamp, body),
        }
        with (
            self._translated(),
            HttpClient(allow_private_networks=self.options.allow_private_networks, ssl_context=self._context) as client,
            client.stream(
                "POST", self.url, headers=headers, body=body, timeout=self.options.timeout, follow_redirects=False
            ) as response,
        ):
            status, reason, location = response.status, response.reason, response.header("Location") or ""
        if not 200 <= status < 300:
            raise FatalError(
                f"{self.where}: answered HTTP {status} {reason} {location}".rstrip()
                + ": webhooks are not redirected, set the final URL"
            )
        parts = urlsplit(self.url)
        posted_to = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return Receipt(remote=posted_to, size=len(body), detail=f"HTTP {status} {reason} for {event} {webhook_id}")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The HTTP client's errors, reworded to name the webhook (its origin only: a path can hold a token)."""
        try:
            yield
        except RetryableHttpError as exc:
            seconds = exc.retry_after if exc.retry_after is not None else RETRY_SECONDS
            raise RetryableError(f"{self.where}: answered HTTP {exc.status}", seconds) from None
        except FatalHttpError as exc:
            if exc.status == 410:
                raise FatalError(
                    f"{self.where}: answered 410 Gone: the endpoint no longer exists; update or delete the webhook"
                ) from None
            raise FatalError(f"{self.where}: answered HTTP {exc.status}, sending again will not change it") from None
        except AddressRefused as exc:
            raise FatalError(
                f"{self.where}: refused: {exc.host} is or resolves to an internal address ({exc.address}); "
                "set PM_EXPORTS_ALLOW_PRIVATE_NETWORKS=true to allow private networks"
            ) from None
        except RetryableError as exc:
            raise RetryableError(f"{self.where}: {exc}", max(exc.seconds, RETRY_SECONDS)) from None
        except FatalError as exc:
            raise FatalError(f"{self.where}: {exc}") from None
