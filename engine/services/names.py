"""Names people give things (templates, schedules, integrations, API keys): trimmed, bounded, and free of control
and format characters, which could hide text or, as bidirectional overrides, make a name display as another."""

from __future__ import annotations

import unicodedata
from typing import Any

from engine.errors import InvalidRequest

# Cc: controls (tab, newline, NUL...); Cf: format (U+202A-U+202E and U+2066-U+2069 bidi overrides and isolates,
# zero-width joiners, soft hyphen...); Zl/Zp: line and paragraph separators; Cs: lone surrogates.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def hidden_character(text: str) -> str | None:
    """The first control or format character of `text` as U+XXXX, or None."""
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def check_name(name: Any, field: str = "name", *, limit: int = 128, missing: str | None = None) -> str:
    """`name` trimmed; InvalidRequest naming `field` when it is empty (`missing`, if given, says so), longer than
    `limit` or holds a control or format character."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest(missing or f"must be 1 to {limit} characters", field)
    name = name.strip()
    if len(name) > limit:
        raise InvalidRequest(f"must be 1 to {limit} characters", field)
    hidden = hidden_character(name)
    if hidden is not None:
        raise InvalidRequest(
            f"must not contain control or invisible formatting characters (such as line breaks or text direction "
            f"overrides): found {hidden}",
            field,
        )
    return name
