"""What every console view shares: login required, the settings, the acting user's name in jobs and audit entries."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.settings import Settings


def settings() -> Settings:
    found: Settings = current_app.extensions["pm_exports_settings"]
    return found


CONSOLE_ACTOR = "console:"


def actor_of(username: str) -> str:
    """The one name jobs and audit entries record for a console user (its logins and its actions alike)."""
    return f"{CONSOLE_ACTOR}{username}"


def actor() -> str:
    """The name jobs and audit entries record for the logged-in user."""
    return actor_of(current_user.username)


def _to_login() -> Response:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class ConsoleView(BaseView):
    """A Flask-Admin view for logged-in users (a reader sees it; its state-changing routes check the role)."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return _to_login()


class ConsoleIndexView(AdminIndexView):
    """The console's home page, for logged-in users."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return _to_login()


class AdminOnlyView(ConsoleView):
    """A view for admins only: hidden from the menu of other roles, 403 on its URLs for them."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and current_user.can("admin"))

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if current_user.is_authenticated:
            abort(403, description=gettext("this page is for admins"))
        return _to_login()
