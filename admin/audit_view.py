"""The audit log (admins only): newest first, a page at a time (keyset tokens), filtered by user, kind of object,
action and dates (lists of the known values); each entry summed up in a few lines of what changed, the whole list of
changed paths behind a toggle (values escaped, secrets masked)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask import request, url_for
from flask_admin import expose
from flask_babel import get_timezone, lazy_gettext, ngettext

from admin.base import CONSOLE_ACTOR, AdminOnlyView, actor_of
from engine.errors import InvalidRequest
from engine.services.audit import ACTIONS, KINDS, list_audit
from engine.services.paging import decode_token, encode_token
from engine.services.users import list_users

MENU = lazy_gettext("Audit log")
PAGE_SIZE = 50
MAX_FILTER = 128
MAX_DIFF_DEPTH = 8
MAX_FLAT_KEYS = 5_000  # paths compared per state (a template of 1,000 columns stays well under)
MAX_DIFF_ROWS = 200  # changed paths listed per entry behind its toggle
MAX_VALUE_CHARS = 1_000  # one value as shown in that list
SUMMARY_LINES = 3
SUMMARY_VALUE_CHARS = 60
ACTION_LABELS = {
    "create": lazy_gettext("creation"), "update": lazy_gettext("change"), "delete": lazy_gettext("deletion"),
    "run": lazy_gettext("run"), "cancel": lazy_gettext("cancellation"), "retry": lazy_gettext("retry"),
    "copy": lazy_gettext("copy"), "restore": lazy_gettext("version restored"), "revoke": lazy_gettext("revocation"),
    "login": lazy_gettext("login"), "test": lazy_gettext("connection test"), "pause": lazy_gettext("pause"),
    "resume": lazy_gettext("resumption"), "release": lazy_gettext("release"),
}  # fmt: skip
KIND_LABELS = {
    "api_key": lazy_gettext("API key"), "delivery": lazy_gettext("delivery"),
    "integration": lazy_gettext("integration"), "job": lazy_gettext("job"), "schedule": lazy_gettext("schedule"),
    "template": lazy_gettext("template"), "user": lazy_gettext("user"),
}  # fmt: skip


def _flatten(value: Any, prefix: str = "", depth: int = 0, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"settings.host": "x", "spec.columns[0].header": "ID", ...}: nested dicts and lists as paths (at most
    MAX_FLAT_KEYS of them; deeper values stay whole)."""
    flat: dict[str, Any] = {} if into is None else into
    if len(flat) >= MAX_FLAT_KEYS:
        return flat
    if isinstance(value, dict) and value and depth < MAX_DIFF_DEPTH:
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", depth + 1, flat)
    elif isinstance(value, list) and value and depth < MAX_DIFF_DEPTH:
        for index, item in enumerate(value):
            _flatten(item, f"{prefix.rstrip('.')}[{index}].", depth + 1, flat)
    else:
        flat[prefix.rstrip(".") or "value"] = value
    return flat


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_rows(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """(path, before, after) of each value that differs between the two states (all of them for a creation or a
    deletion), in the states' order, as text for the page to escape."""
    old = _flatten(before) if before is not None else {}
    new = _flatten(after) if after is not None else {}
    rows = []
    for key in dict.fromkeys([*old, *new]):
        if key not in old or key not in new or old[key] != new[key]:
            rows.append((key, _text(old.get(key)), _text(new.get(key))))
    return rows


def summary(rows: list[tuple[str, str, str]]) -> tuple[list[str], str]:
    """A few lines saying what changed ("spec.columns[1].header: Title → Titre"), and how many more there are."""
    lines = []
    for key, old, new in rows[:SUMMARY_LINES]:
        old, new = _shorten(old, SUMMARY_VALUE_CHARS), _shorten(new, SUMMARY_VALUE_CHARS)
        lines.append(f"{key}: {old} → {new}" if old and new else f"{key}: {old or new}")
    more = len(rows) - len(lines)
    return lines, ngettext("and %(num)s more change", "and %(num)s more changes", more) if more > 0 else ""


def _entry(entry: Any) -> dict[str, Any]:
    rows = diff_rows(entry.before, entry.after)
    lines, more = summary(rows)
    listed = [(key, _shorten(old, MAX_VALUE_CHARS), _shorten(new, MAX_VALUE_CHARS)) for key, old, new in rows]
    return {"entry": entry, "summary": lines, "more": more, "rows": listed[:MAX_DIFF_ROWS],
            "unlisted": max(0, len(rows) - MAX_DIFF_ROWS), "who": entry.actor.removeprefix(CONSOLE_ACTOR)}  # fmt: skip


def user_choices(chosen: str | None) -> list[tuple[str, str]]:
    """(value, label) of the users one may filter on: every console user, the command line, and the chosen one."""
    choices = [(actor_of(user.username), user.username) for user in list_users()] + [("cli", "cli")]
    if chosen and chosen not in {value for value, _label in choices}:
        choices.append((chosen, chosen.removeprefix(CONSOLE_ACTOR)))
    return choices


def _filter(name: str) -> str | None:
    text = (request.args.get(name) or "").strip()
    if len(text) > MAX_FILTER:
        raise InvalidRequest(f"must be at most {MAX_FILTER} characters", name)
    return text or None


def _chosen(name: str) -> str | None:
    try:
        return _filter(name)
    except InvalidRequest:
        return None


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
            entries=[_entry(entry) for entry in entries],
            actions=ACTIONS,
            action_labels=ACTION_LABELS,
            kinds=KINDS,
            kind_labels=KIND_LABELS,
            users=user_choices(_chosen("user")),
            chosen=args,
            filter_error=filter_error,
            next_url=url_for(".index", page=next_token, **args) if next_token else "",
            first_url=url_for(".index", **args) if token else "",
        )
