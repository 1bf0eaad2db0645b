"""Integrations: the list (status, last test), forms generated per kind from the destination's FieldSpecs, secrets
write-only (never rendered, left empty = kept), the connection test with its latency or exact error, trusting the
SFTP host key a test showed, and deletion. Who may do what is the gRPC IntegrationService's roles, read from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, request, session, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from pm_exports_client.v1 import integrations_pb2
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from admin.auth import needs_role
from admin.base import ConsoleView, actor, settings
from engine.destinations.base import FieldSpec
from engine.errors import InvalidRequest
from engine.rpc.interceptors import roles_from_descriptors
from engine.services import audit
from engine.services.integrations import (
    TRUST_ROLE,
    create_integration,
    delete_integration,
    get_integration_by_id,
    integration_kinds,
    kind_fields,
    list_integrations,
    test_integration,
    update_integration,
)
from engine.services.views import IntegrationView, ProbeView

_SERVICE = integrations_pb2.DESCRIPTOR.services_by_name["IntegrationService"].full_name
_RPC_ROLES = roles_from_descriptors(integrations_pb2.DESCRIPTOR)
PROBE_KEY = "integration_probe"  # the last test's outcome, shown once on the integration's page (never a secret)
MENU = lazy_gettext("Integrations")
MULTILINE_SECRET = 2048  # a secret longer than this may hold a key file: a text area keeps its line breaks
LIST_SPLIT = re.compile(r"[\n,]")
KIND_LABELS = {  # what each kind is, in words (a kind missing here is shown by its name)
    "local": lazy_gettext("A folder on the workers' machines"),
    "s3": lazy_gettext("Amazon S3 or MinIO bucket"),
    "ftp": lazy_gettext("FTP server"),
    "ftps": lazy_gettext("FTP server over TLS (FTPS)"),
    "sftp": lazy_gettext("SFTP server (SSH)"),
    "smtp": lazy_gettext("Email (SMTP server)"),
    "webhook": lazy_gettext("Webhook (signed HTTP POST)"),
}


def rpc_role(method: str) -> str:
    """The role the gRPC IntegrationService needs for `method`: one definition for the API and the console."""
    return _RPC_ROLES[f"/{_SERVICE}/{method}"]


CREATE_ROLE, UPDATE_ROLE, DELETE_ROLE = (rpc_role(m) for m in ("CreateIntegration", "UpdateIntegration",
                                                                 "DeleteIntegration"))  # fmt: skip
TEST_ROLE = rpc_role("TestIntegration")


def input_name(spec: FieldSpec) -> str:
    """A field's form name, which is also the `field` of the service's InvalidRequest about it."""
    return f"{'secrets' if spec.secret else 'settings'}.{spec.name}"


def form_values(
    fields: tuple[FieldSpec, ...], form: MultiDict[str, str], *, editing: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings and secrets a form sent. A secret left empty is not sent (kept on edit); on edit, its
    "remove" box sends it empty (the service removes it)."""
    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for spec in fields:
        key = input_name(spec)
        if spec.secret:
            if editing and form.get(f"remove.{spec.name}"):
                secrets[spec.name] = ""
            elif form.get(key):
                secrets[spec.name] = form.get(key, "")
            continue
        if spec.kind == "bool":
            sent = form.getlist(key)  # a hidden "false" then the checkbox's "true" when it is ticked
            values[spec.name] = sent[-1] if sent else "false"
        elif spec.kind == "text_list":
            values[spec.name] = [item.strip() for item in LIST_SPLIT.split(form.get(key, "")) if item.strip()]
        else:
            values[spec.name] = form.get(key, "").strip()
    return values, secrets


def _summary(view: IntegrationView) -> dict[str, Any]:
    """What the audit log keeps of an integration: its settings and which secrets are set (masked)."""
    return {"name": view.name, "kind": view.kind, "settings": dict(view.settings), "secrets": view.masked_secrets()}


def _field_error(exc: InvalidRequest) -> tuple[str, str]:
    """(the form field, the message without its name) of a service error."""
    field = exc.field or ""
    message = str(exc)
    return field, message.removeprefix(f"{field}: ") if field else message


def _probe_dict(view: IntegrationView, probe: ProbeView) -> dict[str, Any]:
    learnable = {
        spec.name: probe.details[spec.name]
        for spec in kind_fields(view.kind)
        if not spec.secret and spec.name in probe.details and view.settings.get(spec.name) != probe.details[spec.name]
    }
    return {
        "id": view.id,
        "ok": probe.ok,
        "latency_ms": round(probe.latency_ms, 1),
        "message": probe.message,
        "details": dict(probe.details),
        "learnable": learnable,
    }


