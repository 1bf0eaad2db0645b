"""Console users (admins only): the list, creating one (a password generated and shown once, or set), changing a
role, disabling and enabling, resetting a password (shown once; a creation or a reset sent again by a reload does
nothing: see admin/once.py). The service keeps at least one active admin."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from admin.apikeys import no_store, sent_again
from admin.auth import needs_role
from admin.base import AdminOnlyView, actor
from admin.engine_text import engine_text
from admin.once import new_token
from engine.errors import InvalidRequest, InvalidState
from engine.models import ROLES
from engine.services import audit
from engine.services.users import create_user, get_user, list_users, set_disabled, set_password, set_role
from engine.services.views import UserView

MENU = lazy_gettext("Users")


def _summary(user: UserView) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "disabled": user.disabled_at is not None}


class UsersView(AdminOnlyView):
    def _page(
        self, *, shown: tuple[str, str] | None = None, error: str = "", sent: dict[str, str] | None = None
    ) -> str:
        return self.render(
            "console/users.html",
            users=list_users(),
            roles=ROLES,
            shown=shown,
            error=error,
            sent=sent or {},
            once=new_token,
        )

    @expose("/")
    def index(self) -> str:
        return self._page()

    @expose("/", methods=["POST"])
    @needs_role("admin")
    def create(self) -> Response:
        again = sent_again(_("This user was already created (a generated password is shown once): nothing new was "
                             "created."))  # fmt: skip
        if again:
            return again
        username, role = request.form.get("username", ""), request.form.get("role", "")
        typed = request.form.get("password") or None
        try:
            password, user = create_user(username, role, typed)
        except InvalidRequest as exc:
            return no_store(self._page(error=str(exc), sent={"username": username, "role": role}), 400)
        audit.record(actor(), "create", "user", user.username, after=_summary(user))
        if typed:
            flash(_("User %(name)s created with the password you typed.", name=user.username), "success")
            return redirect(url_for(".index"))
        return no_store(self._page(shown=(user.username, password)))

    @expose("/<username>/role", methods=["POST"])
    @needs_role("admin")
    def role(self, username: str) -> Response:
        before = get_user(username)
        try:
            user = set_role(username, request.form.get("role", ""))
        except (InvalidRequest, InvalidState) as exc:  # the last active admin, an unknown role: said on the page
            return self._refused(exc)
        audit.record(actor(), "update", "user", user.username, before=_summary(before), after=_summary(user))
        flash(_("%(name)s is now %(role)s.", name=user.username, role=user.role), "success")
        return redirect(url_for(".index"))

    @expose("/<username>/disable", methods=["POST"])
    @needs_role("admin")
    def disable(self, username: str) -> Response:
        return self._set_disabled(username, True)

    @expose("/<username>/enable", methods=["POST"])
    @needs_role("admin")
    def enable(self, username: str) -> Response:
        return self._set_disabled(username, False)

    def _set_disabled(self, username: str, disabled: bool) -> Response:
        before = get_user(username)
        try:
            user = set_disabled(username, disabled)
        except InvalidState as exc:
            return self._refused(exc)
        audit.record(actor(), "update", "user", user.username, before=_summary(before), after=_summary(user))
        if disabled:
            flash(_("%(name)s is disabled: their sessions end at their next request.", name=user.username), "success")
        else:
            flash(_("%(name)s is enabled.", name=user.username), "success")
        return redirect(url_for(".index"))

    @staticmethod
    def _refused(exc: InvalidRequest | InvalidState) -> Response:
        flash(engine_text(str(exc)), "error")
        return redirect(url_for(".index"))

    @expose("/<username>/password", methods=["POST"])
    @needs_role("admin")
    def reset_password(self, username: str) -> Response:
        again = sent_again(_("This password was already reset and shown once: it was not reset again."))
        if again:
            return again
        password, user = set_password(username)
        audit.record(actor(), "update", "user", user.username, message="password reset")
        return no_store(self._page(shown=(user.username, password)))
