"""The audit log (admins only): newest first, a page at a time (keyset tokens), filtered by user, kind of object,
action and dates; each entry's before/after shown as the list of what changed (values escaped, secrets masked)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask import request, url_for
from flask_admin import expose
from flask_babel import get_timezone, lazy_gettext

from admin.base import AdminOnlyView
from engine.errors import InvalidRequest
from engine.services.audit import ACTIONS, list_audit
from engine.services.paging import decode_token, encode_token

MENU = lazy_gettext("Audit log")
PAGE_SIZE = 50
MAX_FILTER = 128
MAX_DIFF_DEPTH = 6


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """{"settings.host": "x", ...}: nested dicts as dotted keys (lists and deeper values stay whole)."""
    if isinstance(value, dict) and depth < MAX_DIFF_DEPTH:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}.", depth + 1))
        return flat or ({prefix.rstrip("."): {}} if prefix else {})
    return {prefix.rstrip(".") or "value": value}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def diff_rows(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """(key, before, after) of each value that differs between the two states (all of them for a creation or a
    deletion), as text for the page to escape."""
    old = _flatten(before) if before is not None else {}
    new = _flatten(after) if after is not None else {}
    rows = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old or key not in new or old[key] != new[key]:
            rows.append((key, _text(old.get(key)), _text(new.get(key))))
    return rows


def _filter(name: str) -> str | None:
    text = (request.args.get(name) or "").strip()
    if len(text) > MAX_FILTER:
        raise InvalidRequest(f"must be at most {MAX_FILTER} characters", name)
    return text or None


def _day(name: str) -> dt.datetime | None:
    """The start of a YYYY-MM-DD day in the user's time zone, as naive UTC (how the log stores times)."""
    text = _filter(name)
    if text is None:
        return None
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise InvalidRequest(f"{text!r} is not a date (YYYY-MM-DD)", name) from None
    zone = ZoneInfo(str(get_timezone()))
    return day.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


class AuditView(AdminOnlyView):
    @expose("/")
    def index(self) -> str:
        token = request.args.get("page") or None
        entries: list[Any] = []
        next_token = ""
        filter_error = ""
        try:
            until = _day("to")
            before_id = decode_token(token) if token else None
            entries, next_before = list_audit(
                before_id=before_id,
                page_size=PAGE_SIZE,
                actor=_filter("user"),
                object_type=_filter("kind"),
                action=_filter("action"),
                since=_day("from"),
                until=until + dt.timedelta(days=1) if until else None,  # "to" includes that day
            )
            next_token = encode_token(next_before) if next_before else ""
        except InvalidRequest as exc:
            filter_error = str(exc)
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
        return self.render(
            "console/audit.html",
            entries=[(entry, diff_rows(entry.before, entry.after)) for entry in entries],
            actions=ACTIONS,
            chosen=args,
            filter_error=filter_error,
            next_url=url_for(".index", page=next_token, **args) if next_token else "",
            first_url=url_for(".index", **args) if token else "",
        )
