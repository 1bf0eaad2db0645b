"""JSON writers: one streamed `{"products": [...]}` document, or JSON Lines (one product object per line).

Each product is an object {header: value} in column order, written with orjson as UTF-8 without a BOM:
Decimal -> JSON number, date/datetime -> ISO 8601 text, lists and dicts as JSON. With `nested`, the
product's loaded relations (suppliers, categories, variants, images) are added as arrays under their own
name, unless a column already uses that name as its header.

Crash recovery: `checkpoint()` fsyncs the file and records its size after the last complete product;
`resume()` cuts the file back to that size and appends, the next product of a document getting its `,` when
one came before: the finished file is the same, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, BinaryIO, ClassVar, Literal, Self

import orjson

from engine.errors import OutputError, TemplateError
from engine.formats.base import OutputFile, WriterBase, WriterContext
from engine.formats.values import (
    bool_option,
    close_output,
    discard_output,
    new_state,
    open_binary,
    orjson_default,
    output_path,
    reject_unknown_options,
    resume_single_file,
    sync_file,
    sync_folder,
)

NESTED_RELATIONS = ("suppliers", "categories", "variants", "images")
_OPTION = orjson.OPT_NON_STR_KEYS  # e.g. attribute dicts keyed by numbers
_LINE = _OPTION | orjson.OPT_APPEND_NEWLINE


def _nested_option(options: Mapping[str, Any]) -> list[str]:
    value = options.get("nested", False)
    if value is True:
        return list(NESTED_RELATIONS)
    if value is False or value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        unknown = [v for v in value if v not in NESTED_RELATIONS]
        if not unknown:
            return [name for name in NESTED_RELATIONS if name in value]
        raise TemplateError(f"unknown relation {unknown[0]!r} (known: {', '.join(NESTED_RELATIONS)})", "options.nested")
    raise TemplateError(
        f"must be true, false or a list among {', '.join(NESTED_RELATIONS)}, not {value!r}", "options.nested"
    )


class _JsonBase(WriterBase):
    """What the document and the JSON Lines writers share: options, one binary file, object building."""

    name: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]
    _pretty_allowed: ClassVar[bool]

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, ("pretty", "nested"), cls.name)
        pretty = bool_option(options, "pretty", False)
        if pretty and not cls._pretty_allowed:
            raise TemplateError(
                "JSON Lines holds one compact object per line; pretty printing is for the json format",
                "options.pretty",
            )
        return {"pretty": pretty, "nested": _nested_option(options)}

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        return set(_nested_option(options))

    def __init__(self, ctx: WriterContext) -> None:
        self._setup(ctx)
        self._rows = 0
        self._open("wb")
        self._start()

    def _setup(self, ctx: WriterContext) -> None:
        options = self.validate_options(ctx.options)
        self._pretty: bool = options["pretty"]
        self._headers = [column.header for column in ctx.columns]
        # decimals become JSON numbers through float(); done here for the decimal columns, orjson's default (a
        # Python call per value) stays for a Decimal met anywhere else
        self._decimal_positions = [n for n, column in enumerate(ctx.columns) if column.kind in ("money", "decimal")]
        self._nested = [name for name in options["nested"] if name not in self._headers]
        self._done: list[OutputFile] | None = None
        self._folder_synced = False
        self._path = output_path(ctx, 1)

    def _open(self, mode: Literal["wb", "ab"]) -> None:
        self._file: BinaryIO = open_binary(self._path, mode)

    def _start(self) -> None:
        """Write what opens a new file (nothing for JSON Lines)."""

    def _continue(self) -> None:
        """Set up to append after the checkpoint's last product."""

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> Self:
        """Continue after the checkpoint's last product: the file is cut back there and appended to."""
        writer = cls.__new__(cls)
        writer._setup(ctx)
        writer._path, writer._rows = resume_single_file(ctx, state, cls.name)
        writer._open("ab")
        writer._continue()
        return writer

    def checkpoint(self) -> dict[str, Any]:
        """{"format": name, "version": 1, "file": name, "offset": bytes of complete products, "rows": products}."""
        if self._done is not None:
            raise OutputError(f"the {self.name} writer is already closed")
        offset = sync_file(self._file, self._path)
        if not self._folder_synced:  # the file's entry in the folder must survive a machine crash too
            sync_folder(self._path.parent)
            self._folder_synced = True
        return new_state(self.name, file=self._path.name, offset=offset, rows=self._rows)

    def _object(self, values: Sequence[Any], record: Mapping[str, Any]) -> dict[str, Any]:
        item = dict(zip(self._headers, self._numbers(values)))  # noqa: B905 - hot path, lengths match by construction
        for relation in self._nested:
            item[relation] = record.get(relation) or []
        return item

    def _numbers(self, values: Sequence[Any]) -> Sequence[Any]:
        """The values with the Decimals of the decimal columns as floats (what orjson_default would give)."""
        if not self._decimal_positions or len(values) != len(self._headers):
            return values
        out = list(values)
        for n in self._decimal_positions:
            if type(out[n]) is Decimal:
                out[n] = float(out[n])
        return out

    def _dumps(self, item: dict[str, Any], option: int) -> bytes:
        try:
            return orjson.dumps(item, default=orjson_default, option=option)
        except orjson.JSONEncodeError as exc:
            raise OutputError(f"product row {self._rows + 1} cannot be written as JSON: {exc}") from None

    def _put(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc

    def _finish(self) -> None:
        """Write what ends the file (nothing for JSON Lines)."""

    def close(self) -> list[OutputFile]:
        if self._done is None:
            self._finish()
            close_output(self._file, self._path)
            self._done = [OutputFile(self._path, self._rows, self.content_type)]
        return list(self._done)

    def abort(self) -> None:
        discard_output(self._file, self._path)


class JsonWriter(_JsonBase):
    """Streams `{"products": [...]}`: the opening, then each product as it comes, then the closing."""

    name: ClassVar[str] = "json"
    extension: ClassVar[str] = "json"
    content_type: ClassVar[str] = "application/json"
    _pretty_allowed: ClassVar[bool] = True

    def _setup(self, ctx: WriterContext) -> None:
        super()._setup(ctx)
        # compact mode still puts one product per line: big files stay usable with line-based tools
        self._option = (_OPTION | orjson.OPT_INDENT_2) if self._pretty else _OPTION

    def _start(self) -> None:
        self._put(b'{\n  "products": [' if self._pretty else b'{"products":[')
        self._separator = b"\n"

    def _continue(self) -> None:
        self._separator = b",\n" if self._rows else b"\n"

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        data = self._dumps(self._object(values, record), self._option)
        if self._pretty:
            # orjson's newlines are all structural (newlines inside strings are escaped): indent the item
            data = b"    " + data.replace(b"\n", b"\n    ")
        self._put(self._separator + data)
        self._separator = b",\n"
        self._rows += 1

    def _finish(self) -> None:
        if self._pretty:
            self._put(b"\n  ]\n}\n" if self._rows else b"]\n}\n")
        else:
            self._put(b"\n]}\n" if self._rows else b"]}\n")


class JsonLinesWriter(_JsonBase):
    """Streams one compact JSON object per line, each line ending with "\\n"."""

    name: ClassVar[str] = "jsonl"
    extension: ClassVar[str] = "jsonl"
    content_type: ClassVar[str] = "application/x-ndjson"
    _pretty_allowed: ClassVar[bool] = False

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        item = self._object(values, record)
        try:
            self._file.write(orjson.dumps(item, default=orjson_default, option=_LINE))
        except orjson.JSONEncodeError as exc:
            raise OutputError(f"product row {self._rows + 1} cannot be written as JSON: {exc}") from None
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc
        self._rows += 1
