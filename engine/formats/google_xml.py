"""Google Shopping feed writer: one streamed RSS 2.0 file with the `g:` namespace, one `<item>` per row.

Column headers are element names: plain RSS elements (`title`, `link`, `description`) or Google attributes
with the `g:` prefix (`g:id`, `g:price`, `g:image_link`...); no other prefix is declared, so no other is
accepted. Each row becomes an `<item>`, written and flushed to the file as it comes (never a tree in memory):

- an empty cell (None, "", an empty list or object) is left out: Google reads a missing attribute as unset;
- a list gives the element once per non-empty item (`g:additional_image_link`);
- an object gives one element holding a child element per entry (`g:shipping` with `g:country`,
  `g:price`...), a child named without a prefix taking its parent's;
- text is escaped (`&`, `<`, `>`, and CR as `&#13;` so it survives parsing), and characters that XML 1.0
  cannot hold (control characters, lone surrogates) are dropped;
- Decimal -> fixed point, bool -> yes/no (Google's booleans), date/datetime -> ISO 8601, other numbers as is.

Options: `title`, `link` and `description` of the channel (RSS 2.0 requires the three elements; `link`, the
shop's address, has no default and is required when the export runs).

Checkpoints are the byte offset after the last complete item plus the item count, as for the JSON writer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, ClassVar, Literal, Self
from xml.sax.saxutils import escape

from engine.errors import OutputError, TemplateError
from engine.formats.base import OutputFile, WriterBase, WriterContext
from engine.formats.values import (
    close_output,
    discard_output,
    new_state,
    open_binary,
    output_path,
    reject_unknown_options,
    resume_single_file,
    sync_file,
    sync_folder,
)

GOOGLE_NAMESPACE = "http://base.google.com/ns/1.0"
_NAME = re.compile(r"^(?:g:)?[A-Za-z_][A-Za-z0-9_.\-]*$")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ENTITIES = {"\r": "&#13;"}
_OPTIONS = ("title", "link", "description")


def xml_text(text: str) -> str:
    """`text` escaped for element content, without the characters XML 1.0 forbids."""
    return escape(_NOT_XML.sub("", text), _ENTITIES)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | Mapping) and not value)


def _child_name(parent: str, key: Any) -> str:
    name = str(key)
    if ":" not in name and parent.startswith("g:"):
        name = "g:" + name
    if not _NAME.match(name):
        raise OutputError(f"{name!r} (inside <{parent}>) is not an element name the feed can hold")
    return name


def render_element(name: str, value: Any, indent: str, out: list[str]) -> None:
    """Append the element(s) for one cell to `out`; nothing for an empty value."""
    if _empty(value):
        return
    if isinstance(value, list | tuple):
        for item in value:
            render_element(name, item, indent, out)
        return
    if isinstance(value, Mapping):
        out.append(f"{indent}<{name}>\n")
        for key, child in value.items():
            render_element(_child_name(name, key), child, indent + "  ", out)
        out.append(f"{indent}</{name}>\n")
        return
    text = xml_text(_scalar(value))
    if text:
        out.append(f"{indent}<{name}>{text}</{name}>\n")


class GoogleXmlWriter(WriterBase):
    """Streams `<item>`s into one RSS 2.0 document."""

    name: ClassVar[str] = "google_xml"
    extension: ClassVar[str] = "xml"
    content_type: ClassVar[str] = "application/rss+xml"

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown_options(options, _OPTIONS, cls.name)
        out = {"title": "Products", "link": "", "description": ""}
        for key in _OPTIONS:
            value = options.get(key, out[key])
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise TemplateError(f"must be text, not {value!r}", f"options.{key}")
            out[key] = value.strip()
        if out["link"] and not out["link"].lower().startswith(("http://", "https://")):
            raise TemplateError("must be the shop's http(s) address", "options.link")
        return out

    @classmethod
    def relations(cls, options: Mapping[str, Any]) -> set[str]:
        return set()

    @classmethod
    def check_headers(cls, headers: Sequence[str]) -> None:
        """Raise TemplateError naming the first header that is not an element name the feed declares."""
        for position, header in enumerate(headers, start=1):
            if not _NAME.match(header):
                raise TemplateError(
                    "a Google feed column must be an element name such as g:id, g:price, title or link "
                    "(letters, digits, _ . -; the only prefix is g:)",
                    f"column {position} ({header!r})",
                )

    def __init__(self, ctx: WriterContext) -> None:
        self._setup(ctx)
        self._rows = 0
        self._open("wb")
        options = self._options
        head = [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            f'<rss version="2.0" xmlns:g="{GOOGLE_NAMESPACE}">\n',
            "<channel>\n",
        ]
        for key in _OPTIONS:  # empty ones too: RSS 2.0 requires all three
            head.append(f"  <{key}>{xml_text(options[key])}</{key}>\n")
        try:
            self._put("".join(head))
        except OutputError:
            self.abort()  # nobody holds this writer yet to abort it
            raise

    def _setup(self, ctx: WriterContext) -> None:
        self._options = self.validate_options(ctx.options)
        self._headers = [column.header for column in ctx.columns]
        self.check_headers(self._headers)
        if not self._options["link"]:
            raise TemplateError(
                "the shop's address is required: RSS 2.0 requires the channel's link (set it in the template or "
                "the export request)",
                "options.link",
            )
        self._done: list[OutputFile] | None = None
        self._folder_synced = False
        self._path = output_path(ctx, 1)

    def _open(self, mode: Literal["wb", "ab"]) -> None:
        self._file: BinaryIO = open_binary(self._path, mode)

    def _put(self, text: str) -> None:
        try:
            self._file.write(text.encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"cannot write {self._path}: {exc.strerror or exc}") from exc

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        out = ["  <item>\n"]
        for header, value in zip(self._headers, values):  # noqa: B905 - lengths match by construction
            render_element(header, value, "    ", out)
        out.append("  </item>\n")
        self._put("".join(out))
        self._rows += 1

    def checkpoint(self) -> dict[str, Any]:
        """{"format": "google_xml", "version": 1, "file": name, "offset": bytes of complete items, "rows": items}."""
        if self._done is not None:
            raise OutputError("the Google XML writer is already closed")
        offset = sync_file(self._file, self._path)
        if not self._folder_synced:
            sync_folder(self._path.parent)
            self._folder_synced = True
        return new_state(self.name, file=self._path.name, offset=offset, rows=self._rows)

    @classmethod
    def resume(cls, ctx: WriterContext, state: Mapping[str, Any]) -> Self:
        """Continue after the checkpoint's last item: the file is cut back there and appended to."""
        writer = cls.__new__(cls)
        writer._setup(ctx)
        writer._path, writer._rows = resume_single_file(ctx, state, cls.name)
        writer._open("ab")
        return writer

    def close(self) -> list[OutputFile]:
        if self._done is None:
            self._put("</channel>\n</rss>\n")
            close_output(self._file, self._path)
            self._done = [OutputFile(self._path, self._rows, self.content_type)]
        return list(self._done)

    def abort(self) -> None:
        discard_output(self._file, self._path)
