"""Sinks by name: adding one (a shop push) is adding a module and a line here."""

from __future__ import annotations

import importlib
from typing import Any

from engine.errors import TemplateError

SINKS: dict[str, str] = {
    "file": "engine.sinks.file:FileSink",
}


def get_sink(name: str) -> Any:
    """The sink class registered under `name` (called with the spec, the settings and the artifact store)."""
    try:
        target = SINKS[name]
    except KeyError:
        raise TemplateError(f"unknown sink {name!r} (known: {', '.join(sorted(SINKS))})", "sink") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)
