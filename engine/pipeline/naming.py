"""File names from a pattern, always confined to the export folder whatever the pattern says."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

from engine.catalog.text import slugify
from engine.errors import OutputError, TemplateError

PLACEHOLDERS = ("template", "date", "datetime", "timestamp", "format", "count", "part")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME_BYTES = 180  # of a name's stem in UTF-8; with -part12, -removed, -2, a temporary prefix and the extension
# a name stays within the 255 bytes most file systems allow


def check_pattern(pattern: str, field: str = "file_name", *, folders: bool = False) -> None:
    """Refuse an empty pattern, an unknown placeholder, a lone brace, and fixed text too long for a file name
    (with `folders`, for each /-separated part)."""
    for match in _PLACEHOLDER.finditer(pattern):
        if match[1] not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise TemplateError(f"unknown placeholder {match[0]} (known: {known})", field)
    if not pattern.strip():
        raise TemplateError("must not be empty", field)
    fixed = _PLACEHOLDER.sub("", pattern)
    if "{" in fixed or "}" in fixed:
        raise TemplateError("has a { or } that does not enclose a placeholder", field)
    size = max(len(part.encode("utf-8")) for part in (fixed.split("/") if folders else [fixed]))
    if size > MAX_NAME_BYTES:
        raise TemplateError(
            f"its fixed text is {size} bytes in UTF-8; a file name may have at most {MAX_NAME_BYTES} "
            "(file systems allow 255, the rest is kept for -partN, -removed, -2 and the extension)",
            field,
        )


def safe_file_name(name: str) -> str:
    """A single path component: separators and control characters replaced, no leading dots, at most
    MAX_NAME_BYTES bytes in UTF-8 (cut between characters)."""
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", name)).strip("._ ")
    name = name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    return name.rstrip("._ ") or "export"


def placeholder_values(*, template: str, fmt: str, when: dt.datetime, count: int, part: int) -> dict[str, str]:
    """The value of each placeholder of file-name and delivery-path patterns."""
    return {
        "template": slugify(template) or "export",
        "date": when.strftime("%Y-%m-%d"),
        "datetime": when.strftime("%Y%m%d-%H%M%S"),
        "timestamp": str(int(when.timestamp())),
        "format": fmt,
        "count": str(count),
        "part": str(part),
    }


def render_name(
    pattern: str,
    *,
    template: str,
    fmt: str,
    extension: str,
    when: dt.datetime,
    count: int,
    part: int,
    parts: int,
) -> str:
    """Render the pattern for one file; adds `-partN` when there are several files and no {part}."""
    values = placeholder_values(template=template, fmt=fmt, when=when, count=count, part=part)
    text = _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), pattern)
    stem, dot, ext = text.rpartition(".")
    if not dot or ext.lower() not in {extension, fmt}:  # "{format}" ends the default pattern: csv for a .tsv
        stem = text
    if parts > 1 and "{part}" not in pattern:
        stem = f"{stem}-part{part}"
    return f"{safe_file_name(stem)}.{extension}"


def unique_target(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/name-2.ext`... when it exists; checks the result stays inside `folder`."""
    root = folder.resolve()
    candidate = root / name
    stem, suffix = candidate.stem, candidate.suffix
    n = 2
    while candidate.exists():
        candidate = root / f"{stem}-{n}{suffix}"
        n += 1
    if candidate.resolve().parent != root:
        raise OutputError(f"file name {name!r} leaves the export folder")
    return candidate
