"""The console's one translation of engine errors (and HTTP errors) into pages and flash messages."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

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


def init_app(app: Flask) -> None:
    @app.errorhandler(ExportsError)
    def _engine_error(exc: ExportsError) -> tuple[str, int] | Response:
        status = status_of(exc)
        back = _back()
        if request.method == "POST" and back is not None and status in {400, 409, 503}:
            flash(str(exc), "error")
            return redirect(back)
        return render_template("console/error.html", status=status, message=str(exc)), status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        message = _(
            "the form's security token is missing or expired (%(reason)s): reload the page and retry",
            reason=exc.description,
        )
        return render_template("console/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        return render_template("console/error.html", status=exc.code, message=exc.description or exc.name), exc.code
