"""Integration rows as connections: open a destination from a named integration (its secrets decrypted for it
alone), refuse a disabled one, and count its deliveries' successes and failures (a kind with a limit, webhooks, is
disabled after too many failures in a row). Below the jobs layer: the deliver and notify kinds and the services
(engine.services.integrations) both call this."""

from __future__ import annotations

import logging

from engine.catalog.models import utcnow
from engine.destinations.base import Destination, DestinationOptions
from engine.destinations.registry import get_destination
from engine.errors import FatalError, NotFound
from engine.models import Integration
from engine.secrets import secret_box
from engine.settings import Settings

log = logging.getLogger(__name__)


def integration_row(name: str) -> Integration:
    """The integration named `name` (surrounding spaces ignored); NotFound otherwise."""
    row = Integration.get_or_none(Integration.name == (name or "").strip())
    if row is None:
        raise NotFound(f"no integration named {name!r}")
    return row


def destination_options(settings: Settings) -> DestinationOptions:
    return DestinationOptions(
        allow_private_networks=settings.allow_private_networks, timeout=float(settings.delivery_timeout)
    )


def open_connection(
    settings: Settings, name: str, options: DestinationOptions | None = None
) -> tuple[Integration, Destination]:
    """The integration's row and its destination, ready to deliver (its secrets decrypted for it alone)."""
    row = integration_row(name)
    destination_class = get_destination(row.kind)
    destination = destination_class(
        dict(row.settings or {}), secret_box(settings).decrypt(row.secrets), options or destination_options(settings)
    )
    return row, destination


def check_enabled(name: str, disabled_reason: str | None) -> None:
    """FatalError when deliveries to the integration are refused (disabled after failing too often)."""
    if disabled_reason:
        raise FatalError(
            f"integration {name!r} is disabled ({disabled_reason}); a successful "
            f"`pm-exports integrations test {name}` enables it again"
        )


def record_delivery_success(name: str) -> None:
    """A delivery to the integration succeeded: its count of failures in a row starts again from 0."""
    Integration.update(consecutive_failures=0).where(Integration.name == name).execute()


def record_delivery_failure(name: str, message: str) -> str | None:
    """A delivery to the integration failed for good: count it; a kind with a limit (webhooks: 5 in a row) is
    disabled when its count reaches it. Returns the reason when this failure disabled it."""
    row = Integration.get_or_none(Integration.name == name)
    if row is None or row.disabled_at is not None:
        return None
    Integration.update(consecutive_failures=Integration.consecutive_failures + 1).where(
        Integration.id == row.id
    ).execute()
    failures = Integration.get_by_id(row.id).consecutive_failures
    limit = getattr(get_destination(row.kind), "disable_after_failures", None)
    if limit is None or failures < limit:
        return None
    reason = f"disabled after {failures} failed deliveries in a row, the last: {message[:300]}"
    updated = (
        Integration.update(disabled_at=utcnow(), disabled_reason=reason)
        .where((Integration.id == row.id) & Integration.disabled_at.is_null())
        .execute()
    )
    if not updated:
        return None
    log.warning("integration disabled", extra={"integration": name, "failures": failures})
    return reason
