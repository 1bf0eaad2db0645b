"""Logging in and out of the console, the logged-in user, and the role checks of the views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin.base import actor_of
from admin.i18n import local_path, remember_time_zone
from admin.labels import role_label
from admin.security import FailedLoginLimiter
from engine.errors import Unauthenticated
from engine.models import role_allows
from engine.services import audit, users
from engine.services.views import UserView

F = TypeVar("F", bound=Callable[..., Any])
blueprint = Blueprint("auth", __name__)
login_limiter = FailedLoginLimiter()


class ConsoleUser(UserMixin):
    """The logged-in user as Flask-Login sees it."""

    def __init__(self, view: UserView) -> None:
        self.view = view
        self.id = view.id
        self.username = view.username
        self.role = view.role

    def can(self, role: str) -> bool:
        return role_allows(self.role, role)


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = lazy_gettext("Log in to use the console.")
    manager.login_message_category = "info"

    @manager.user_loader
    def _load(user_id: str) -> ConsoleUser | None:
        view = users.active_user(int(user_id)) if user_id.isdigit() else None
        return ConsoleUser(view) if view is not None else None


def require_role(role: str) -> None:
    """Abort with 403 unless the logged-in user has `role` or a higher one."""
    if not current_user.is_authenticated or not current_user.can(role):
        abort(403, description=_("this needs the role %(role)s", role=role_label(role)))


def needs_role(role: str) -> Callable[[F], F]:
    """Decorator form of require_role for the views' state-changing routes."""

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_role(role)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=users.PASSWORD_MAX)])


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect after login."""
    if target and local_path(target):
        return target
    return url_for("admin.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    error = ""
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        wait = login_limiter.retry_after(address)
        if wait:
            error = ngettext("too many failed logins from your address: try again in %(num)s minute",
                             "too many failed logins from your address: try again in %(num)s minutes",
                             max(1, wait // 60))  # fmt: skip
        else:
            try:
                view = users.authenticate_user(form.username.data or "", form.password.data or "")
            except users.AccountLocked as exc:
                login_limiter.failed(address)
                error = ngettext(
                    "too many failed logins: this account is locked for %(num)s more minute",
                    "too many failed logins: this account is locked for %(num)s more minutes",
                    exc.minutes,
                )
            except Unauthenticated:
                login_limiter.failed(address)
                error = _("wrong username or password")
            else:
                session.clear()
                session.permanent = True
                login_user(ConsoleUser(view))
                remember_time_zone(request.form.get("tz"))
                audit.record(actor_of(view.username), "login", "user", view.username)  # as its actions are
                return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", form=form, error=error)


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
