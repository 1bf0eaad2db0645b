"""Plug-ins by name: a table of `name -> "module:attribute"`, imported on first use (formats, sinks, job kinds...)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from engine.errors import InvalidRequest, TemplateError


def resolve(
    table: Mapping[str, str], name: str, *, what: str, field: str, error: type[InvalidRequest] = TemplateError
) -> Any:
    """The attribute registered under `name`; an unknown name is `error` naming `field` and the known names."""
    try:
        target = table[name]
    except KeyError:
        raise error(f"unknown {what} {name!r} (known: {', '.join(sorted(table))})", field) from None
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)
