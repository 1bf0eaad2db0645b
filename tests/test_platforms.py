"""The predefined platform templates end to end, on SQLite and PostgreSQL, against golden files and the
platforms' own contracts in ../shared/specs (Shopify's CSV headers, WooCommerce's exporter headers, Amazon's
JSON_LISTINGS_FEED schema, Google's attribute list), plus the feed writers and the row transformations alone.

Every output is also read back with an independent reader (csv, json + jsonschema, xml.etree) and checked.
Regenerate the golden files with `PM_EXPORTS_UPDATE_GOLDEN=1 pytest tests/test_platforms.py -p no:xdist`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from engine.catalog.gtin import is_valid_gtin
from engine.catalog.models import Product
from engine.catalog.store import ensure_category_path
from engine.errors import OutputError, TemplateError
from engine.formats.amazon_json import AmazonJsonWriter
from engine.formats.base import ColumnInfo
from engine.formats.google_xml import GOOGLE_NAMESPACE, GoogleXmlWriter
from engine.models import ExportJob, JobExclusion
from engine.pipeline.mapping import compile_columns
from engine.pipeline.spec import ExportSpec
from engine.services.exports import resolve_request, run_inline
from engine.services.templates import get_template
from engine.settings import Settings
from tests.conftest import shared_spec
from tests.formats_helpers import folder_names, make_ctx, run_writer
from tests.platform_catalog import (
    AMAZON_CATEGORY_TEMPLATE,
    BAD_EAN,
    LONG_TITLE,
    build_platform_catalog,
    write_amazon_category_template,
)

GOLDEN = Path(__file__).parent / "golden" / "platforms"
UPDATE = bool(os.environ.get("PM_EXPORTS_UPDATE_GOLDEN"))
G = f"{{{GOOGLE_NAMESPACE}}}"
AMAZON_OPTIONS = {"options": {"seller_id": "A1PMEXPORTS"}}
GOOGLE_OPTIONS = {"options": {"link": "https://boutique.example.com"}}
FLAT_FILE_OPTIONS = {"options": {"category_template": AMAZON_CATEGORY_TEMPLATE}}

# Odoo's product.template fields an import can name (odoo/addons/product/models/product_template.py, plus
# `id`, the external id column of every import; `is_storable` since Odoo 18, `detailed_type` before it).
ODOO_PRODUCT_TEMPLATE_FIELDS = {
    "id",
    "attribute_line_ids/id",  # the attribute lines (sub-rows), product_template_attribute_line.py
    "attribute_line_ids/attribute_id/id",
    "attribute_line_ids/value_ids/id",
    "name",
    "default_code",
    "barcode",
    "list_price",
    "standard_price",
    "categ_id",
    "description",
    "description_sale",
    "description_purchase",
    "active",
    "weight",
    "volume",
    "type",
    "is_storable",
    "detailed_type",
    "sale_ok",
    "purchase_ok",
    "uom_id",
    "uom_po_id",
    "taxes_id",
    "supplier_taxes_id",
    "company_id",
    "product_tag_ids",
    "image_1920",
    "sequence",
    "color",
}


@pytest.fixture
def catalog(db: Settings) -> Settings:
    build_platform_catalog()
    headers = [c["header"] for c in get_template("Amazon Flat File").spec["columns"]]
    write_amazon_category_template(db.var_dir / "inputs", headers)
    return db


def export(settings: Settings, template: str, **overrides: Any):
    return run_inline(resolve_request(template, overrides), settings, out_dir=settings.export_dir)


def check_golden(name: str, produced: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(produced)
    assert path.exists(), f"golden file {name} missing: run with PM_EXPORTS_UPDATE_GOLDEN=1"
    assert produced == path.read_bytes(), f"{name} differs from its golden file"


def read_csv(data: bytes, delimiter: str = ",") -> list[list[str]]:
    assert not data.startswith(b"\xef\xbb\xbf"), "platform files are UTF-8 without a BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


# ---------------------------------------------------------------------------------------------------------
# Golden files and exclusions, per template

GOLDENS = {
    "Shopify Standard": ("shopify.csv", {}),
    "WooCommerce Standard": ("woocommerce.csv", {}),
    "PrestaShop Standard": ("prestashop.csv", {}),
    "Amazon Flat File": ("amazon-flat-file.tsv", FLAT_FILE_OPTIONS),
    "Amazon Listings Feed": ("amazon-listings-feed.json", AMAZON_OPTIONS),
    "Google Shopping": ("google-shopping.xml", GOOGLE_OPTIONS),
    "Google Shopping TSV": ("google-shopping.tsv", {}),
    "Odoo Products": ("odoo-products.csv", {}),
}

# product id -> the rule that excludes it (catalogue ids: 3 bad EAN, 4 no price, 5 300-character title,
# 6 no image, 7 no SKU, 10 completeness 36; 8 is inactive and 9 a draft)
BAD = {"gtin": (3, "gtin:ean"), "price": (4, "positive:price"), "title": (5, "max_length:title")}
# product 7 has no SKU: the Amazon sku column falls back to its EAN and the rule runs on that column
AMAZON_FEED_EXCLUDED = {
    3: "gtin:ean",
    4: "positive:price",
    5: "max_length:title",
    6: "min_count:images",
    10: "min_count:images",
}
GOOGLE_EXCLUDED = {3: "gtin:ean", 4: "positive:price", 6: "min_count:images", 10: "required:description"}
# product 10 (title, EAN, price and brand only) has all the shops require: their completeness counts only that
EXCLUDED: dict[str, dict[int, str]] = {
    "Shopify Standard": {3: "gtin:ean", 4: "positive:price", 5: "max_length:title"},
    "WooCommerce Standard": {3: "gtin:ean", 4: "positive:price"},
    "PrestaShop Standard": {3: "gtin:ean", 4: "positive:price", 5: "max_length:title"},
    "Amazon Flat File": AMAZON_FEED_EXCLUDED,
    "Amazon Listings Feed": AMAZON_FEED_EXCLUDED,
    "Google Shopping": GOOGLE_EXCLUDED,
    "Google Shopping TSV": GOOGLE_EXCLUDED,
    "Odoo Products": {3: "gtin:ean"},
}
SELECTED = {  # products each template selects (statuses)
    "Shopify Standard": 9,
    "WooCommerce Standard": 9,
    "PrestaShop Standard": 9,
    "Odoo Products": 9,
}


@pytest.mark.parametrize("template", sorted(GOLDENS))
def test_platform_template_matches_its_golden_file_and_excludes_bad_products(catalog: Settings, template: str) -> None:
    name, overrides = GOLDENS[template]
    job, result = export(catalog, template, **overrides)
    if template == "PrestaShop Standard":  # combinations go to a second file
        assert [f.name.endswith("-combinations.csv") for f in result.files] == [False, True]
        check_golden("prestashop-combinations.csv", result.files[1].path.read_bytes())
    elif template == "Odoo Products":  # the attributes the products' variants use, imported first
        assert [f.name.endswith("-attributes.csv") for f in result.files] == [False, True]
        check_golden("odoo-attributes.csv", result.files[1].path.read_bytes())
    else:
        assert len(result.files) == 1
    check_golden(name, result.files[0].path.read_bytes())
    expected = EXCLUDED[template]
    assert result.total == SELECTED.get(template, 8)
    assert result.excluded == len(expected)
    counts: dict[str, int] = {}
    for rule in expected.values():
        counts[rule] = counts.get(rule, 0) + 1
    assert result.excluded_by_rule == counts
    stored = {e.product_id: e.rule for e in JobExclusion.select().where(JobExclusion.job == job.id)}
    assert stored == expected
    assert ExportJob.get_by_id(job.id).report["excluded_by_rule"] == counts


def test_exclusion_messages_name_the_problem(catalog: Settings) -> None:
    job, _result = export(catalog, "Amazon Listings Feed", **AMAZON_OPTIONS)
    messages = {e.product_id: e.message for e in JobExclusion.select().where(JobExclusion.job == job.id)}
    assert messages[3] == f"EAN '{BAD_EAN}' has a bad check digit (expected 4)"
    assert messages[4] == "price must be greater than 0"
    assert messages[5] == "title is 300 characters long (at most 200)"
    assert messages[6] == "images has 0 item(s), at least 1 needed"
    assert 7 not in messages


# ---------------------------------------------------------------------------------------------------------
# Shopify


def test_shopify_csv_follows_shopifys_template(catalog: Settings) -> None:
    _job, result = export(catalog, "Shopify Standard")
    data = result.files[0].path.read_bytes()
    rows = read_csv(data)
    expected_headers = shared_spec("shopify/csv_headers_current.txt").read_text(encoding="utf-8").strip().split(",")
    assert rows[0] == expected_headers
    products: dict[str, list[dict[str, str]]] = {}
    for row in as_dicts(rows):
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", row["URL handle"]), row["URL handle"]
        products.setdefault(row["URL handle"], []).append(row)
    assert list(products) == [
        "poele-eloise-28-cm-fonte-ceramique-pan-28",
        "t-shirt-coton-bio-coupe-droite-tsh-bio",
        "spatule-en-silicone-no-image",
        "kit-creme-brulee-4-ramequins",
        "wok-en-acier-carbone-inactive-1",
        "dessous-de-plat-low-1",
    ]
    pan = products["poele-eloise-28-cm-fonte-ceramique-pan-28"]
    assert [r["Title"] for r in pan] == ["Poêle « Éloïse » 28 cm, fonte & céramique", ""]  # product cells once
    first, image_row = pan
    assert (first["Option1 name"], first["Option1 value"]) == ("Title", "Default Title")  # single-variant rule
    assert (first["SKU"], first["Barcode"], first["Price"], first["Weight value (grams)"]) == (
        "PAN-28",
        "3760001200010",
        "39.90",
        "1200",
    )
    assert (first["Published on online store"], first["Status"]) == ("TRUE", "active")
    assert first["Image position"] == "1" and image_row["Image position"] == "2"
    assert image_row["SKU"] == image_row["Price"] == image_row["Option1 value"] == ""  # an image row only
    assert image_row["Product image URL"] == "https://cdn.example.com/pan-28-2.jpg"
    tshirt = products["t-shirt-coton-bio-coupe-droite-tsh-bio"]
    assert [r["SKU"] for r in tshirt] == ["TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L"]  # one row per variant
    assert [r["Option1 name"] for r in tshirt] == ["Taille", "", ""]
    assert [r["Option1 value"] for r in tshirt] == ["S", "M", "L"]
    assert [r["Option2 value"] for r in tshirt] == ["Blanc"] * 3
    assert [r["Price"] for r in tshirt] == ["19.00", "21.00", "19.00"]
    assert [r["Image position"] for r in tshirt] == ["1", "2", "3"]
    assert tshirt[1]["Variant image URL"] == "https://cdn.example.com/tsh-bio-m.jpg"
    wok = products["wok-en-acier-carbone-inactive-1"][0]
    assert (wok["Published on online store"], wok["Status"]) == ("FALSE", "draft")
    assert products["spatule-en-silicone-no-image"][0]["Product image URL"] == ""


# ---------------------------------------------------------------------------------------------------------
# WooCommerce


def woocommerce_header_patterns() -> list[re.Pattern[str]]:
    """The exporter's headers with their placeholders (<unit>, N, <key>, [optional]) as patterns."""
    patterns = []
    for line in shared_spec("woocommerce/csv_headers_exporter.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        for header in next(csv.reader([line.replace(", UPC, EAN, or ISBN", "\0")])):
            text = re.escape(header.replace("\0", ", UPC, EAN, or ISBN"))
            text = re.sub(r"\bN\b", r"\\d+", text.replace("<unit>", "[a-z]+").replace("<key>", ".+"))
            patterns.append(re.compile(text.replace(r"\[", r"\[?").replace(r"\]", r"\]?")))
    return patterns


def woo_explode(value: str) -> list[str]:
    """WooCommerce's importer splitting a list cell: `\\,` is a comma inside a value (explode_values in
    includes/import/abstract-wc-product-importer.php)."""
    return [part.replace("::separator::", ",").strip() for part in value.replace("\\,", "::separator::").split(",")]


def woo_unescape(value: str) -> str:
    """unescape_data: the importer removes the apostrophe before =, +, - and @, in the fields it applies it to."""
    return value[1:] if value[:2] in ("'=", "'+", "'-", "'@") else value


def test_woocommerce_csv_imports_the_way_woocommerces_importer_reads_it(catalog: Settings) -> None:
    _job, result = export(catalog, "WooCommerce Standard")
    data = result.files[0].path.read_bytes()
    rows = read_csv(data)
    patterns = woocommerce_header_patterns()
    group = min(i for i, p in enumerate(patterns) if p.pattern.startswith("Attribute"))
    positions = []
    for header in rows[0]:
        matches = [i for i, p in enumerate(patterns) if p.fullmatch(header)]
        assert matches, f"{header!r} is not a WooCommerce exporter header"
        numbered = re.match(r"Attribute (\d+) ", header)  # the Attribute N group repeats for N = 1, 2, 3
        positions.append((group, int(numbered[1]), matches[0]) if numbered else (matches[0], 0, 0))
    assert positions == sorted(positions), "headers must keep the exporter's order"
    # the GTIN goes where the importer maps it without help: `Meta: _global_unique_id` (auto_map_columns knows no
    # GTIN header; an internal meta key is set through its setter, WC_Data::add_meta_data)
    assert "GTIN, UPC, EAN, or ISBN" not in rows[0] and rows[0][-1] == "Meta: _global_unique_id"
    items = as_dicts(rows)
    assert [(r["Type"], r["SKU"], r["Parent"]) for r in items] == [
        ("simple", "PAN-28", ""),
        ("variable", "TSH-BIO", ""),
        ("variation", "TSH-BIO-S", "TSH-BIO"),
        ("variation", "TSH-BIO-M", "TSH-BIO"),
        ("variation", "TSH-BIO-L", "TSH-BIO"),
        ("simple", "LONG-TITLE", ""),
        ("simple", "NO-IMAGE", ""),
        ("simple", "PM-7", ""),  # no SKU: a stable stand-in, so that a re-import updates instead of duplicating
        ("simple", "INACTIVE-1", ""),
        ("simple", "LOW-1", ""),
    ]
    skus = {r["SKU"]: r for r in items}
    for row in items:  # parse_relative_field: a variation's Parent is an SKU met before it
        if row["Type"] == "variation":
            parent = skus[row["Parent"]]
            assert parent["Type"] == "variable" and items.index(parent) < items.index(row)
            for n in (1, 2, 3):
                if row[f"Attribute {n} name"]:
                    assert woo_explode(row[f"Attribute {n} value(s)"])[0] in woo_explode(
                        parent[f"Attribute {n} value(s)"]
                    )
    pan, parent, small, medium, large, long_title, _no_image, creme, inactive, _low = items
    assert pan["Meta: _global_unique_id"] == "3760001200010"
    assert pan["Categories"] == "Maison > Cuisine > Poêles"
    assert pan["Images"] == "https://cdn.example.com/pan-28-1.jpg, https://cdn.example.com/pan-28-2.jpg"
    assert (pan["Regular price"], pan["Stock"], pan["In stock?"], pan["Published"]) == ("39.90", "8", "1", "1")
    # Name and descriptions are not unescaped by the importer (parse_skip_field, parse_description_field): no
    # apostrophe before a leading - ; Published -1 is a draft (expand_data: -1 draft, 0 private, 1 publish)
    assert pan["Short description"] == "-20 % cette semaine" and inactive["Published"] == "-1"
    assert (parent["Attribute 1 name"], parent["Attribute 1 value(s)"], parent["Attribute 1 visible"]) == (
        "Taille",
        "S, M, L",
        "1",
    )
    assert (parent["Attribute 2 name"], parent["Attribute 2 value(s)"]) == ("Couleur", "Blanc")
    assert parent["Regular price"] == parent["Stock"] == parent["Attribute 3 name"] == ""
    assert [v["Attribute 1 value(s)"] for v in (small, medium, large)] == ["S", "M", "L"]
    assert [v["Attribute 1 global"] for v in (small, medium, large)] == ["0", "0", "0"]
    assert [v["Meta: _global_unique_id"] for v in (small, medium, large)] == ["", "3760001200089", "036000291452"]
    assert [v["Regular price"] for v in (small, medium, large)] == ["19.00", "21.00", "19.00"]
    assert [v["In stock?"] for v in (small, medium, large)] == ["1", "1", "0"]
    assert [v["Images"] for v in (small, medium, large)] == ["", "https://cdn.example.com/tsh-bio-m.jpg", ""]
    assert long_title["Name"] == LONG_TITLE  # WooCommerce has no title limit
    assert creme["Name"] == "Kit crème brûlée — 4 ramequins"


def test_woocommerce_escapes_commas_wherever_its_importer_splits(catalog: Settings) -> None:
    from engine.catalog.store import upsert_product

    upsert_product(
        {
            "sku": "HUILE",
            "title": "Huile d'olive\nvierge extra",
            "price": "12.50",
            "sale_price": "9.90",
            "status": "active",
            "variants": [
                {"sku": "HUILE-05", "options": {"Contenance": "0,5 L"}, "stock": 3},
                {"sku": "HUILE-15", "options": {"Contenance": "1,5 L"}, "stock": 2},
            ],
        }
    )
    _job, result = export(catalog, "WooCommerce Standard", selection={"skus": ["HUILE"]})
    parent, half, one_and_half = as_dicts(read_csv(result.files[0].path.read_bytes()))
    assert parent["Name"] == "Huile d'olive vierge extra"  # a title on one line
    assert woo_explode(parent["Attribute 1 value(s)"]) == ["0,5 L", "1,5 L"]
    assert [woo_explode(v["Attribute 1 value(s)"]) for v in (half, one_and_half)] == [["0,5 L"], ["1,5 L"]]
    assert [v["Sale price"] for v in (half, one_and_half)] == ["9.90", "9.90"]  # sale prices on variations


# ---------------------------------------------------------------------------------------------------------
# PrestaShop


# PrestaShop 8's product import fields in the order of AdminImportController::$available_fields (Products):
# the import screen matches the file's columns to them by position, not by header.
PRESTASHOP_PRODUCT_FIELDS = [
    "id",
    "active",
    "name",
    "category",
    "price_tex",
    "price_tin",
    "id_tax_rules_group",
    "wholesale_price",
    "on_sale",
    "reduction_price",
    "reduction_percent",
    "reduction_from",
    "reduction_to",
    "reference",
    "supplier_reference",
    "supplier",
    "manufacturer",
    "ean13",
    "upc",
    "mpn",
    "ecotax",
    "width",
    "height",
    "depth",
    "weight",
    "delivery_in_stock",
    "delivery_out_stock",
    "quantity",
    "minimal_quantity",
    "low_stock_threshold",
    "low_stock_alert",
    "visibility",
    "additional_shipping_cost",
    "unity",
    "unit_price",
    "description_short",
    "description",
    "tags",
    "meta_title",
    "meta_keywords",
    "meta_description",
    "link_rewrite",
    "available_now",
    "available_later",
    "available_for_order",
    "available_date",
    "date_add",
    "show_price",
    "image",
    "image_alt",
    "delete_existing_images",
    "features",
    "online_only",
    "condition",
]


# ... and for Combinations
PRESTASHOP_COMBINATION_FIELDS = [
    "id_product",
    "product_reference",
    "group",
    "attribute",
    "supplier_reference",
    "reference",
    "ean13",
    "upc",
    "mpn",
    "wholesale_price",
    "price",
    "ecotax",
    "quantity",
    "minimal_quantity",
    "low_stock_threshold",
    "low_stock_alert",
    "weight",
    "default_on",
    "available_date",
    "image_position",
    "image_url",
]


def prestashop_import(data: bytes, fields: list[str] = PRESTASHOP_PRODUCT_FIELDS) -> list[dict[str, str]]:
    """Read the file the way PrestaShop's import does with its default matching: column i is field i."""
    header, *rows = read_csv(data, delimiter=";")
    assert len(header) <= len(fields)
    return [dict(zip(fields, row, strict=False)) for row in rows]


def test_prestashop_csv_imports_by_position_with_tax_excluded_prices_and_field_limits(catalog: Settings) -> None:
    _job, result = export(catalog, "PrestaShop Standard")
    rows = prestashop_import(result.files[0].path.read_bytes())
    by_ref = {r["reference"]: r for r in rows}
    # a product without a reference gets a stable one, the key of "Use product reference as key" on re-import
    assert set(by_ref) == {"PAN-28", "TSH-BIO", "NO-IMAGE", "PM-7", "INACTIVE-1", "LOW-1"}
    assert all(r["id"] == "" for r in rows)  # no id: the shop creates the product or matches its reference
    pan, tshirt = by_ref["PAN-28"], by_ref["TSH-BIO"]
    assert (pan["price_tex"], pan["id_tax_rules_group"]) == ("33.250000", "1")  # 39.90 at 20 %
    assert tshirt["price_tex"] == "15.833333"  # 19.00 at 20 %: six decimals, so the shop shows 19.00
    assert Decimal(tshirt["price_tex"]) * Decimal("1.2") == pytest.approx(Decimal("19.00"), abs=Decimal("0.00001"))
    assert tshirt["name"] == "T-shirt coton bio coupe droite"  # PrestaShop refuses ; in a name
    assert (pan["manufacturer"], pan["ean13"], pan["mpn"]) == ("Maison Éloïse", "3760001200010", "ME-PAN-28")
    assert (pan["quantity"], pan["visibility"], pan["condition"]) == ("8", "both", "new")
    assert by_ref["INACTIVE-1"]["active"] == "0" and pan["active"] == "1"
    for row in rows:
        assert len(row["name"]) <= 128 and len(row["reference"]) <= 64 and len(row["ean13"]) <= 13
        assert len(row["link_rewrite"]) <= 128 and re.fullmatch(r"[a-z0-9-]+", row["link_rewrite"])
        assert "\n" not in row["name"]
    assert pan["image"] == "https://cdn.example.com/pan-28-1.jpg,https://cdn.example.com/pan-28-2.jpg"
    assert pan["description_short"] == "-20 % cette semaine"  # a shop import, not a spreadsheet: no formula quote
    combinations = prestashop_import(result.files[1].path.read_bytes(), PRESTASHOP_COMBINATION_FIELDS)
    assert [(c["product_reference"], c["reference"]) for c in combinations] == [
        ("TSH-BIO", "TSH-BIO-S"),
        ("TSH-BIO", "TSH-BIO-M"),
        ("TSH-BIO", "TSH-BIO-L"),
    ]
    assert all(c["group"] == "Taille,Couleur" for c in combinations)
    assert [c["attribute"] for c in combinations] == ["S,Blanc", "M,Blanc", "L,Blanc"]
    # the price impact is tax-excluded: 21.00 - 19.00 at 20 % (the shop shows 21.00 for M)
    assert [c["price"] for c in combinations] == ["0.000000", "1.666667", "0.000000"]
    assert [c["default_on"] for c in combinations] == ["1", "0", "0"]
    assert [c["quantity"] for c in combinations] == ["5", "12", "0"]


# ---------------------------------------------------------------------------------------------------------
# Amazon


def amazon_validators() -> tuple[Draft7Validator, Draft7Validator]:
    feed = json.loads(shared_spec("amazon/listings-feed-schema-v2.json").read_text(encoding="utf-8"))
    text = shared_spec("amazon/listings-feed-message-schema-v2.json").read_text(encoding="utf-8")
    message = json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))
    Draft7Validator.check_schema(feed)
    Draft7Validator.check_schema(message)
    return Draft7Validator(feed), Draft7Validator(message)


