"""One contract per platform, run on a demo catalogue plus hard cases: each file is read the way the platform's
importer reads it (WooCommerce's comma and escape rules and SKU parents, PrestaShop by position, Odoo's
many2one by name, the Amazon schemas, Google's item groups), and every exclusion names a platform requirement.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from engine.catalog.demo import seed_demo
from engine.catalog.gtin import is_valid_gtin
from engine.catalog.models import Category, Product, Variant
from engine.catalog.store import upsert_product
from engine.formats.odoo_csv import COMBINED, attribute_lines
from engine.models import JobExclusion
from engine.services.exports import resolve_request, run_inline
from engine.services.templates import get_template
from engine.settings import Settings
from tests import odoo_import as odoo
from tests.platform_catalog import AMAZON_CATEGORY_TEMPLATE, write_amazon_category_template
from tests.test_platforms import (
    GOOGLE_NAMESPACE,
    PRESTASHOP_PRODUCT_FIELDS,
    assert_valid_feed,
    woo_explode,
)

HARD_CASES: list[dict[str, Any]] = [
    {  # no SKU, no category, a line break, quotes, a comma and a formula character in the title
        "ean": "4006381333931",
        "title": '=Bougie "Ambre", cire\nvégétale',
        "brand": "Atelier",
        "price": "9.99",  # rounds badly tax-excluded at 20 %
        "status": "active",
        "description": "Cire; mèche coton, 40 h",
        "bullet_points": ["40 h", "Cire végétale"],
        "images": ["https://cdn.example.com/hard-1.jpg"],
        "attributes": {"url": "https://shop.example.com/p/hard-1"},
    },
    {  # an option with an unusual name, values with commas, a category
        "sku": "HARD-2",
        "ean": "4006381333948",
        "title": "+Huile d'olive, première pression",
        "brand": "Moulin",
        "price": "12.35",
        "status": "active",
        "category": "Épicerie fine > Condiments > Huiles d'olive",
        "description": "Huile",
        "bullet_points": ["Vierge extra"],
        "images": ["https://cdn.example.com/hard-2.jpg"],
        "attributes": {"url": "https://shop.example.com/p/hard-2"},
        "variants": [
            {"sku": "HARD-2-A", "ean": "4006381333955", "options": {"Gravure": "Oui, dorée"}, "stock": 2},
            {"sku": "HARD-2-B", "ean": "4006381333962", "options": {"Gravure": "Non"}, "stock": 0},
        ],
    },
    {  # options Odoo cannot generate as one line each (not every combination exists), a comma in a value
        "sku": "HARD-4",
        "ean": "4006381333986",
        "title": "Huile de noix",
        "brand": "Moulin",
        "price": "8.40",
        "tax_rate": "5.5",
        "status": "active",
        "category": "Épicerie fine > Condiments > Huiles d'olive",
        "description": "Huile",
        "bullet_points": ["Pression à froid"],
        "images": ["https://cdn.example.com/hard-4.jpg"],
        "attributes": {"url": "https://shop.example.com/p/hard-4"},
        "variants": [
            {"sku": "HARD-4-A", "ean": "4006381333993", "options": {"Contenance": "1,5 L", "Bouchon": "Liège"}},
            {"sku": "HARD-4-B", "ean": "4006381334006", "options": {"Contenance": "50 cl", "Bouchon": "Vis"}},
        ],
    },
    {  # apparel without gender nor age group: Google requires both for Apparel & Accessories
        "sku": "HARD-3",
        "ean": "4006381333979",
        "title": "Robe portefeuille",
        "brand": "Atelier",
        "price": "49.90",
        "status": "active",
        "category": "Mode > Femme > Robes",
        "description": "Robe en lin",
        "bullet_points": ["Lin lavé"],
        "images": ["https://cdn.example.com/hard-3.jpg"],
        "attributes": {"url": "https://shop.example.com/p/hard-3"},
    },
]
# the price-included sales taxes the Odoo template names (the merchant creates them, or edits the template's map)
ODOO_PRICE_INCLUDED_TAXES = {
    "TVA 20% TTC": Decimal("20"),
    "TVA 10% TTC": Decimal("10"),
    "TVA 5.5% TTC": Decimal("5.5"),
    "TVA 2.1% TTC": Decimal("2.1"),
}
OPTIONS = {
    "Amazon Listings Feed": {"seller_id": "A1PMEXPORTS"},
    "Amazon Flat File": {"category_template": AMAZON_CATEGORY_TEMPLATE},
    "Google Shopping": {"link": "https://shop.example.com"},
}
# what each platform requires, by rule id prefix: an exclusion under anything else is over-exclusion
REQUIREMENT_RULES = {
    "Shopify Standard": {"gtin", "positive", "max_length", "required", "min_completeness"},
    "WooCommerce Standard": {"gtin", "positive", "required", "min_completeness"},
    "PrestaShop Standard": {"gtin", "positive", "max_length", "required", "min_completeness"},
    "Odoo Products": {"gtin", "required", "enum"},
    "Google Shopping": {
        "gtin",
        "positive",
        "required",
        "regex",
        "max_length",
        "min_count",
        "min_completeness",
        "mapping",
    },
    "Amazon Listings Feed": {
        "gtin",
        "positive",
        "max_length",
        "required",
        "min_count",
        "min_completeness",
        "mapping",
    },
    "Amazon Flat File": {"gtin", "positive", "max_length", "required", "min_count", "min_completeness", "mapping"},
}


@pytest.fixture
def catalogue(db: Settings) -> Settings:
    seed_demo(400, seed=7)
    for product in HARD_CASES:
        upsert_product(product)
    bad = Product.select().where(Product.ean.is_null(False)).order_by(Product.id).first()
    Product.update(ean=bad.ean[:12] + str((int(bad.ean[12]) + 1) % 10)).where(Product.id == bad.id).execute()
    headers = [c["header"] for c in get_template("Amazon Flat File").spec["columns"]]
    write_amazon_category_template(db.var_dir / "inputs", headers)
    return db


def export(settings: Settings, template: str) -> tuple[bytes, dict[int, tuple[str, str]]]:
    job, result = run_inline(
        resolve_request(template, {"options": OPTIONS.get(template, {})}), settings, out_dir=settings.export_dir
    )
    exclusions = {e.product_id: (e.rule, e.message) for e in JobExclusion.select().where(JobExclusion.job == job.id)}
    assert result.files, f"{template} wrote no file"
    return result.files[0].path.read_bytes(), exclusions


def check_exclusions(template: str, exclusions: dict[int, tuple[str, str]]) -> None:
    allowed = REQUIREMENT_RULES[template]
    for product_id, (rule, message) in exclusions.items():
        assert rule.split(":")[0] in allowed, (template, product_id, rule)
        assert message.strip(), (template, product_id)


def rows_of(data: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter))


def test_woocommerce_contract(catalogue: Settings) -> None:
    data, exclusions = export(catalogue, "WooCommerce Standard")
    check_exclusions("WooCommerce Standard", exclusions)
    header, *body = rows_of(data, ",")
    items = [dict(zip(header, row, strict=True)) for row in body]
    seen: dict[str, dict[str, str]] = {}
    for item in items:
        assert "\n" not in item["Name"] and not item["Name"].startswith("'")
        if item["Type"] in ("simple", "variable"):
            assert item["SKU"], "a product the importer cannot reference"
            seen[item["SKU"]] = item
        if item["Type"] == "variation":
            parent = seen[item["Parent"]]  # parse_relative_field: an SKU met before
            for n in (1, 2, 3):
                if item[f"Attribute {n} name"]:
                    assert woo_explode(item[f"Attribute {n} value(s)"])[0] in woo_explode(
                        parent[f"Attribute {n} value(s)"]
                    )
    hard = next(i for i in items if i["Name"].startswith("+Huile"))
    assert woo_explode(hard["Attribute 1 value(s)"]) == ["Oui, dorée", "Non"]


def test_prestashop_contract(catalogue: Settings) -> None:
    data, exclusions = export(catalogue, "PrestaShop Standard")
    check_exclusions("PrestaShop Standard", exclusions)
    header, *body = rows_of(data, ";")
    references = set()
    for row in body:
        product = dict(zip(PRESTASHOP_PRODUCT_FIELDS, row, strict=False))
        assert len(row) == len(header)
        assert product["reference"] and product["reference"] not in references  # a stable re-import key
        references.add(product["reference"])
        assert product["name"] and len(product["name"]) <= 128 and not set(product["name"]) & set("<>;=#{}\n")
        assert not product["ean13"] or is_valid_gtin(product["ean13"])
        assert product["price_tex"] and float(product["price_tex"]) > 0


def odoo_database() -> odoo.Database:
    """What the merchant's Odoo holds before the import: the categories by complete name, the price-included
    sales taxes the template names."""
    db = odoo.Database()
    for path in ["", *(c.path for c in Category.select())]:
        db.add("product.category", {"name": " / ".join(["All", *path.split(" > ")]) if path else "All"})
    for name in ODOO_PRICE_INCLUDED_TAXES:
        db.add("account.tax", {"name": name})
    return db


def catalogue_variants(product: Product) -> list[dict[str, str]]:
    """The product's variants as {option: value}, the way attribute_lines combines them when Odoo could not
    generate exactly them from one line per option."""
    variants = []
    for variant in product.variants.order_by(Variant.position):
        names = (variant.option1_name, variant.option2_name, variant.option3_name)
        values = (variant.option1_value, variant.option2_value, variant.option3_value)
        options = {n: v for n, v in zip(names, values, strict=True) if n and v}
        if options and options not in variants:
            variants.append(options)
    lines = attribute_lines([{"options": v} for v in variants])
    if len(lines) == 1 and COMBINED in lines[0][0]:
        names = lines[0][0]
        return [{names: COMBINED.join(v.values())} for v in variants]
    return variants


def test_odoo_contract(catalogue: Settings) -> None:
    job, result = run_inline(resolve_request("Odoo Products", {}), catalogue, out_dir=catalogue.export_dir)
    exclusions = {e.product_id: (e.rule, e.message) for e in JobExclusion.select().where(JobExclusion.job == job.id)}
    check_exclusions("Odoo Products", exclusions)
    products_file, attributes_file = result.files
    assert attributes_file.path.name == products_file.path.name.replace(".csv", "-attributes.csv")
    db = odoo_database()
    # the attributes first, then the products (the order PLATFORMS.md gives); a second run changes nothing
    for _run in (1, 2):
        odoo.load(db, "product.attribute", attributes_file.path.read_bytes())
        template_ids = odoo.load(db, "product.template", products_file.path.read_bytes())
        counts = {model: len(records) for model, records in db.records.items()}
        if _run == 1:
            first_counts = counts
    assert counts == first_counts, "a re-import must update, never duplicate"
    assert not db.warnings
    templates = db.table("product.template")
    categories = db.table("product.category")
    taxes = db.table("account.tax")
    assert len(template_ids) == len(set(template_ids)) == len(templates)
    catalogue_count = Product.select().where(Product.status.in_(["active", "inactive"])).count()
    assert len(templates) + len(exclusions) == catalogue_count
    with_variants = 0
    for xid, (model, index) in db.xids.items():
        if model != "product.template":
            continue
        template = templates[index]
        product = Product.get_by_id(int(xid.removeprefix("pm_exports.product_")))
        # categ_id: a required many2one, found by complete name under the root category "All"
        assert categories[template["categ_id"]]["name"].startswith("All"), xid
        assert "\n" not in template["name"]
        # the price Odoo shows back: list_price stored at the "Product Price" precision (2 decimals), and with a
        # price-included tax (many2many by name, split on commas) the tax-included total is list_price itself
        rate = sum((ODOO_PRICE_INCLUDED_TAXES[taxes[t]["name"]] for t in template["taxes_id"]), Decimal(0))
        assert rate == (product.tax_rate or Decimal(0)), xid
        if product.price is None:
            assert template["list_price"] is None, xid  # an ERP record may get its price later
        else:
            assert Decimal(template["list_price"]).quantize(Decimal("0.01")) == product.price, xid
        # the variants Odoo generates are exactly the catalogue's
        generated = odoo.generate_variants(db, template)
        expected = catalogue_variants(product)
        with_variants += bool(expected)
        key = lambda v: sorted(v.items())  # noqa: E731
        assert sorted(map(key, generated)) == sorted(map(key, expected)) or (not expected and generated == [{}]), xid
    assert with_variants > 50
    values = {v["name"] for v in db.table("product.attribute.value")}
    assert {"Oui, dorée", "1,5 L"} <= values  # commas inside values reach Odoo whole


@pytest.mark.parametrize("template", ["Amazon Listings Feed"])
def test_amazon_feed_contract(catalogue: Settings, template: str) -> None:
    data, exclusions = export(catalogue, template)
    check_exclusions(template, exclusions)
    document = json.loads(data)
    assert_valid_feed(document)
    themes = set(get_template(template).spec["mappings"]["themes"].values())
    allowed = get_template(template).spec["mappings"]["allowed_themes"]
    for message in document["messages"]:
        offer_only = message["requirements"] == "LISTING_OFFER_ONLY"
        assert message["productType"] != "PRODUCT" or offer_only
        attributes = message["attributes"]
        if "variation_theme" in attributes:
            theme = attributes["variation_theme"][0]["name"]
            assert theme in themes and theme in allowed.get(message["productType"], [theme]), message["sku"]
        if "purchasable_offer" in attributes and not offer_only:
            identified = {
                "externally_assigned_product_identifier",
                "merchant_suggested_asin",
                "supplier_declared_has_product_identifier_exemption",
            }
            assert identified & set(attributes), message["sku"]
    assert any(rule == "mapping:theme" and "Gravure" in message for rule, message in exclusions.values())


def test_amazon_flat_file_contract(catalogue: Settings) -> None:
    data, exclusions = export(catalogue, "Amazon Flat File")
    check_exclusions("Amazon Flat File", exclusions)
    rows = rows_of(data, "\t")
    assert rows[0][0].startswith("TemplateType=")
    for row in (dict(zip(rows[2], r, strict=True)) for r in rows[3:]):
        assert row["feed_product_type"] and row["item_sku"] and "\n" not in row["item_name"]
        if row["parent_child"] != "parent":  # buyable: a GTIN or the brand's exemption, as in the listings feed
            assert row["external_product_id"] or row["supplier_declared_has_product_identifier_exemption"] == "Yes"
    assert any(rule == "required:product identifier" for rule, _message in exclusions.values())


def test_google_contract(catalogue: Settings) -> None:
    data, exclusions = export(catalogue, "Google Shopping")
    check_exclusions("Google Shopping", exclusions)
    channel = ET.fromstring(data).find("channel")  # noqa: S314 - our own output
    assert channel is not None and channel.findtext("link") == "https://shop.example.com"
    groups: dict[str, list[tuple[str | None, ...]]] = defaultdict(list)
    g = f"{{{GOOGLE_NAMESPACE}}}"
    for item in channel.iter("item"):
        assert "\n" not in (item.findtext("title") or "")
        group = item.findtext(f"{g}item_group_id")
        if group:
            declared = ("color", "size", "material", "pattern", "gender", "age_group")
            groups[group].append(tuple(item.findtext(f"{g}{name}") for name in declared))
    assert groups
    for item in channel.iter("item"):  # gender and age group on every apparel item (Google: required)
        if (item.findtext(f"{g}google_product_category") or "").startswith("Apparel & Accessories"):
            assert item.findtext(f"{g}gender") in {"male", "female", "unisex"}, item.findtext(f"{g}id")
            assert item.findtext(f"{g}age_group") in {"newborn", "infant", "toddler", "kids", "adult"}
    hard_3 = Product.get(Product.sku == "HARD-3").id
    rule, message = exclusions[hard_3]
    assert rule == "required:gender" and "Apparel & Accessories" in message, message
    # an option Google has no attribute for cannot tell variants apart: excluded, naming the option
    assert any(rule == "mapping:attributes" and "Gravure" in message for rule, message in exclusions.values())
    for group, variants in groups.items():
        assert len(set(variants)) == len(variants), f"item group {group}: variants not told apart"
