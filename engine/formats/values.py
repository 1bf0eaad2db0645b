"""Helpers shared by the writers: option checks, rendering a mapped value as text, orjson fallback, paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from engine.errors import OutputError, TemplateError
from engine.formats.base import WriterContext

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def reject_unknown_options(options: Mapping[str, Any], known: Iterable[str], fmt: str) -> None:
    """Raise TemplateError naming the first option `fmt` does not know."""
    known = set(known)
    for name in options:
        if name not in known:
            raise TemplateError(f"unknown option for {fmt} (known: {', '.join(sorted(known))})", f"options.{name}")


def bool_option(options: Mapping[str, Any], name: str, default: bool) -> bool:
    """A boolean option; also accepts "true"/"false", "yes"/"no", "on"/"off", "1"/"0" (CLI overrides)."""
    value = options.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise TemplateError(f"must be true or false, not {value!r}", f"options.{name}")


def choice_option(options: Mapping[str, Any], name: str, default: str, aliases: Mapping[str, str]) -> str:
    """A text option among `aliases` (accepted spelling -> normal form, which must map to itself)."""
    value = options.get(name, default)
    if isinstance(value, str):
        # separators and line terminators are whitespace themselves: only strip around a visible value
        key = value.strip().lower() if value.strip() else value
        if key in aliases:
            return aliases[key]
    accepted = ", ".join(repr(v) for v in dict.fromkeys(aliases.values()))
    raise TemplateError(f"must be one of {accepted}, not {value!r}", f"options.{name}")


def orjson_default(value: Any) -> Any:
    """orjson fallback: Decimal -> float (a JSON number), set -> sorted list."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _datetime_text(value: datetime) -> str:
    # wall-clock time without microseconds or offset; isoformat is faster than strftime
    return value.isoformat(" ", "seconds")[:19]


def render_text(value: Any) -> str:
    """Any mapped value as the text a CSV cell (or an XLSX text cell) shows."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "|".join(map(render_text, value))
    if isinstance(value, Mapping):
        return orjson.dumps(value, default=orjson_default, option=orjson.OPT_NON_STR_KEYS).decode()
    return str(value)


def output_path(ctx: WriterContext, part: int) -> Path:
    """The path of file `part`, refusing a name that would leave the working folder."""
    name = ctx.file_name(part)
    if not name or Path(name).name != name or name in (".", ".."):
        raise OutputError(f"refusing output file name {name!r}: it must be a plain file name")
    return ctx.folder / name