class IntegrationsView(ConsoleView):
    def render(self, template: str, **kwargs: Any) -> str:
        """Every integration page names the kinds in words (the code stays as a hint)."""
        kwargs.setdefault("kind_labels", KIND_LABELS)
        return str(super().render(template, **kwargs))

    @expose("/")
    def index(self) -> str:
        return self.render(
            "console/integrations.html", integrations=list_integrations(settings()), create_role=CREATE_ROLE
        )

    def _form(self, kind: str, view: IntegrationView | None, sent: Mapping[str, Any], errors: Mapping[str, str]) -> str:
        return self.render(
            "console/integration_form.html",
            kind=kind,
            fields=kind_fields(kind),
            integration=view,
            sent=sent,
            errors=errors,
            field_keys={"name", *(input_name(spec) for spec in kind_fields(kind))},
            input_name=input_name,
            multiline_secret=MULTILINE_SECRET,
        )

    @expose("/new", methods=["GET"])
    @needs_role(CREATE_ROLE)
    def new(self) -> str | Response:
        kind = request.args.get("kind") or ""
        if kind not in integration_kinds():
            return self.render("console/integration_kinds.html", kinds=integration_kinds(), kind_labels=KIND_LABELS)
        return self._form(kind, None, {"name": ""}, {})

    @expose("/new", methods=["POST"])
    @needs_role(CREATE_ROLE)
    def create(self) -> tuple[str, int] | Response:
        kind = request.form.get("kind") or ""
        if kind not in integration_kinds():
            abort(400, description=_("Choose a kind of integration."))
        fields = kind_fields(kind)
        values, secrets = form_values(fields, request.form, editing=False)
        name = request.form.get("name", "")
        try:
            view = create_integration(settings(), name, kind, values, secrets)
        except InvalidRequest as exc:
            field, message = _field_error(exc)
            return self._form(kind, None, {"name": name, **_sent(fields, values)}, {field: message}), 400
        audit.record(actor(), "create", "integration", view.name, after=_summary(view))
        flash(_("Integration %(name)s created.", name=view.name), "success")
        return redirect(url_for(".detail", integration_id=view.id))

    @expose("/<int:integration_id>")
    def detail(self, integration_id: int) -> str:
        view = get_integration_by_id(settings(), integration_id)
        probe = session.get(PROBE_KEY)
        if probe and probe.get("id") == view.id:
            session.pop(PROBE_KEY)
        else:
            probe = None
        return self.render(
            "console/integration.html",
            integration=view,
            fields=kind_fields(view.kind),
            probe=probe,
            roles={"update": UPDATE_ROLE, "delete": DELETE_ROLE, "test": TEST_ROLE, "trust": TRUST_ROLE},
        )

    @expose("/<int:integration_id>/edit", methods=["GET"])
    @needs_role(UPDATE_ROLE)
    def edit(self, integration_id: int) -> str:
        view = get_integration_by_id(settings(), integration_id)
        return self._form(view.kind, view, {"name": view.name, **view.settings}, {})

    @expose("/<int:integration_id>/edit", methods=["POST"])
    @needs_role(UPDATE_ROLE)
    def update(self, integration_id: int) -> tuple[str, int] | Response:
        before = get_integration_by_id(settings(), integration_id)
        fields = kind_fields(before.kind)
        values, secrets = form_values(fields, request.form, editing=True)
        name = request.form.get("name", "")
        try:
            view = update_integration(settings(), before.name, values, secrets, rename=name)
        except InvalidRequest as exc:
            field, message = _field_error(exc)
            return self._form(before.kind, before, {"name": name, **_sent(fields, values)}, {field: message}), 400
        changed = sorted(secrets)
        note = ("secrets replaced or removed: " + ", ".join(changed)) if changed else ""
        audit.record(actor(), "update", "integration", view.name, before=_summary(before), after=_summary(view),
                     message=note)  # fmt: skip
        flash(_("Integration %(name)s saved.", name=view.name), "success")
        return redirect(url_for(".detail", integration_id=view.id))

    @expose("/<int:integration_id>/test", methods=["POST"])
    @needs_role(TEST_ROLE)
    def test(self, integration_id: int) -> Response:
        view = get_integration_by_id(settings(), integration_id)
        probe = test_integration(settings(), view.name)
        session[PROBE_KEY] = _probe_dict(view, probe)
        outcome = f"ok in {probe.latency_ms:.1f} ms" if probe.ok else "failed"
        audit.record(actor(), "test", "integration", view.name, message=f"{outcome}: {probe.message}"[:2000])
        return redirect(url_for(".detail", integration_id=view.id))

    @expose("/<int:integration_id>/trust", methods=["POST"])
    @needs_role(TRUST_ROLE)
    def trust(self, integration_id: int) -> Response:
        """Test again and store what the test learned (an SFTP host key), if it is what the user was shown."""
        before = get_integration_by_id(settings(), integration_id)
        names = {spec.name for spec in kind_fields(before.kind) if not spec.secret}
        expect = {k.removeprefix("expect."): v for k, v in request.form.items() if k.startswith("expect.")}
        if not expect or not set(expect) <= names:
            abort(400, description=_("Nothing to trust: test the connection first."))
        probe = test_integration(settings(), before.name, trust=True, expect=expect)
        after = get_integration_by_id(settings(), integration_id)
        audit.record(actor(), "test", "integration", after.name, before=_summary(before), after=_summary(after),
                     message=f"trusted: {', '.join(probe.trusted) or 'nothing'}")  # fmt: skip
        session[PROBE_KEY] = _probe_dict(after, probe)
        if probe.trusted:
            flash(_("Trusted: %(names)s.", names=", ".join(probe.trusted)), "success")
        return redirect(url_for(".detail", integration_id=after.id))

    @expose("/<int:integration_id>/delete", methods=["POST"])
    @needs_role(DELETE_ROLE)
    def delete(self, integration_id: int) -> Response:
        view = get_integration_by_id(settings(), integration_id)
        delete_integration(view.name)
        audit.record(actor(), "delete", "integration", view.name, before=_summary(view))
        flash(_("Integration %(name)s deleted.", name=view.name), "success")
        return redirect(url_for(".index"))


def _sent(fields: tuple[FieldSpec, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a refused form sent, to fill it again (secrets are never sent back to the browser)."""
    return {spec.name: values.get(spec.name) for spec in fields if not spec.secret}
