"""The console's languages and time zones: French by default (PM_EXPORTS_ADMIN_LOCALE), English on request, each
user's choice kept in the session; dates shown in the browser's time zone (sent at login), else the default zone.

The French catalogue is `admin/translations/fr/*.po` (one file per area), kept in the repository as text. It is
compiled into the var folder when the console starts (no build output in the repository). Strings are marked with
`_()` in templates and `gettext`/`lazy_gettext` in Python; `pybabel extract -F admin/babel.cfg` lists them."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, abort, redirect, request, session, url_for
from flask_babel import Babel, format_datetime, format_decimal, get_timezone
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine.errors import InvalidRequest
from engine.jobs.recurrence import zone
from engine.settings import ADMIN_LOCALES, Settings

SOURCE = Path(__file__).parent / "translations"
LANG_KEY, TZ_KEY = "lang", "tz"
PLURAL_FORMS = {"fr": "nplurals=2; plural=(n > 1);", "en": "nplurals=2; plural=(n != 1);"}  # gettext's rules
SIZE_STEP = 1000  # SI units (kB, MB...), as file managers and the SI count them


def catalogue(lang: str) -> Catalog:
    """The merged catalogue of a language: every `admin/translations/<lang>/*.po` (one file per area of the console,
    so that work on different pages never edits the same file)."""
    merged = Catalog(locale=lang, domain="messages")
    # The .po files give gettext's two forms (singular, plural); Babel's own French rule has three (CLDR adds
    # "many" for millions), which would leave the third form missing and show English from 2 on.
    merged.mime_headers = [("Plural-Forms", PLURAL_FORMS.get(lang, "nplurals=2; plural=(n != 1);"))]
    for po_path in sorted((SOURCE / lang).glob("*.po")):
        with po_path.open("rb") as source:
            for message in read_po(source, locale=lang):
                if message.id and message.string:
                    merged.add(message.id, message.string, context=message.context)
    return merged


def _compile(var_dir: Path) -> Path:
    """Each language's catalogue compiled to messages.mo under var_dir (again only when a .po is newer)."""
    target = (var_dir / "console-translations").resolve()  # Flask-Babel reads a relative path from admin/
    for folder in sorted(p for p in SOURCE.iterdir() if p.is_dir()):
        mo_path = target / folder.name / "LC_MESSAGES" / "messages.mo"
        sources = [*folder.glob("*.po"), Path(__file__)]  # this module too: it decides how the .mo is built
        newest = max(p.stat().st_mtime for p in sources)
        if mo_path.exists() and mo_path.stat().st_mtime >= newest:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        partial = mo_path.with_suffix(f".{os.getpid()}.partial")
        with partial.open("wb") as out:
            write_mo(out, catalogue(folder.name))
        partial.replace(mo_path)
    return target


def local_path(target: str) -> bool:
    """A path of this site (never //host, a scheme or a backslash): safe to redirect to."""
    return target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 2048


def zone_or_none(name: str | None) -> str | None:
    """`name` when it is an IANA time zone (the schedules' own check), else None."""
    try:
        zone(name or "")
    except InvalidRequest:
        return None
    return name


def init_app(app: Flask, settings: Settings) -> None:
    def locale() -> str:
        chosen = session.get(LANG_KEY)
        return chosen if chosen in ADMIN_LOCALES else settings.admin_locale

    def timezone() -> str:
        return zone_or_none(session.get(TZ_KEY)) or settings.default_timezone

    app.config["BABEL_DEFAULT_LOCALE"] = settings.admin_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(_compile(settings.var_dir))
    Babel(app, locale_selector=locale, timezone_selector=timezone)

    def when(value: dt.datetime | None, format: str = "medium") -> str:
        """A UTC datetime (naive ones are UTC, as the database keeps them) in the user's zone and language."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return format_datetime(value, format)

    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.globals["console_locales"] = ADMIN_LOCALES
    app.jinja_env.globals["console_locale"] = locale
    app.jinja_env.globals["console_timezone"] = lambda: str(get_timezone())

    @app.post("/language/<lang>")
    def language(lang: str) -> Response:
        if lang not in ADMIN_LOCALES:
            abort(404)
        session[LANG_KEY] = lang
        back = request.form.get("next") or ""
        return redirect(back if local_path(back) else url_for("admin.index"))


def number(value: float | int | None, digits: int | None = None) -> str:
    """A count or a measure in the user's locale ("2 494", "0,2"); `digits` fixes the decimals shown. None is ""."""
    if value is None:
        return ""
    if digits is None:
        return str(format_decimal(value))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return str(format_decimal(round(value, digits), format=pattern))


def filesize(size: int | None) -> str:
    """A size in bytes for people: "812 bytes", "1.7 MB" ("1,7 Mo" in French), one decimal under 10 units."""
    if size is None:
        return ""
    if abs(size) < SIZE_STEP:
        return _("%(n)s bytes", n=number(size))
    units = (_("%(n)s kB"), _("%(n)s MB"), _("%(n)s GB"), _("%(n)s TB"))
    value, step = size / SIZE_STEP, 0
    while round(abs(value)) >= SIZE_STEP and step < len(units) - 1:
        value, step = value / SIZE_STEP, step + 1
    return units[step] % {"n": number(value, 1 if abs(value) < 10 else 0)}


def remember_time_zone(name: str | None) -> None:
    """Keep the browser's time zone (sent by the login form) for this session, when it is a real one."""
    zone = zone_or_none(name)
    if zone:
        session[TZ_KEY] = zone
