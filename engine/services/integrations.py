"""Integrations: named connections (a destination kind, its settings, its encrypted secrets). Create, update,
list, get, test, delete, and rotate the encryption key. Values are validated against the kind's FieldSpecs on
save; secrets are write-only: no view, log line or error message ever carries one."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from peewee import IntegrityError

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.destinations import connections
from engine.destinations.base import Destination, DestinationOptions, FieldSpec
from engine.destinations.registry import DESTINATIONS, get_destination
from engine.errors import ExportsError, InvalidRequest, InvalidState, NotFound
from engine.models import Integration
from engine.secrets import secret_box
from engine.services.names import check_name
from engine.services.views import IntegrationView, ProbeView
from engine.settings import Settings

log = logging.getLogger(__name__)

MAX_NAME = 128
TRUST_ROLE = "admin"  # storing what a test learned (an SFTP host key) changes the integration: gRPC and console
MAX_LIST_ITEM = 1024
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _check_value(spec: FieldSpec, value: Any, where: str) -> Any:
    """`value` as the spec's kind, or InvalidRequest naming `where` (never quoting a secret)."""
    shown = "" if spec.secret else f", got {str(value)[:60]!r}"
    if spec.kind == "text":
        if not isinstance(value, str):
            raise InvalidRequest(f"must be a text{shown}", where)
        if len(value) > spec.max_length:
            raise InvalidRequest(f"must be at most {spec.max_length} characters", where)
        return value
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidRequest(f"must be an integer{shown}", where)
        try:
            number = int(value)
        except ValueError:
            raise InvalidRequest(f"must be an integer{shown}", where) from None
        if spec.minimum is not None and number < spec.minimum:
            raise InvalidRequest(f"must be at least {spec.minimum}", where)
        if spec.maximum is not None and number > spec.maximum:
            raise InvalidRequest(f"must be at most {spec.maximum}", where)
        return number
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in TRUE_WORDS | FALSE_WORDS:
            raise InvalidRequest(f"must be true or false{shown}", where)
        return text in TRUE_WORDS
    if spec.kind == "choice":
        if value not in spec.choices:
            raise InvalidRequest(f"must be one of {', '.join(spec.choices)}{shown}", where)
        return value
    # text_list: a list, or a comma-separated text (CLI)
    items = [i.strip() for i in value.split(",") if i.strip()] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidRequest("must be a list of texts", where)
    if len(items) > spec.max_length:
        raise InvalidRequest(f"must have at most {spec.max_length} items", where)
    if any(len(i) > MAX_LIST_ITEM for i in items):
        raise InvalidRequest(f"items must be at most {MAX_LIST_ITEM} characters", where)
    return items


