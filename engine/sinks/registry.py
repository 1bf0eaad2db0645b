"""Sinks by name: adding one (a shop push) is adding a module and a line here."""

from __future__ import annotations

from typing import Any

from engine.registry import resolve

SINKS: dict[str, str] = {
    "file": "engine.sinks.file:FileSink",
}


def get_sink(name: str) -> Any:
    """The sink class registered under `name` (called with the spec, the settings and the artifact store)."""
    return resolve(SINKS, name, what="sink", field="sink")
