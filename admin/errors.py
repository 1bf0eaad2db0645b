"""The console's one translation of engine errors (and HTTP errors) into pages and flash messages, in the user's
language: engine messages through `engine_text`, HTTP errors with the console's own texts (werkzeug's are English)."""

from __future__ import annotations

import logging

from flask import Flask, current_app, flash, redirect, render_template, request
from flask_admin import BaseView
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from admin.engine_text import engine_text
from engine.errors import (
    EmptySelection,
    ExportsError,
    InvalidRequest,
    InvalidState,
    NotFound,
    PermissionDenied,
    RetryableError,
    Unauthenticated,
)

log = logging.getLogger(__name__)

# flask-wtf's reasons for refusing a form (CSRFError.description), in the user's language.
CSRF_REASONS = {
    "The CSRF token is missing.": lazy_gettext("the token is missing"),
    "The CSRF session token is missing.": lazy_gettext("the session has no token: your session may have ended"),
    "The CSRF token has expired.": lazy_gettext("the token has expired"),
    "The CSRF token is invalid.": lazy_gettext("the token is not valid"),
    "The CSRF tokens do not match.": lazy_gettext("the token does not match your session"),
    "The referrer header is missing.": lazy_gettext("the Referer header is missing"),
    "The referrer does not match the host.": lazy_gettext("the page the form came from is not of this site"),
}


def status_of(exc: ExportsError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, InvalidRequest | InvalidState | EmptySelection):
        return 400 if not isinstance(exc, InvalidState) else 409
    if isinstance(exc, RetryableError):
        return 503
    return 500


def _back() -> str | None:
    """Where a refused form goes back to: the page it came from, when it is one of ours."""
    referrer = request.referrer or ""
    root = request.host_url
    return referrer if referrer.startswith(root) else None


def megabytes(size: int) -> str:
    """A size limit in whole megabytes when it is one (2 MB, "2 Mo" in French), else in kilobytes."""
    mib = 1024 * 1024
    return _("%(n)s MB", n=size // mib) if size % mib == 0 else _("%(n)s kB", n=max(1, size // 1024))


def http_message(exc: HTTPException) -> str:
    """What an HTTP error says to the user, in their language: the console's own text for werkzeug's stock
    descriptions (English), the description as given (through engine_text) when the console or the engine set one."""
    code = exc.code or 500
    if exc.description and exc.description != type(exc).description:
        return engine_text(exc.description)
    if code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            return _(
                "what you sent is larger than the console accepts (at most %(limit)s): nothing was saved; shorten "
                "the text and send it again",
                limit=megabytes(int(limit)),
            )
        return _("what you sent is larger than the console accepts: nothing was saved")
    messages = {
        400: lambda: _("the request is not valid"),
        401: lambda: _("you need to log in"),
        403: lambda: _("your role does not allow this page"),
        404: lambda: _("this page does not exist: check the address (the object may have been deleted or renamed)"),
        405: lambda: _("this address does not accept the %(method)s method", method=request.method),
        409: lambda: _("this conflicts with the current state of the object: reload the page"),
        429: lambda: _("too many requests: wait a little and retry"),
        500: lambda: _("internal error: the console could not answer (see its log)"),
        503: lambda: _("the service is unavailable for now: retry in a moment"),
    }
    found = messages.get(code)
    return found() if found else engine_text(exc.description or exc.name)


def _frame_view() -> BaseView | None:
    """The console view whose frame (navigation, language, user) an error page is shown in: the view of the page
    that failed when the user may see it, else the dashboard; None when nobody is logged in (a plain page)."""
    if not current_user.is_authenticated:
        return None
    for console in current_app.extensions.get("admin", []):
        views = [v for v in console._views if v.endpoint == request.blueprint and v.is_accessible()]
        return views[0] if views else console.index_view
    return None


def error_page(status: int, message: str) -> tuple[str, int]:
    """The error page in the console's frame for a logged-in user (so that they stay in the console), else plain.
    A frame that cannot be drawn (its notifications count needs the database, which may be what failed) gives the
    plain page rather than a second error."""
    try:
        view = _frame_view()  # loading the user reads the database too
        if view is not None:
            return view.render("console/error.html", status=status, message=message), status
    except Exception:
        log.exception("the error page could not be drawn in the console's frame; shown plain")
    return render_template("console/error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ExportsError)
    def _engine_error(exc: ExportsError) -> tuple[str, int] | Response:
        status = status_of(exc)
        message = engine_text(str(exc))
        back = _back()
        if request.method == "POST" and back is not None and status in {400, 409, 503}:
            flash(message, "error")
            return redirect(back)
        return error_page(status, message)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        reason = CSRF_REASONS.get(exc.description or "")
        message = _(
            "the form's security token is missing or expired (%(reason)s): reload the page and retry",
            reason=str(reason) if reason is not None else exc.description,
        )
        return error_page(400, message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        return error_page(exc.code, http_message(exc))