def validate_values(
    fields: tuple[FieldSpec, ...], settings: Mapping[str, Any], secrets: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings and secrets checked against a kind's fields: unknown names, types, bounds, required ones; the
    defaults of missing settings filled in. Raises InvalidRequest naming `settings.X` or `secrets.X`."""
    by_name = {f.name: f for f in fields}
    for group, values, secret in (("settings", settings, False), ("secrets", secrets, True)):
        for name in values:
            spec = by_name.get(name)
            if spec is None or spec.secret != secret:
                expected = sorted(f.name for f in fields if f.secret == secret)
                hint = f" ({name} is a {'secret' if not secret else 'setting'})" if spec is not None else ""
                raise InvalidRequest(f"unknown {group[:-1]}{hint}; known: {', '.join(expected) or 'none'}",
                                     f"{group}.{name}")  # fmt: skip
    clean_settings: dict[str, Any] = {}
    clean_secrets: dict[str, str] = {}
    for spec in fields:
        group = "secrets" if spec.secret else "settings"
        values = secrets if spec.secret else settings
        value = values.get(spec.name)
        if value is None or value == "":
            if spec.required:
                raise InvalidRequest("is required", f"{group}.{spec.name}")
            if spec.default is not None and not spec.secret:
                clean_settings[spec.name] = spec.default
            continue
        checked = _check_value(spec, value, f"{group}.{spec.name}")
        if spec.secret:
            clean_secrets[spec.name] = str(checked)
        else:
            clean_settings[spec.name] = checked
    return clean_settings, clean_secrets


def _checked_values(
    destination: type[Destination], settings: Mapping[str, Any], secrets: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """validate_values, then the kind's own `check_settings` when it has one (see Destination), its error naming
    `settings.X` like the others: used by create and update, so every kind's rules apply on save."""
    clean, clean_secrets = validate_values(destination.fields, settings, secrets)
    check = getattr(destination, "check_settings", None)
    if check is not None:
        try:
            check(clean)
        except InvalidRequest as exc:
            raise InvalidRequest(exc.reason, f"settings.{exc.field}" if exc.field else None) from None
    return clean, clean_secrets


def integration_kinds() -> tuple[str, ...]:
    """The kinds an integration can have (the destination registry's names), sorted."""
    return tuple(sorted(DESTINATIONS))


def kind_fields(kind: str) -> tuple[FieldSpec, ...]:
    """The settings and secrets a kind takes (InvalidRequest on an unknown kind): forms are generated from them."""
    return get_destination(kind).fields


def _check_name(name: str) -> str:
    return check_name(name or "", limit=MAX_NAME)


_row = connections.integration_row


def _view(row: Integration, settings: Settings) -> IntegrationView:
    secrets = secret_box(settings).decrypt(row.secrets)
    return IntegrationView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        settings=dict(row.settings or {}),
        secrets_set=tuple(sorted(secrets)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        tested_at=row.tested_at,
        test_ok=row.test_ok,
        test_message=row.test_message or "",
        consecutive_failures=row.consecutive_failures,
        disabled_reason=row.disabled_reason,
    )


def create_integration(
    settings: Settings, name: str, kind: str, values: Mapping[str, Any], secrets: Mapping[str, str]
) -> IntegrationView:
    """A new integration; InvalidRequest names the field at fault, InvalidRequest on a name already taken."""
    name = _check_name(name)
    destination = get_destination(kind)
    clean, clean_secrets = _checked_values(destination, values, secrets)
    token = secret_box(settings).encrypt(clean_secrets) if clean_secrets else None
    try:
        with current_database().atomic():
            row = Integration.create(name=name, kind=kind, settings=clean, secrets=token)
    except IntegrityError:
        raise InvalidRequest(f"an integration named {name!r} already exists", "name") from None
    log.info("integration created", extra={"integration": name, "kind": kind})
    return _view(row, settings)


def update_integration(
    settings: Settings,
    name: str,
    values: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    *,
    rename: str | None = None,
) -> IntegrationView:
    """Change some settings and secrets (the others are kept; an empty value removes one), or the name."""
    row = _row(name)
    box = secret_box(settings)
    merged = {**(row.settings or {}), **(values or {})}
    merged_secrets = {**box.decrypt(row.secrets), **(secrets or {})}
    merged = {k: v for k, v in merged.items() if v is not None and v != ""}
    merged_secrets = {k: v for k, v in merged_secrets.items() if v}
    clean, clean_secrets = _checked_values(get_destination(row.kind), merged, merged_secrets)
    new_name = _check_name(rename) if rename is not None else row.name
    token = box.encrypt(clean_secrets) if clean_secrets else None
    try:
        with current_database().atomic():
            Integration.update(name=new_name, settings=clean, secrets=token, updated_at=utcnow()).where(
                Integration.id == row.id
            ).execute()
    except IntegrityError:
        raise InvalidRequest(f"an integration named {new_name!r} already exists", "name") from None
    log.info("integration updated", extra={"integration": new_name, "kind": row.kind})
    return _view(Integration.get_by_id(row.id), settings)


def list_integrations(settings: Settings, kind: str | None = None) -> list[IntegrationView]:
    query = Integration.select().order_by(Integration.name)
    if kind:
        query = query.where(Integration.kind == kind)
    return [_view(row, settings) for row in query]


def get_integration(settings: Settings, name: str) -> IntegrationView:
    return _view(_row(name), settings)


def get_integration_by_id(settings: Settings, integration_id: int) -> IntegrationView:
    row = Integration.get_or_none(Integration.id == integration_id)
    if row is None:
        raise NotFound(f"no integration with id {integration_id}")
    return _view(row, settings)


def delete_integration(name: str) -> None:
    """Delete it; the deliveries that used it keep its name."""
    row = _row(name)
    row.delete_instance()
    log.info("integration deleted", extra={"integration": row.name})


def open_destination(
    settings: Settings, name: str, options: DestinationOptions | None = None
) -> tuple[IntegrationView, Destination]:
    """The integration's destination, ready to deliver (its secrets decrypted for it alone)."""
    row, destination = connections.open_connection(settings, name, options)
    return _view(row, settings), destination


def test_integration(
    settings: Settings, name: str, *, trust: bool = False, expect: Mapping[str, str] | None = None
) -> ProbeView:
    """Connect, authenticate, write and delete a probe; record the outcome on the integration. With `trust`,
    the test's details that are settings of the kind (an SFTP host key) are stored: later connections pin them.
    With `expect` (what a previous test showed the user), trusting refuses details that differ from it
    (InvalidState): the key stored is the one the user saw, not one a server swapped in between."""
    view, destination = open_destination(settings, name)
    started = time.monotonic()
    try:
        probe = destination.test()
    except ExportsError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        Integration.update(tested_at=utcnow(), test_ok=False, test_message=message).where(
            Integration.id == view.id
        ).execute()
        return ProbeView(False, round((time.monotonic() - started) * 1000, 1), message, {})
    trusted: tuple[str, ...] = ()
    if trust:
        setting_names = {f.name for f in destination.fields if not f.secret}
        learned = {k: v for k, v in probe.details.items() if k in setting_names}
        changed = sorted(k for k, v in (expect or {}).items() if learned.get(k) != v)
        if changed:
            raise InvalidState(
                f"the server now presents a different {', '.join(changed)} than the one shown: "
                "not trusted; test the connection again and compare"
            )
        if learned:
            update_integration(settings, name, learned)
            trusted = tuple(sorted(learned))
    Integration.update(
        tested_at=utcnow(),
        test_ok=True,
        test_message=probe.message,
        consecutive_failures=0,
        disabled_at=None,
        disabled_reason=None,
    ).where(Integration.id == view.id).execute()
    if view.disabled_reason:
        log.info("integration enabled again by a successful test", extra={"integration": view.name})
    return ProbeView(True, probe.latency_ms, probe.message, dict(probe.details), trusted)


def check_enabled(view: IntegrationView) -> None:
    """FatalError when deliveries to the integration are refused (disabled after failing too often)."""
    connections.check_enabled(view.name, view.disabled_reason)


def rotate_secrets(settings: Settings) -> int:
    """Re-encrypt every integration's secrets with the first configured key; returns how many were rewritten."""
    box = secret_box(settings)
    count = 0
    with current_database().atomic():
        for row in Integration.select().where(Integration.secrets.is_null(False)):
            Integration.update(secrets=box.rotate(row.secrets)).where(Integration.id == row.id).execute()
            count += 1
    log.info("integration secrets re-encrypted", extra={"count": count})
    return count
