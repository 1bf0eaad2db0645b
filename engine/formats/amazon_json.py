"""Amazon JSON_LISTINGS_FEED writer: streamed feed documents of at most 25,000 messages, one message per row.

Each file is one document `{"header": {...}, "messages": [...]}` valid against Amazon's
`listings-feed-schema-v2.json`; messages are written one per line as they come, and a new file starts after
`max_messages` (25,000 at most, Amazon's limit). An export whose rows were all excluded writes no file at all
(a feed needs at least one message).

How columns become a message (headers are the contract):

- `sku` (required): the message's `sku`; a row whose sku is empty stops the export (rules should exclude it).
- `product_type` / `operation_type` (optional): per-row `productType` / `operationType`, overriding the
  options; `operation_type` is UPDATE, PARTIAL_UPDATE or DELETE (a DELETE message carries nothing else).
- `attributes.<name>[.<path>]`: attribute `<name>`, which Amazon always takes as a list of objects. The cell
  goes at `<path>` inside the object (default `value`; dotted, a number is a list position), so
  `attributes.item_name` gives `"item_name": [{"value": ..., "language_tag": ..., "marketplace_id": ...}]` and
  `attributes.purchasable_offer.our_price.0.schedule.0.value_with_tax` builds the nested offer. Columns naming
  the same attribute fill the same object. A list cell gives one object per item (e.g. bullet points), the
  attribute's other cells repeated in each. Empty cells are left out, and so is an attribute left empty.
  `marketplace_id` is added to every object except for attributes in `no_marketplace`
  (`fulfillment_availability` is not marketplace-specific), and `language_tag` to objects of the attributes in
  `localized` (texts: item_name, brand, bullet_point...).
- Values: Decimal -> JSON number, dates as ISO 8601, text as is.

Options: `seller_id` (required when the export runs; it is the merchant's own and is not in a predefined
template), `marketplace_id` and `language_tag` (required), `issue_locale` (default: `language_tag`),
`product_type` (default PRODUCT), `requirements` (LISTING, LISTING_PRODUCT_ONLY, LISTING_OFFER_ONLY),
`operation_type` (default UPDATE), `max_messages`, `localized`, `no_marketplace`.

Checkpoints hold the finished files (name, messages, size) and the byte offset and message count of the
current one; a resumed writer cuts the current file back to that offset and goes on appending.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal, Self

import orjson

from engine.errors import OutputError, TemplateError
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

MAX_MESSAGES = 25_000
OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "DELETE")
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
DEFAULT_LOCALIZED = (
    "item_name",
    "brand",
    "manufacturer",
    "bullet_point",
    "product_description",
    "generic_keyword",
    "color",
    "size",
    "material",
    "model_name",
    "style",
    "pattern",
    "item_type_name",
    "special_feature",
    "department",
)
DEFAULT_NO_MARKETPLACE = ("fulfillment_availability",)
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
_ATTRIBUTE = re.compile(r"^attributes\.(?P<name>[a-z][a-z0-9_]*)(?:\.(?P<path>[A-Za-z0-9_.]+))?$")
_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$")

Path_ = tuple[str | int, ...]


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


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | Mapping) and not value)


def _parse_path(path: str | None) -> Path_:
    if not path:
        return ("value",)
    segments = path.split(".")
    if not all(_SEGMENT.match(s) for s in segments) or segments[0].isdigit():
        raise ValueError(path)
    return tuple(int(s) if s.isdigit() else s for s in segments)


def _put(obj: dict[str, Any], path: Path_, value: Any) -> None:
    """Set `value` at `path` inside `obj`, creating the objects and lists on the way."""
    node: Any = obj
    for key, following in zip(path, (*path[1:], None), strict=True):
        if following is None:
            child: Any = value
        else:
            child = [] if isinstance(following, int) else {}
        if isinstance(key, int):
            while len(node) <= key:
                node.append(None)
            if following is None or not isinstance(node[key], type(child)):
                node[key] = child
            node = node[key]
        else:
            if following is None or not isinstance(node.get(key), type(child)):
                node[key] = child
            node = node[key]


class _Plan:
    """The headers compiled once: where the sku, product type and operation are, and each attribute's cells."""

    def __init__(self, headers: Sequence[str]) -> None:
        self.sku: int | None = None
        self.product_type: int | None = None
        self.operation_type: int | None = None
        self.attributes: dict[str, list[tuple[int, Path_]]] = {}
        for index, header in enumerate(headers):
            label = f"column {index + 1} ({header!r})"
            if header in ("sku", "product_type", "operation_type"):
                setattr(self, header, index)
                continue
            match = _ATTRIBUTE.match(header)
            if match is None:
                raise TemplateError(
                    "an Amazon feed column is sku, product_type, operation_type or attributes.<name>[.<path>]",
                    label,
                )
            try:
                path = _parse_path(match["path"])
            except ValueError:
                raise TemplateError(
                    "the path after the attribute name must be dotted names or positions", label
                ) from None
            self.attributes.setdefault(match["name"], []).append((index, path))
        if self.sku is None:
            raise TemplateError("an Amazon feed needs a column with the header 'sku'", "columns")


