"""The admin console: a Flask app (Flask-Admin views) that calls engine.services only, as the gRPC servicer does."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from engine.settings import Settings


def create_app(settings: Settings, *, open_db: bool = True) -> Flask:
    """The console's Flask app for `settings`; with `open_db`, opens the configured database (whose schema must be
    up to date: `pm-exports db upgrade`). Tests that opened one already pass open_db=False."""
    from admin import (
        apikeys,
        audit_view,
        auth,
        catalog,
        dashboard,
        engine_text,
        errors,
        field_text,
        i18n,
        integrations,
        jobs,
        labels,
        notifications,
        queues,
        schedules,
        security,
        templates_view,
        users,
    )

    if open_db:
        from engine.db import open_database

        open_database(settings)
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=security.session_key(settings),
        SESSION_COOKIE_NAME="pmx_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.admin_secure_cookies,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_REFRESH_EACH_REQUEST=True,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.admin_session_minutes),
        REMEMBER_COOKIE_DURATION=dt.timedelta(seconds=0),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which expires on its own
        WTF_CSRF_SSL_STRICT=settings.admin_secure_cookies,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # forms only: templates and integrations are far smaller
    )
    app.extensions["pm_exports_settings"] = settings
    app.jinja_env.globals.update(field_label=field_text.field_label, field_help=field_text.field_help)
    app.jinja_env.filters["engine_text"] = engine_text.engine_text
    CSRFProtect(app)
    i18n.init_app(app, settings)
    labels.init_app(app)
    login = LoginManager(app)
    login.session_protection = "strong"
    auth.init_login(login)
    security.init_app(app)
    errors.init_app(app)
    notifications.init_app(app)
    app.register_blueprint(
        Blueprint("console", __name__, static_folder="static", static_url_path="/console-static",
                  template_folder="templates")
    )  # fmt: skip
    app.register_blueprint(auth.blueprint)
    app.add_url_rule("/favicon.ico", "favicon", lambda: ("", 204))  # no icon; browsers ask for it anyway
    console = Admin(
        app,
        name="PM Exports",
        url="/",
        index_view=dashboard.DashboardView(url="/", endpoint="admin", name=_("Dashboard")),
        theme=Bootstrap4Theme(swatch="default", fluid=True),
        static_url_path="/admin-static",
    )
    console.add_view(jobs.JobsView(name=_("Jobs"), endpoint="jobs", url="/jobs"))
    console.add_view(catalog.CatalogView(name=_("Catalogue"), endpoint="catalog", url="/catalog"))
    console.add_view(templates_view.TemplatesView(name=_("Templates"), endpoint="templates", url="/templates"))
    console.add_view(schedules.SchedulesView(name=_("Schedules"), endpoint="schedules", url="/schedules"))
    console.add_view(
        integrations.IntegrationsView(name=integrations.MENU, endpoint="integrations", url="/integrations")
    )
    console.add_view(
        notifications.NotificationsView(name=_("Notifications"), endpoint="notifications", url="/notifications")
    )
    console.add_view(queues.QueuesView(name=_("Queues & workers"), endpoint="queues", url="/queues"))
    console.add_view(apikeys.ApiKeysView(name=apikeys.MENU, endpoint="apikeys", url="/api-keys"))
    console.add_view(users.UsersView(name=users.MENU, endpoint="users", url="/users"))
    console.add_view(audit_view.AuditView(name=audit_view.MENU, endpoint="audit", url="/audit"))
    return app
