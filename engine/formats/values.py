"""Helpers shared by the writers: option checks, value rendering, orjson fallback, paths, checkpoint states."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

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


# ---------------------------------------------------------------------------------------------------------
# Checkpoints: every state carries its format and this version, so a state from another writer (or from an
# older release still stored with a job) is refused instead of misread.

STATE_VERSION = 1


def new_state(fmt: str, **fields: Any) -> dict[str, Any]:
    """A checkpoint state for format `fmt`."""
    return {"format": fmt, "version": STATE_VERSION, **fields}


def check_state(state: Mapping[str, Any], fmt: str) -> None:
    """Raise OutputError unless `state` is a checkpoint of format `fmt` in this version."""
    if not isinstance(state, Mapping) or state.get("format") != fmt or state.get("version") != STATE_VERSION:
        found = (state.get("format"), state.get("version")) if isinstance(state, Mapping) else type(state).__name__
        raise OutputError(
            f"cannot resume the {fmt} export: the checkpoint is not a version {STATE_VERSION} {fmt} state ({found!r})"
        )


def state_count(state: Mapping[str, Any], key: str) -> int:
    """A non-negative whole number from a checkpoint state."""
    value = state.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OutputError(f"cannot resume: the checkpoint's {key!r} is not a count ({value!r})")
    return value


def resumed_path(ctx: WriterContext, name: Any, part: int) -> Path:
    """The path of file `part`, which must still be named as in the checkpoint (`name`)."""
    path = output_path(ctx, part)
    if name != path.name:
        raise OutputError(
            f"cannot resume: the checkpoint's file {part} is {name!r} but the job now names it {path.name!r} "
            "(the file name must not change between runs of a job)"
        )
    return path


def existing_size(path: Path) -> int:
    """The size of a file the checkpoint says exists."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise OutputError(f"cannot resume: {path} is missing; the export must start again") from None
    except OSError as exc:
        raise OutputError(f"cannot resume: cannot read {path}: {exc.strerror or exc}") from exc


def truncate_to(path: Path, offset: int) -> None:
    """Cut `path` back to its checkpointed size, dropping whatever a killed writer added after it."""
    size = existing_size(path)
    if size < offset:
        raise OutputError(
            f"cannot resume: {path} holds {size} bytes, fewer than the {offset} of the checkpoint "
            "(the file was cut short); the export must start again"
        )
    try:
        os.truncate(path, offset)
    except OSError as exc:
        raise OutputError(f"cannot resume: cannot truncate {path}: {exc.strerror or exc}") from exc


def resume_single_file(ctx: WriterContext, state: Mapping[str, Any], fmt: str) -> tuple[Path, int]:
    """For a one-file writer: check `state`, cut its file back to the checkpoint; returns (path, rows)."""
    check_state(state, fmt)
    path = resumed_path(ctx, state.get("file"), 1)
    rows = state_count(state, "rows")
    truncate_to(path, state_count(state, "offset"))
    return path, rows


FSYNC_INTERVAL = 2.0  # seconds between fsyncs of one file at checkpoints
_last_fsync: dict[int, float] = {}


OUTPUT_BUFFER = 1 << 16


def open_binary(path: Path, mode: Literal["wb", "ab"]) -> BinaryIO:
    """Open a writer's output file (binary, 64 KiB buffer); a failure is an OutputError naming the file."""
    try:
        return open(path, mode, buffering=OUTPUT_BUFFER)
    except OSError as exc:
        raise OutputError(f"cannot {'create' if mode == 'wb' else 'reopen'} {path}: {exc.strerror or exc}") from exc


def close_output(file: IO[Any], path: Path) -> None:
    """Close a writer's file; a failure to flush the last bytes is an OutputError naming the file."""
    try:
        file.close()
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def discard_output(file: IO[Any], path: Path) -> None:
    """Close a writer's file whatever happens (a text file may fail to encode its buffer) and delete it."""
    with contextlib.suppress(OSError, UnicodeError):
        file.close()
    path.unlink(missing_ok=True)


def sync_file(file: IO[Any], path: Path) -> int:
    """Flush `file` and return its position: the size of everything written so far.

    A flush is enough for a killed worker (the data is in the OS); the fsync, which only matters when the
    machine itself goes down, runs at most every FSYNC_INTERVAL per file — it cost more than the checkpoints'
    other work. After a machine crash, a file found shorter than its checkpoint fails the resume cleanly."""
    try:
        file.flush()
        now = time.monotonic()
        key = id(file)
        if now - _last_fsync.get(key, 0.0) >= FSYNC_INTERVAL:
            os.fsync(file.fileno())
            if len(_last_fsync) > 1000:
                _last_fsync.clear()
            _last_fsync[key] = now
        return file.tell()
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def sync_path(path: Path) -> None:
    """fsync a file written and closed by someone else (a finished XLSX part)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def sync_folder(folder: Path) -> None:
    """Make the folder's new entries durable; best effort, as some file systems cannot fsync a folder."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
