"""Amazon JSON_LISTINGS_FEED writer: streamed feed documents of at most 25,000 messages, one message per row.

Each file is one document `{"header": {...}, "messages": [...]}` valid against Amazon's
`listings-feed-schema-v2.json`; messages are written one per line as they come, and a new file starts after
`max_messages` (25,000 at most, Amazon's limit). An export whose rows were all excluded writes no file at all
(a feed needs at least one message).

Columns become messages as `engine.platforms.amazon.payload` describes (headers are the contract: `sku`,
`product_type`, `operation_type`, `attributes.<name>[.<path>]`); a row the payload refuses (empty sku, unknown
operation, no attribute) stops the export, since rules should have excluded it.
Values are written as JSON: Decimal as a number, dates as ISO 8601, text as is.

Options: `seller_id` (required when the export runs; it is the merchant's own and is not in a predefined
template), `marketplace_id` and `language_tag` (required), `issue_locale` (default: `language_tag`),
`product_type` (for rows without one; PRODUCT is for offer-only listings only), `requirements` (LISTING,
LISTING_PRODUCT_ONLY, LISTING_OFFER_ONLY), `operation_type` (default UPDATE), `max_messages`, `localized`,
`no_marketplace`.

Checkpoints hold the finished files (name, messages, size) and the byte offset and message count of the
current one; a resumed writer cuts the current file back to that offset and goes on appending.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal, Self

import orjson

from engine.errors import ItemRejected, OutputError, TemplateError
from engine.formats.base import OutputFile, WriterBase, WriterContext
from engine.formats.values import (
    check_state,
    choice_option,
    existing_size,
    new_state,
    open_binary,
    orjson_default,
    output_path,
    reject_unknown_options,
    resumed_path,
    state_count,
    sync_file,
    sync_folder,
    sync_path,
    truncate_to,
)
from engine.platforms.amazon.payload import (
    DEFAULT_LOCALIZED,
    DEFAULT_NO_MARKETPLACE,
    MAX_MESSAGES,
    OPERATIONS,
    REQUIREMENTS,
    MessagePlan,
    MessageSettings,
    build_message,
    check_headers,
    delete_message,
    feed_header,
    removed_skus,
)

_KNOWN = (
    "seller_id",
    "marketplace_id",
    "language_tag",
    "issue_locale",
    "product_type",
    "requirements",
    "operation_type",
    "max_messages",
    "localized",
    "no_marketplace",
)


def _text_option(options: Mapping[str, Any], name: str, default: str | None) -> str | None:
    value = options.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateError(f"must be text, not {value!r}", f"options.{name}")
    return value.strip() or None


def _names_option(options: Mapping[str, Any], name: str, default: Sequence[str]) -> list[str]:
    value = options.get(name, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TemplateError("must be a list of attribute names", f"options.{name}")
    return list(value)


class AmazonJsonWriter(WriterBase):
    """Streams JSON_LISTINGS_FEED documents, a new file every `max_messages` messages."""

    name: ClassVar[str] = "amazon_json"
    extension: ClassVar[str] = "json"
    content_type: ClassVar[str] = "application/json"
    removals_in_feed: ClassVar[bool] = True  # DELETE messages

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, _KNOWN, cls.name)
        out: dict[str, Any] = {
            "seller_id": _text_option(options, "seller_id", None),
            "marketplace_id": _text_option(options, "marketplace_id", None),
            "language_tag": _text_option(options, "language_tag", None),
            "product_type": _text_option(options, "product_type", None),
            "requirements": choice_option(options, "requirements", "LISTING", {r.lower(): r for r in REQUIREMENTS}),
            "operation_type": choice_option(options, "operation_type", "UPDATE", {o.lower(): o for o in OPERATIONS}),
            "localized": _names_option(options, "localized", DEFAULT_LOCALIZED),
            "no_marketplace": _names_option(options, "no_marketplace", DEFAULT_NO_MARKETPLACE),
        }
        for required in ("marketplace_id", "language_tag"):
            if out[required] is None:
                raise TemplateError(
                    "is required for an Amazon feed (e.g. A13V1IB3VIYZZH and fr_FR)", f"options.{required}"
                )
        out["issue_locale"] = _text_option(options, "issue_locale", None) or out["language_tag"]
        limit = options.get("max_messages", MAX_MESSAGES)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_MESSAGES:
            raise TemplateError(f"must be a whole number from 1 to {MAX_MESSAGES}", "options.max_messages")
        out["max_messages"] = limit
        return out

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        return set()

    @classmethod
    def check_headers(cls, headers: Sequence[str]) -> None:
        check_headers(headers)

    def __init__(self, ctx: WriterContext) -> None:
        self._setup(ctx)
        self._finished: list[OutputFile] = []
        self._part = 0  # number of the file being written; 0 before the first message
        self._messages = 0  # messages in the current file

    def _setup(self, ctx: WriterContext) -> None:
        options = self.validate_options(ctx.options)
        if options["seller_id"] is None:
            raise TemplateError(
                "the Amazon seller id is required: set it in the template or the export request", "options.seller_id"
            )
        self._ctx = ctx
        self._plan = MessagePlan([column.header for column in ctx.columns])
        self._max = options["max_messages"]
        self._settings = MessageSettings(
            marketplace_id=options["marketplace_id"],
            language_tag=options["language_tag"],
            product_type=options["product_type"],
            requirements=options["requirements"],
            operation_type=options["operation_type"],
            localized=frozenset(options["localized"]),
            no_marketplace=frozenset(options["no_marketplace"]),
        )
        # without the closing brace: the messages follow
        self._head = orjson.dumps(feed_header(options["seller_id"], options["issue_locale"]))[:-1]
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._done: list[OutputFile] | None = None
        self._synced = 0  # finished files already fsynced by a checkpoint
        self._folder_synced = False

    # -- files

    def _open(self, part: int, mode: Literal["wb", "ab"]) -> None:
        path = output_path(self._ctx, part)
        self._file = open_binary(path, mode)  # closed in _finish_file / abort
        self._path, self._part = path, part
        self._folder_synced = False

    def _put(self, data: bytes) -> None:
        assert self._file is not None and self._path is not None
        try:
            self._file.write(data)
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc

    def _finish_file(self) -> None:
        assert self._file is not None and self._path is not None
        self._put(b"\n]}\n")
        try:
            self._file.close()
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc
        self._finished.append(OutputFile(self._path, self._messages, self.content_type))
        self._file, self._path, self._messages = None, None, 0

    # -- messages

    def _message(self, values: Sequence[Any], number: int) -> dict[str, Any]:
        try:
            return build_message(self._plan, self._settings, values, number)
        except ItemRejected as exc:
            assert self._plan.sku is not None
            sku = values[self._plan.sku]
            raise OutputError(exc.reason if exc.item is None else f"sku {sku!r}: {exc.reason}") from None

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        starting = self._file is None or self._messages >= self._max
        self._append(self._message(values, 1 if starting else self._messages + 1), starting)

    def write_removed(self, record: Mapping[str, Any]) -> None:
        """A product removed since the last delta run: DELETE messages for its variants' SKUs, then its own."""
        for sku in removed_skus(record):
            starting = self._file is None or self._messages >= self._max
            self._append(delete_message(sku, 1 if starting else self._messages + 1), starting)

    def _append(self, message: dict[str, Any], starting: bool) -> None:
        try:
            data = orjson.dumps(message, default=orjson_default, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError as exc:
            raise OutputError(f"sku {message['sku']!r} cannot be written as JSON: {exc}") from None
        if starting:
            if self._file is not None:
                self._finish_file()
            self._open(self._part + 1, "wb")
            self._put(self._head + b',"messages":[\n' + data)
        else:
            self._put(b",\n" + data)
        self._messages += 1

    # -- checkpoints

    def checkpoint(self) -> dict[str, Any]:
        """{"format": "amazon_json", "version": 1, "parts": [{"file", "messages", "size"}...] (finished files),
        "file": the current file or None, "offset": its bytes of complete messages, "messages": their count}."""
        if self._done is not None:
            raise OutputError("the Amazon feed writer is already closed")
        for finished in self._finished[self._synced :]:
            sync_path(finished.path)
        self._synced = len(self._finished)
        parts = [{"file": f.path.name, "messages": f.rows, "size": existing_size(f.path)} for f in self._finished]
        current, offset = None, 0
        if self._file is not None and self._path is not None:
            offset = sync_file(self._file, self._path)
            current = self._path.name
        if not self._folder_synced:
            sync_folder(self._ctx.folder)
            self._folder_synced = True
        return new_state(self.name, parts=parts, file=current, offset=offset, messages=self._messages)

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> Self:
        """Keep the finished files, cut the current one back to the checkpoint and append to it."""
        check_state(state, cls.name)
        writer = cls.__new__(cls)
        writer._setup(ctx)
        writer._finished = []
        parts = state.get("parts")
        if not isinstance(parts, list) or not all(isinstance(p, Mapping) for p in parts):
            raise OutputError(f"cannot resume: the checkpoint's 'parts' is not a list of files ({parts!r})")
        for number, entry in enumerate(parts, start=1):
            path = resumed_path(ctx, entry.get("file"), number)
            size = state_count(entry, "size")
            if existing_size(path) != size:
                raise OutputError(f"cannot resume: {path} changed since the checkpoint; the export must start again")
            writer._finished.append(OutputFile(path, state_count(entry, "messages"), cls.content_type))
        writer._synced = len(parts)
        writer._part = len(parts)
        writer._messages = 0
        current = state.get("file")
        if current is not None:
            path = resumed_path(ctx, current, len(parts) + 1)
            truncate_to(path, state_count(state, "offset"))
            writer._open(len(parts) + 1, "ab")
            writer._messages = state_count(state, "messages")
        # files the killed writer went on to start after the checkpoint
        number = writer._part + 1
        while (extra := output_path(ctx, number)).exists():
            extra.unlink()
            number += 1
        return writer

    def close(self) -> list[OutputFile]:
        if self._done is None:
            if self._file is not None:
                self._finish_file()
            self._done = list(self._finished)
        return list(self._done)

    def abort(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        for finished in self._finished:
            finished.path.unlink(missing_ok=True)
        if self._path is not None:
            self._path.unlink(missing_ok=True)