def check_headers(headers: Sequence[str]) -> None:
    """Raise TemplateError naming the first header the feed cannot map."""
    _Plan(headers)


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
            "product_type": _text_option(options, "product_type", "PRODUCT"),
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
        if out["product_type"] is None:
            raise TemplateError("must not be empty", "options.product_type")
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
        self._plan = _Plan([column.header for column in ctx.columns])
        self._max = options["max_messages"]
        self._defaults = options
        self._localized = frozenset(options["localized"])
        self._no_marketplace = frozenset(options["no_marketplace"])
        self._head = orjson.dumps(
            {
                "header": {
                    "sellerId": options["seller_id"],
                    "version": "2.0",
                    "issueLocale": options["issue_locale"],
                }
            }
        )[:-1]  # without the closing brace: the messages follow
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
        plan, options = self._plan, self._defaults
        assert plan.sku is not None
        sku = values[plan.sku]
        if _empty(sku):
            raise OutputError(
                f"message {number} has an empty sku: Amazon needs a seller SKU per message "
                "(add a rule `required` on the sku's source)"
            )
        operation = options["operation_type"]
        if plan.operation_type is not None and not _empty(values[plan.operation_type]):
            operation = str(values[plan.operation_type]).strip().upper()
            if operation not in OPERATIONS:
                raise OutputError(f"sku {sku!r}: operation_type {operation!r} is not one of {', '.join(OPERATIONS)}")
        message: dict[str, Any] = {"messageId": number, "sku": str(sku), "operationType": operation}
        if operation == "DELETE":
            return message
        product_type = options["product_type"]
        if plan.product_type is not None and not _empty(values[plan.product_type]):
            product_type = str(values[plan.product_type]).strip()
        message["productType"] = product_type
        if operation == "UPDATE":
            message["requirements"] = options["requirements"]
        attributes = self._attributes(values)
        if not attributes:
            raise OutputError(f"sku {sku!r}: every attribute is empty, and an {operation} message needs one")
        message["attributes"] = attributes
        return message

    def _attributes(self, values: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        marketplace, language = self._defaults["marketplace_id"], self._defaults["language_tag"]
        for name, cells in self._plan.attributes.items():
            filled = [(path, values[index]) for index, path in cells if not _empty(values[index])]
            if not filled:
                continue
            lists = [v for _path, v in filled if isinstance(v, list | tuple)]
            count = max((len(v) for v in lists), default=1)
            objects = []
            for i in range(count):
                obj: dict[str, Any] = {}
                for path, value in filled:
                    if isinstance(value, list | tuple):
                        if i >= len(value) or _empty(value[i]):
                            continue
                        value = value[i]
                    _put(obj, path, value)
                if not obj:
                    continue
                if name in self._localized:
                    obj.setdefault("language_tag", language)
                if name not in self._no_marketplace:
                    obj.setdefault("marketplace_id", marketplace)
                objects.append(obj)
            if objects:
                out[name] = objects
        return out

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        starting = self._file is None or self._messages >= self._max
        self._append(self._message(values, 1 if starting else self._messages + 1), starting)

    def write_removed(self, record: Mapping[str, Any]) -> None:
        """A product removed since the last delta run: DELETE messages for its variants' SKUs, then its own."""
        for sku in [*(record.get("variant_skus") or []), record.get("sku")]:
            if _empty(sku):
                continue
            starting = self._file is None or self._messages >= self._max
            number = 1 if starting else self._messages + 1
            self._append({"messageId": number, "sku": str(sku), "operationType": "DELETE"}, starting)

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
