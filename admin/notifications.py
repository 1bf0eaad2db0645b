"""Notifications: the in-app list (newest first, a page at a time, each linking to its job), the unread badge of the
navigation, and marking read. Marking read changes no catalogue, template or schedule: any logged-in user may, and
its forms are "safe" ones (data-safe), like logging out."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from admin.base import ConsoleView
from engine.errors import InvalidRequest
from engine.services.notifications import list_notifications, mark_read, unread_count

PAGE_SIZE = 25
MAX_IDS = PAGE_SIZE  # a form marks the notifications of one page


def init_app(app: Flask) -> None:
    """The unread count for the navigation's badge (one indexed count, only for a logged-in user)."""

    @app.context_processor
    def _unread() -> dict[str, Any]:
        def unread() -> int:
            return unread_count() if current_user.is_authenticated else 0

        return {"unread_notifications": unread}


class NotificationsView(ConsoleView):
    @expose("/")
    def index(self) -> str:
        token = request.args.get("page") or None
        unread_only = request.args.get("unread") == "1"
        items, next_token = list_notifications(unread_only=unread_only, page_size=PAGE_SIZE, page_token=token)
        args: dict[str, Any] = {"unread": "1"} if unread_only else {}
        return self.render(
            "console/notifications.html",
            notifications=items,
            unread_only=unread_only,
            next_url=url_for(".index", page=next_token, **args) if next_token else "",
            first_url=url_for(".index", **args) if token else "",
        )

    @expose("/read", methods=["POST"])
    def read(self) -> Response:
        """Mark the notifications named by `id` (those of a page) read, or all of them with `all`."""
        everything = request.form.get("all") == "1"
        raw = request.form.getlist("id")[: MAX_IDS + 1]
        if len(raw) > MAX_IDS:
            raise InvalidRequest(_("at most %(n)s at once: mark them all instead", n=MAX_IDS), "id")
        if not all(value.isdigit() and len(value) < 12 for value in raw):
            raise InvalidRequest(_("not a notification number"), "id")
        changed = mark_read([int(v) for v in raw], everything=everything)
        flash(ngettext("%(num)s notification marked read.", "%(num)s notifications marked read.", changed), "info")
        back = request.form.get("next") or ""
        return redirect(back if back.startswith("/notifications") else url_for(".index"))
