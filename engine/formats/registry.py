"""Format writers by name."""

from __future__ import annotations

from engine.formats.base import FormatWriter
from engine.registry import resolve

# name -> "module:Class"; adding a format is adding a module and a line here.
FORMATS: dict[str, str] = {
    "csv": "engine.formats.csv:CsvWriter",
    "xlsx": "engine.formats.xlsx:XlsxWriter",
    "json": "engine.formats.json:JsonWriter",
    "jsonl": "engine.formats.json:JsonLinesWriter",
    "google_xml": "engine.formats.google_xml:GoogleXmlWriter",
    "amazon_json": "engine.formats.amazon_json:AmazonJsonWriter",
    "amazon_flat_file": "engine.formats.amazon_flat_file:AmazonFlatFileWriter",
    "odoo_csv": "engine.formats.odoo_csv:OdooCsvWriter",
}


def get_writer(name: str) -> type[FormatWriter]:
    writer: type[FormatWriter] = resolve(FORMATS, name, what="format", field="format")
    return writer