def assert_valid_feed(document: dict[str, Any]) -> None:
    feed, message = amazon_validators()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in feed.iter_errors(document)]
    errors += [
        f"message {m.get('messageId')}: {e.message}" for m in document["messages"] for e in message.iter_errors(m)
    ]
    assert not errors, errors


def test_amazon_listings_feed_is_valid_against_amazons_schema(catalog: Settings) -> None:
    _job, result = export(catalog, "Amazon Listings Feed", **AMAZON_OPTIONS)
    document = json.loads(result.files[0].path.read_bytes())
    assert_valid_feed(document)
    assert document["header"] == {"sellerId": "A1PMEXPORTS", "version": "2.0", "issueLocale": "fr_FR"}
    messages = {m["sku"]: m for m in document["messages"]}
    assert list(messages) == ["PAN-28", "TSH-BIO", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L", "96385074"]
    assert [m["messageId"] for m in document["messages"]] == [1, 2, 3, 4, 5, 6]
    pan = messages["PAN-28"]
    # matched to an existing ASIN: an offer on it, under the product type its category maps to
    offer = ("UPDATE", "SAUTE_FRY_PAN", "LISTING_OFFER_ONLY")
    assert (pan["operationType"], pan["productType"], pan["requirements"]) == offer
    attributes = pan["attributes"]
    market = {"marketplace_id": "A13V1IB3VIYZZH"}
    assert attributes["merchant_suggested_asin"] == [{"value": "B0PAN28000", **market}]
    shirt = [messages[sku] for sku in ("TSH-BIO", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L")]
    assert {(m["productType"], m["requirements"]) for m in shirt} == {("SHIRT", "LISTING")}
    # TSH-BIO-S has no GTIN: it goes out under the brand's GTIN exemption
    exemption = messages["TSH-BIO-S"]["attributes"]["supplier_declared_has_product_identifier_exemption"]
    assert exemption == [{"value": True, **market}]
    assert attributes["item_name"] == [
        {"value": "Poêle « Éloïse » 28 cm, fonte & céramique", "language_tag": "fr_FR", **market}
    ]
    assert attributes["externally_assigned_product_identifier"] == [{"type": "ean", "value": "3760001200010", **market}]
    assert attributes["purchasable_offer"] == [
        {"currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 39.9}]}], **market}
    ]
    assert attributes["fulfillment_availability"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 8}]
    assert [b["value"] for b in attributes["bullet_point"]] == [
        "Tous feux dont induction",
        "Revêtement sans PFOA",
        "Poignée ergonomique",
    ]
    assert "<" not in attributes["product_description"][0]["value"]
    parent = messages["TSH-BIO"]["attributes"]
    assert parent["parentage_level"] == [{"value": "parent", **market}]
    assert parent["variation_theme"] == [{"name": "SIZE/COLOR", **market}]
    assert "purchasable_offer" not in parent and "externally_assigned_product_identifier" not in parent
    large = messages["TSH-BIO-L"]["attributes"]
    assert large["child_parent_sku_relationship"] == [
        {"child_relationship_type": "variation", "parent_sku": "TSH-BIO", **market}
    ]
    assert large["externally_assigned_product_identifier"][0]["type"] == "upc"
    assert (large["size"][0]["value"], large["color"][0]["value"]) == ("L", "Blanc")
    assert messages["TSH-BIO-M"]["attributes"]["main_product_image_locator"][0]["media_location"].endswith("-m.jpg")


def test_amazon_feed_is_split_into_files_of_at_most_max_messages(catalog: Settings) -> None:
    _job, result = export(catalog, "Amazon Listings Feed", options={"seller_id": "A1X", "max_messages": 2})
    assert [f.rows for f in result.files] == [2, 2, 2]
    skus = []
    for file in result.files:
        document = json.loads(file.path.read_bytes())
        assert_valid_feed(document)
        assert [m["messageId"] for m in document["messages"]] == list(range(1, file.rows + 1))
        skus += [m["sku"] for m in document["messages"]]
    assert skus == ["PAN-28", "TSH-BIO", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L", "96385074"]


def test_amazon_feed_excludes_buyable_items_without_identifier_or_exemption_and_unmapped_types(
    catalog: Settings,
) -> None:
    Product.update(attributes={"material": "Coton bio"}).where(Product.sku == "TSH-BIO").execute()
    unmapped = ensure_category_path("Arts de la table > Verres")
    Product.update(asin=None, category=unmapped).where(Product.sku == "PAN-28").execute()
    job, _result = export(catalog, "Amazon Listings Feed", **AMAZON_OPTIONS)
    messages = {e.product_id: (e.rule, e.message) for e in JobExclusion.select().where(JobExclusion.job == job.id)}
    assert messages[2] == (
        "required:product identifier",
        "product identifier is missing (one of attributes.externally_assigned_product_identifier.value, "
        "attributes.merchant_suggested_asin, attributes.supplier_declared_has_product_identifier_exemption is "
        "needed) (on the variation row)",
    )
    assert messages[1] == (
        "mapping:category",
        "no platform category is mapped for its categories (Arts de la table > Verres): add one to mappings.categories",
    )


def test_amazon_feed_needs_a_seller_id(catalog: Settings) -> None:
    with pytest.raises(TemplateError, match=r"options\.seller_id: the Amazon seller id is required"):
        export(catalog, "Amazon Listings Feed")


def test_amazon_flat_file_is_filled_into_the_merchants_category_template(catalog: Settings) -> None:
    _job, result = export(catalog, "Amazon Flat File", **FLAT_FILE_OPTIONS)
    assert result.files[0].path.suffix == ".txt"
    rows = read_csv(result.files[0].path.read_bytes(), delimiter="\t")
    template = read_csv((catalog.var_dir / "inputs" / AMAZON_CATEGORY_TEMPLATE).read_bytes(), delimiter="\t")
    assert rows[:3] == template[:3]  # TemplateType/version/signature, labels, attribute names: as downloaded
    assert rows[0][0] == "TemplateType=fptcustom"
    attributes = rows[2]
    items = {r["item_sku"]: r for r in (dict(zip(attributes, row, strict=True)) for row in rows[3:])}
    assert list(items) == ["PAN-28", "TSH-BIO", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L", "96385074"]
    assert all(row["recommended_browse_nodes"] == "" and row["lifestyle"] == "" for row in items.values())
    pan = items["PAN-28"]
    assert pan["feed_product_type"] == "SAUTE_FRY_PAN"
    assert {items[s]["feed_product_type"] for s in ("TSH-BIO", "TSH-BIO-S")} == {"SHIRT"}
    assert (pan["external_product_id"], pan["external_product_id_type"], pan["standard_price"]) == (
        "3760001200010",
        "EAN",
        "39.90",
    )
    assert pan["product_description"] == "Poêle en fonte d'aluminium & revêtement céramique. Ø 28 cm Garantie 5 ans"
    assert (pan["other_image_url1"], pan["other_image_url2"]) == ("https://cdn.example.com/pan-28-2.jpg", "")
    assert (pan["item_weight"], pan["item_weight_unit_of_measure"], pan["parent_child"]) == ("1.200", "KG", "")
    assert [items[s]["parent_child"] for s in ("TSH-BIO", "TSH-BIO-S")] == ["parent", "child"]
    assert items["TSH-BIO"]["standard_price"] == "" and items["TSH-BIO"]["variation_theme"] == "SizeColor"
    assert (items["TSH-BIO-L"]["size_name"], items["TSH-BIO-L"]["color_name"]) == ("L", "Blanc")
    assert items["TSH-BIO-L"]["external_product_id_type"] == "UPC"
    assert all(len(r["item_name"]) <= 200 and "\n" not in r["item_name"] for r in items.values())


def test_amazon_flat_file_checks_columns_against_the_templates_valid_values(catalog: Settings) -> None:
    inputs = catalog.var_dir / "inputs"
    # the Valid Values sheet as tab-delimited text: a group, then the column's label and its accepted values
    sheet = "Valid Values\n\tLibellé feed_product_type - [ kitchen ]\tSAUTE_FRY_PAN\tSHIRT\n\tcondition_type\tNew\n"
    (inputs / "valid.txt").write_text(sheet, encoding="utf-8")
    options = {"category_template": AMAZON_CATEGORY_TEMPLATE, "valid_values": "valid.txt"}
    _job, result = export(catalog, "Amazon Flat File", options=options)
    assert result.files and result.excluded == len(EXCLUDED["Amazon Flat File"])
    (inputs / "valid.txt").write_text(sheet.replace("\tSHIRT", ""), encoding="utf-8")
    with pytest.raises(OutputError, match=r"feed_product_type 'SHIRT' is not a value the category template accepts "
                       r"\(its Valid Values: SAUTE_FRY_PAN\)"):  # fmt: skip
        export(catalog, "Amazon Flat File", options=options)
    with pytest.raises(OutputError, match=r"'missing\.txt' is not in the inputs folder"):
        export(catalog, "Amazon Flat File", options={**options, "valid_values": "missing.txt"})


def test_amazon_flat_file_needs_the_category_template(catalog: Settings) -> None:
    with pytest.raises(TemplateError, match=r"options\.category_template: name the category template"):
        export(catalog, "Amazon Flat File")
    with pytest.raises(TemplateError, match=r"options\.category_template: must be a plain file name"):
        export(catalog, "Amazon Flat File", options={"category_template": "../secrets.txt"})
    with pytest.raises(OutputError, match=r"'other\.txt' is not in the inputs folder"):
        export(catalog, "Amazon Flat File", options={"category_template": "other.txt"})
    (catalog.var_dir / "inputs" / "made-up.txt").write_text("item_sku\titem_name\n", encoding="utf-8")
    with pytest.raises(OutputError, match="does not have Amazon's three header rows"):
        export(catalog, "Amazon Flat File", options={"category_template": "made-up.txt"})
    narrow = "TemplateType=fptcustom\tVersion=1\nSKU\tTitle\nitem_sku\titem_name\n"
    (catalog.var_dir / "inputs" / "narrow.txt").write_text(narrow, encoding="utf-8")
    with pytest.raises(OutputError, match=r"'narrow\.txt' has no column feed_product_type, update_delete"):
        export(catalog, "Amazon Flat File", options={"category_template": "narrow.txt"})


# ---------------------------------------------------------------------------------------------------------
# Google Shopping

GOOGLE_REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price")
AVAILABILITY = {"in_stock", "out_of_stock", "preorder", "backorder"}


def check_google_item(item: dict[str, list[str]]) -> None:
    """One item against ../shared/specs/google/merchant_attributes.md."""
    for name in GOOGLE_REQUIRED:
        assert item.get(name) and item[name][0], f"item {item.get('id')} lacks {name}"
    assert len(item["id"][0]) <= 50 and len(item["title"][0]) <= 150 and len(item["description"][0]) <= 5000
    assert re.fullmatch(r"\d+\.\d{2} [A-Z]{3}", item["price"][0])
    assert item["availability"][0] in AVAILABILITY
    assert all(re.match(r"https?://", url) for url in item["link"] + item["image_link"])
    assert len(item.get("additional_image_link", [])) <= 10
    gtin = (item.get("gtin") or [""])[0]
    if gtin:
        assert is_valid_gtin(gtin)
    has_brand_mpn = bool(item.get("brand")) and bool(item.get("mpn"))
    expected = [] if gtin or has_brand_mpn else ["no"]
    assert item.get("identifier_exists", []) == expected
    assert len((item.get("brand") or [""])[0]) <= 70


def test_google_xml_parses_with_the_g_namespace_and_every_item_is_complete(catalog: Settings) -> None:
    text = shared_spec("google/merchant_attributes.md").read_text(encoding="utf-8")
    assert GOOGLE_NAMESPACE in text
    _job, result = export(catalog, "Google Shopping", options={"link": "https://boutique.example.com"})
    data = result.files[0].path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g=')
    root = ET.fromstring(data)  # noqa: S314 - our own output
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None and channel.findtext("link") == "https://boutique.example.com"
    items = []
    for element in channel.findall("item"):
        item: dict[str, list[str]] = {}
        for child in element:
            name = child.tag.removeprefix(G)
            assert child.tag.startswith(G) or name in ("title", "description", "link")
            item.setdefault(name, []).append(child.text or "")
        check_google_item(item)
        items.append(item)
    by_id = {i["id"][0]: i for i in items}
    assert list(by_id) == ["PAN-28", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L", "LONG-TITLE", "96385074"]
    assert [by_id[v]["item_group_id"] for v in ("TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L")] == [["TSH-BIO"]] * 3
    assert "item_group_id" not in by_id["PAN-28"]
    assert by_id["PAN-28"]["title"] == ["Poêle « Éloïse » 28 cm, fonte & céramique"]
    assert by_id["PAN-28"]["price"] == ["39.90 EUR"] and by_id["TSH-BIO-M"]["price"] == ["21.00 EUR"]
    assert by_id["TSH-BIO-L"]["availability"] == ["out_of_stock"]
    assert by_id["TSH-BIO-S"]["identifier_exists"] == ["no"]  # no GTIN and no MPN
    assert by_id["TSH-BIO-S"]["additional_image_link"] == [
        "https://cdn.example.com/tsh-bio-2.jpg",
        "https://cdn.example.com/tsh-bio-3.jpg",
    ]
    assert (by_id["TSH-BIO-S"]["size"], by_id["TSH-BIO-S"]["color"]) == (["S"], ["Blanc"])
    long_title = by_id["LONG-TITLE"]["title"][0]
    assert len(long_title) <= 150 and LONG_TITLE.startswith(long_title)  # Google truncates: so do we, on a word


def test_google_tsv_reads_back_with_the_same_items(catalog: Settings) -> None:
    _job, result = export(catalog, "Google Shopping TSV")
    rows = read_csv(result.files[0].path.read_bytes(), delimiter="\t")
    xml_spec = ExportSpec.from_dict(resolve_request("Google Shopping").spec.to_dict())
    assert rows[0] == [c["header"].removeprefix("g:") for c in xml_spec.columns]
    items = as_dicts(rows)
    for row in items:
        item = {k: (v.split(",") if k == "additional_image_link" else [v]) for k, v in row.items() if v}
        check_google_item(item)
    assert [r["id"] for r in items] == ["PAN-28", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L", "LONG-TITLE", "96385074"]
    assert len(result.files[0].path.read_text("utf-8").splitlines()) == len(rows)  # one line per item: no quoted breaks


# ---------------------------------------------------------------------------------------------------------
# Odoo


def test_odoo_csv_uses_product_template_import_fields(catalog: Settings) -> None:
    _job, result = export(catalog, "Odoo Products")
    rows = read_csv(result.files[0].path.read_bytes())
    assert set(rows[0]) <= ODOO_PRODUCT_TEMPLATE_FIELDS, set(rows[0]) - ODOO_PRODUCT_TEMPLATE_FIELDS
    items = {r["id"]: r for r in as_dicts(rows) if r["id"]}  # the others are attribute-line sub-rows
    assert all(re.fullmatch(r"pm_exports\.product_\d+", external_id) for external_id in items)
    sub_rows = [r for r in as_dicts(rows) if not r["id"]]
    assert sub_rows and all(r["attribute_line_ids/id"] and not r["name"] and not r["type"] for r in sub_rows)
    pan = items["pm_exports.product_1"]
    assert (pan["name"], pan["default_code"], pan["barcode"]) == (
        "Poêle « Éloïse » 28 cm, fonte & céramique",
        "PAN-28",
        "3760001200010",
    )
    assert (pan["list_price"], pan["taxes_id"], pan["standard_price"], pan["categ_id"]) == (
        "39.90",  # tax-included, with a price-included tax: Odoo shows 39.90 back
        "TVA 20% TTC",
        "15.20",
        "All / Maison / Cuisine / Poêles",
    )
    assert (pan["active"], pan["type"], pan["weight"]) == ("True", "consu", "1.200")
    assert items["pm_exports.product_8"]["active"] == "False"  # inactive: archived in Odoo
    assert "pm_exports.product_3" not in items and "pm_exports.product_9" not in items


# ---------------------------------------------------------------------------------------------------------
# The feed writers alone

XML_COLUMNS = [
    ColumnInfo("g:id"),
    ColumnInfo("title"),
    ColumnInfo("g:additional_image_link", "list"),
    ColumnInfo("g:shipping", "object"),
]


def test_google_xml_writer_escapes_repeats_nests_and_omits(tmp_path: Path) -> None:
    ctx = make_ctx(
        tmp_path, XML_COLUMNS, {"title": "Shop & Co", "link": "https://shop.example.com"}, writer=GoogleXmlWriter
    )
    rows = [
        [
            "A<1>",
            'Tom & "Jerry"\x00\x0b',
            ["https://x/1.jpg", "", "https://x/2.jpg"],
            {"country": "FR", "price": Decimal("4.90")},
        ],
        ["B", "Line\r\nbreak", [], None],
        ["C", True, None, {}],
    ]
    (output,) = run_writer(GoogleXmlWriter, ctx, rows)
    root = ET.parse(output.path).getroot()  # noqa: S314 - our own output
    channel = root.find("channel")
    assert channel is not None and channel.findtext("title") == "Shop & Co"
    first, second, third = channel.findall("item")
    assert first.findtext(f"{G}id") == "A<1>" and first.findtext("title") == 'Tom & "Jerry"'
    assert [e.text for e in first.findall(f"{G}additional_image_link")] == ["https://x/1.jpg", "https://x/2.jpg"]
    shipping = first.find(f"{G}shipping")
    assert shipping is not None and [(c.tag, c.text) for c in shipping] == [
        (f"{G}country", "FR"),
        (f"{G}price", "4.90"),
    ]
    assert second.findtext("title") == "Line\r\nbreak" and [c.tag for c in second] == [f"{G}id", "title"]
    assert [(c.tag, c.text) for c in third] == [(f"{G}id", "C"), ("title", "yes")]
    assert output.rows == 3 and output.content_type == "application/rss+xml"


@pytest.mark.parametrize("header", ["g:price x", "x:id", "1title", "g:"])
def test_google_xml_writer_refuses_headers_that_are_not_element_names(tmp_path: Path, header: str) -> None:
    with pytest.raises(TemplateError, match="element name"):
        GoogleXmlWriter(make_ctx(tmp_path, [ColumnInfo(header)], writer=GoogleXmlWriter))
    assert folder_names(tmp_path) == []


FEED_COLUMNS = [
    ColumnInfo("sku"),
    ColumnInfo("attributes.item_name"),
    ColumnInfo("attributes.bullet_point", "list"),
    ColumnInfo("attributes.purchasable_offer.our_price.0.schedule.0.value_with_tax", "money"),
    ColumnInfo("attributes.purchasable_offer.currency"),
    ColumnInfo("attributes.fulfillment_availability.quantity", "integer"),
    ColumnInfo("operation_type"),
]
FEED_OPTIONS = {
    "seller_id": "S1",
    "marketplace_id": "M1",
    "language_tag": "fr_FR",
    "max_messages": 3,
    "product_type": "SAUTE_FRY_PAN",
}


def feed_rows(count: int) -> list[list[Any]]:
    return [
        [f"SKU-{i}", f"Produit n°{i}", ["Un", "", "Deux"][: 1 + i % 3], Decimal("9.90") + i, "EUR", i, None]
        for i in range(count)
    ]


def test_amazon_json_writer_builds_attributes_from_headers(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, FEED_COLUMNS, FEED_OPTIONS, writer=AmazonJsonWriter)
    rows = feed_rows(7)
    rows[1][-1] = "delete"
    outputs = run_writer(AmazonJsonWriter, ctx, rows)
    assert [o.rows for o in outputs] == [3, 3, 1]
    documents = [json.loads(o.path.read_bytes()) for o in outputs]
    for document in documents:
        assert_valid_feed(document)
    first, deleted, third = documents[0]["messages"]
    assert deleted == {"messageId": 2, "sku": "SKU-1", "operationType": "DELETE"}
    assert first["attributes"] == {
        "item_name": [{"value": "Produit n°0", "language_tag": "fr_FR", "marketplace_id": "M1"}],
        "bullet_point": [{"value": "Un", "language_tag": "fr_FR", "marketplace_id": "M1"}],
        "purchasable_offer": [
            {"our_price": [{"schedule": [{"value_with_tax": 9.9}]}], "currency": "EUR", "marketplace_id": "M1"}
        ],
        "fulfillment_availability": [{"quantity": 0}],
    }
    assert [b["value"] for b in third["attributes"]["bullet_point"]] == ["Un", "Deux"]  # the empty item is left out


def test_amazon_json_writer_refuses_what_it_cannot_map(tmp_path: Path) -> None:
    for columns, message in (
        ([ColumnInfo("title")], "attributes.<name>"),
        ([ColumnInfo("attributes.item_name")], "needs a column with the header 'sku'"),
        ([ColumnInfo("sku"), ColumnInfo("attributes.x..y")], "dotted names or positions"),
    ):
        with pytest.raises(TemplateError, match=re.escape(message)):
            AmazonJsonWriter(make_ctx(tmp_path, columns, FEED_OPTIONS, writer=AmazonJsonWriter))
    with pytest.raises(TemplateError, match=r"options\.marketplace_id"):
        AmazonJsonWriter.validate_options({"seller_id": "S1", "language_tag": "fr_FR"})
    with pytest.raises(TemplateError, match=r"options\.max_messages"):
        AmazonJsonWriter.validate_options({**FEED_OPTIONS, "max_messages": 25_001})
    writer = AmazonJsonWriter(make_ctx(tmp_path, FEED_COLUMNS, FEED_OPTIONS, writer=AmazonJsonWriter))
    with pytest.raises(OutputError, match="empty sku"):
        writer.write([None, "x", [], None, None, None, None], {})
    writer.abort()
    assert folder_names(tmp_path) == []
    empty = AmazonJsonWriter(make_ctx(tmp_path, FEED_COLUMNS, FEED_OPTIONS, writer=AmazonJsonWriter))
    assert empty.close() == [] and folder_names(tmp_path) == []  # a feed needs a message: no file at all


def test_feed_writer_refuses_another_formats_checkpoint(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, XML_COLUMNS, {"link": "https://shop.example.com"}, writer=GoogleXmlWriter)
    with pytest.raises(OutputError, match="not a version 1 google_xml state"):
        GoogleXmlWriter.resume(ctx, {"format": "csv", "version": 1, "file": "x", "offset": 0, "rows": 0})


# ---------------------------------------------------------------------------------------------------------
# The row transformations the platform templates use


def rows_of(columns: list[dict[str, Any]], mode: str, record: dict[str, Any]) -> list[list[Any]]:
    compiled = compile_columns(columns, mode)
    return [values for values, _row in compiled.rows(record)]


VARIABLE = {
    "id": 1,
    "sku": "P",
    "ean": "3760001200027",
    "price": Decimal("10.00"),
    "stock": 4,
    "weight": None,
    "images": [{"url": "u1"}, {"url": "u2"}, {"url": "u3"}],
    "variants": [
        {"sku": "P-S", "ean": None, "options": {"Taille": "S", "Couleur": "Bleu"}, "price": None, "image_url": "vs"},
        {"sku": None, "ean": "96385074", "options": {"Taille": "M", "Couleur": "Bleu"}, "price": None},
    ],
}


def test_from_variant_or_field_and_when_choose_per_row() -> None:
    columns = [
        {"header": "kind", "source": "row.kind"},
        {"header": "sku", "source": "sku", "transforms": [{"name": "from_variant", "field": "sku"}]},
        {
            "header": "image",
            "source": "images[0].url",
            "transforms": [{"name": "from_variant", "field": "image_url", "fallback": True}],
        },
        {"header": "id", "source": "variant.sku", "transforms": [{"name": "or_field", "field": "variant.ean"}]},
        {"header": "group", "source": "sku", "transforms": [{"name": "when", "field": "row.has_variants"}]},
    ]
    assert rows_of(columns, "parent_variants", VARIABLE) == [
        ["parent", "P", "u1", None, "P"],
        ["variation", "P-S", "vs", "P-S", "P"],
        ["variation", None, "u1", "96385074", "P"],
    ]
    simple = {**VARIABLE, "variants": []}
    assert rows_of(columns, "variants", simple) == [["variant", "P", "u1", "P", None]]


def test_list_and_object_transformations() -> None:
    columns = [
        {
            "header": "names",
            "source": "variants[0].options",
            "transforms": ["keys", {"name": "join", "separator": "/"}],
        },
        {"header": "sizes", "source": "variants.options", "transforms": [{"name": "pluck", "index": 0}, "unique"]},
        {
            "header": "colours",
            "source": "variants.options",
            "transforms": [{"name": "pluck", "key": ["color", "couleur"]}, "unique"],
        },
        {"header": "more", "source": "images.url", "transforms": [{"name": "slice", "start": 1, "stop": 2}]},
        {"header": "ean", "source": "ean", "transforms": ["gtin_valid"]},
    ]
    assert rows_of(columns, "product", VARIABLE) == [["Taille/Couleur", ["S", "M"], ["Bleu"], ["u2"], "3760001200027"]]
    assert rows_of(columns[-1:], "product", {**VARIABLE, "ean": "3760001200028"}) == [[None]]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"name": "or_field", "field": "title"}, "is not loaded for every row"),
        ({"name": "when", "field": "nope"}, "unknown field 'nope'"),
        ({"name": "from_variant", "field": "colour"}, "unknown variant field 'colour'"),
        ({"name": "pluck"}, "give exactly one of key or index"),
        ({"name": "pluck", "key": []}, "non-empty list of names"),
    ],
)
def test_row_transformations_check_their_arguments(step: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        compile_columns([{"header": "x", "source": "sku", "transforms": [step]}], "variants")


def test_amazon_delta_feed_sends_only_changes_and_deletes_removed_products(catalog: Settings) -> None:
    from engine.catalog.store import delete_products, upsert_product

    first = json.loads(
        export(catalog, "Amazon Listings Feed", delta=True, **AMAZON_OPTIONS)[1].files[0].path.read_bytes()
    )
    skus = ["PAN-28", "TSH-BIO", "TSH-BIO-S", "TSH-BIO-M", "TSH-BIO-L", "96385074"]
    assert [m["sku"] for m in first["messages"]] == skus
    upsert_product({"sku": "PAN-28", "price": "59.00"})
    delete_products(skus=["TSH-BIO"])
    _job, result = export(catalog, "Amazon Listings Feed", delta=True, **AMAZON_OPTIONS)
    document = json.loads(result.files[0].path.read_bytes())
    assert_valid_feed(document)
    assert [(m["sku"], m["operationType"]) for m in document["messages"]] == [
        ("PAN-28", "UPDATE"),
        ("TSH-BIO", "DELETE"),
    ]
    assert [m["messageId"] for m in document["messages"]] == [1, 2]
    assert (result.exported, result.removed) == (1, 1) and len(result.files) == 1  # no separate removed list
