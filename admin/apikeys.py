"""API keys of the gRPC API (admins only): the list (prefix, name, role, created, last used, revoked), creating one
(its plaintext shown once, on the answer to the creation, never again; the form sent again creates nothing: see
admin/once.py), revoking one."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from admin.auth import needs_role
from admin.base import AdminOnlyView, actor
from admin.once import FIELD, first_use, new_token
from engine.errors import InvalidRequest
from engine.models import API_KEY_ROLES
from engine.services import audit
from engine.services.apikeys import create_api_key, list_api_keys, revoke_api_key
from engine.services.views import ApiKeyView

MENU = lazy_gettext("API keys")


def _summary(key: ApiKeyView) -> dict[str, str | None]:
    return {"name": key.name, "role": key.role, "prefix": key.prefix,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}  # fmt: skip


def no_store(page: str, status: int = 200) -> Response:
    """A page that carries a secret shown once: no cache may keep it."""
    return Response(page, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def sent_again(already: str) -> Response | None:
    """None when the form's one-time token is fresh (go on and create); otherwise the answer, which creates nothing:
    back to the list with `already` when the form was sent a second time (a reload of the page that showed the
    secret), or a refusal when it carries no token (a page from before tokens, a hand-made request)."""
    fresh = first_use(request.form.get(FIELD))
    if fresh:
        return None
    if fresh is None:
        flash(_("This form could not be checked (it comes from an old page): nothing was done. Send it again from "
                "this page."), "error")  # fmt: skip
        return redirect(url_for(".index"), 303)
    flash(already, "info")
    return redirect(url_for(".index"), 303)


class ApiKeysView(AdminOnlyView):
    def _page(self, *, new_key: str = "", created: ApiKeyView | None = None, error: str = "", name: str = "") -> str:
        return self.render(
            "console/apikeys.html",
            keys=list_api_keys(),
            roles=API_KEY_ROLES,
            once=new_token,
            new_key=new_key,
            created=created,
            error=error,
            name=name,
        )

    @expose("/")
    def index(self) -> str:
        return self._page()

    @expose("/", methods=["POST"])
    @needs_role("admin")
    def create(self) -> Response:
        again = sent_again(_("This API key was already created and shown once: it is listed below by its prefix. "
                             "Nothing new was created."))  # fmt: skip
        if again:
            return again
        name = request.form.get("name", "")
        try:
            key, view = create_api_key(name, request.form.get("role", ""))
        except InvalidRequest as exc:
            return no_store(self._page(error=str(exc), name=name), 400)
        audit.record(actor(), "create", "api_key", view.prefix, after=_summary(view), message=view.name)
        return no_store(self._page(new_key=key, created=view))

    @expose("/<int:key_id>/revoke", methods=["POST"])
    @needs_role("admin")
    def revoke(self, key_id: int) -> Response:
        before = next((k for k in list_api_keys() if k.id == key_id), None)
        view = revoke_api_key(key_id)
        audit.record(actor(), "revoke", "api_key", view.prefix,
                     before=_summary(before) if before else None, after=_summary(view), message=view.name)  # fmt: skip
        flash(_("API key %(prefix)s (%(name)s) is revoked.", prefix=view.prefix, name=view.name), "success")
        return redirect(url_for(".index"))
