"""Format writers by name."""

from __future__ import annotations

import importlib

from engine.errors import TemplateError
from engine.formats.base import FormatWriter

# name -> "module:Class"; adding a format is adding a module and a line here.
FORMATS: dict[str, str] = {
    "csv": "engine.formats.csv:CsvWriter",
    "xlsx": "engine.formats.xlsx:XlsxWriter",
    "json": "engine.formats.json:JsonWriter",
    "jsonl": "engine.formats.json:JsonLinesWriter",
    "google_xml": "engine.formats.google_xml:GoogleXmlWriter",
    "amazon_json": "engine.formats.amazon_json:AmazonJsonWriter",
    "amazon_flat_file": "engine.formats.amazon_flat_file:AmazonFlatFileWriter",
}


def get_writer(name: str) -> type[FormatWriter]:
    try:
        target = FORMATS[name]
    except KeyError:
        raise TemplateError(f"unknown format {name!r} (known: {', '.join(sorted(FORMATS))})", "format") from None
    module, cls = target.split(":")
    writer: type[FormatWriter] = getattr(importlib.import_module(module), cls)
    return writer
