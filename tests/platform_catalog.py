"""A small fixed catalogue for the platform templates: complete products (so that the channels' completeness
minimums pass), a variable product with 3 variants, accents and HTML, and the bad data each platform must
exclude: a bad EAN check digit, no price, a 300-character title, no image, a low completeness score.

Ids follow the order of PRODUCTS (1..10). The bad EAN cannot go through the store (it refuses it on input),
so it is written afterwards with a direct update.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from engine.catalog.models import Product
from engine.catalog.store import (
    CategoryIndex,
    SupplierIndex,
    ensure_category_path,
    ensure_supplier,
    upsert_product,
)

FIXED_TIME = dt.datetime(2026, 3, 14, 9, 26, 53)
CDN = "https://cdn.example.com"
SHOP = "https://boutique.example.com/produits"
BAD_EAN = "3760001200035"  # 376000120003 + 5: the right check digit is 4
LONG_TITLE = ("Casserole professionnelle en inox brossé " * 8)[:299] + "X"  # 300 characters


def _complete(sku: str, ean: str | None, title: str, **extra: Any) -> dict[str, Any]:
    """A product that meets every completeness criterion (score 100) unless `extra` removes some."""
    slug = (sku or ean or "product").lower()
    product: dict[str, Any] = {
        "sku": sku,
        "ean": ean,
        "title": title,
        "brand": "Maison Éloïse",
        "status": "active",
        "price": "39.90",
        "compare_at_price": "49.90",
        "cost_price": "15.20",
        "tax_rate": "20",
        "stock": 8,
        "weight": "1.2",
        "width": "28",
        "height": "5",
        "depth": "45",
        "asin": ("B0" + slug.replace("-", "").upper() + "00000000")[:10],
        "mpn": f"ME-{sku}",
        "category": "Maison > Cuisine > Poêles",
        "tags": ["cuisine", "induction"],
        "attributes": {"color": "Noir", "material": "Fonte d'aluminium", "url": f"{SHOP}/{slug}"},
        "bullet_points": ["Tous feux dont induction", "Revêtement sans PFOA", "Poignée ergonomique"],
        "description": "<p>Poêle en fonte d'aluminium &amp; revêtement <strong>céramique</strong>.</p>"
        "<ul><li>Ø 28 cm</li><li>Garantie 5 ans</li></ul>",
        "short_description": "Poêle légère, chauffe vite et uniformément",
        "images": [{"url": f"{CDN}/{slug}-1.jpg", "alt": "Vue de face"}, f"{CDN}/{slug}-2.jpg"],
        "suppliers": [{"code": "SUP-FR", "supplier_sku": f"F-{slug.upper()}", "cost_price": "15.20", "stock": 30}],
        "seo_title": f"{title[:50]} | Maison Éloïse",
        "seo_description": "Ustensiles de cuisine durables, livrés en 48 h",
    }
    product.update(extra)
    return product


PRODUCTS: list[dict[str, Any]] = [
    # 1: complete simple product, accents, HTML, a short description a spreadsheet would read as a formula
    _complete(
        "PAN-28", "3760001200010", "Poêle « Éloïse » 28 cm, fonte & céramique", short_description="-20 % cette semaine"
    ),
    # 2: variable product with 3 variants (one without EAN, one with a UPC, one with its own price and image)
    _complete(
        "TSH-BIO",
        "3760001200027",
        "T-shirt coton bio; coupe droite",
        price="19.00",
        compare_at_price=None,
        weight="0.2",
        mpn=None,
        category="Mode > Hauts",
        attributes={
            "material": "Coton bio",
            "gender": "mixte",
            "age_group": "adulte",
            "url": f"{SHOP}/tsh-bio",
            "amazon_gtin_exemption": True,
        },
        images=[f"{CDN}/tsh-bio-1.jpg", f"{CDN}/tsh-bio-2.jpg", f"{CDN}/tsh-bio-3.jpg"],
        variants=[
            {"sku": "TSH-BIO-S", "options": {"Taille": "S", "Couleur": "Blanc"}, "stock": 5},
            {
                "sku": "TSH-BIO-M",
                "ean": "3760001200089",
                "options": {"Taille": "M", "Couleur": "Blanc"},
                "stock": 12,
                "price": "21.00",
                "image_url": f"{CDN}/tsh-bio-m.jpg",
            },
            {"sku": "TSH-BIO-L", "ean": "036000291452", "options": {"Taille": "L", "Couleur": "Blanc"}, "stock": 0},
        ],
    ),
    # 3: a bad EAN check digit (set after creation, see build_platform_catalog)
    _complete("BAD-EAN", "3760001200034", "Cocotte en fonte 24 cm"),
    # 4: no price
    _complete("NO-PRICE", "3760001200041", "Couvercle universel en verre", price=None, compare_at_price=None),
    # 5: a 300-character title
    _complete("LONG-TITLE", "3760001200058", LONG_TITLE),
    # 6: no image
    _complete("NO-IMAGE", "3760001200065", "Spatule en silicone", images=[]),
    # 7: no SKU (EAN-8 only), accents
    _complete(None, "96385074", "Kit crème brûlée — 4 ramequins", asin="B0CREME001", mpn="ME-CREME"),
    # 8: inactive: shops get it unpublished, feeds leave it out
    _complete("INACTIVE-1", "3760001200102", "Wok en acier carbone", status="inactive"),
    # 9: draft: never exported
    _complete("DRAFT-1", "3760001200119", "Brouillon de poêle", status="draft"),
    # 10: a low completeness score (title, EAN, price and brand only: 36)
    {
        "sku": "LOW-1",
        "ean": "3760001200126",
        "title": "Dessous-de-plat",
        "brand": "Maison Éloïse",
        "price": "9.90",
        "status": "active",
    },
]


def build_platform_catalog() -> None:
    """Create the platform catalogue in the open database (ids 1..10 in the order of PRODUCTS)."""
    for path in ("Maison > Cuisine > Poêles", "Mode > Hauts"):
        ensure_category_path(path)
    ensure_supplier("SUP-FR", "Fournisseur Français", "FR")
    categories, suppliers = CategoryIndex(), SupplierIndex()
    for data in PRODUCTS:
        upsert_product({k: v for k, v in data.items() if v is not None}, categories, suppliers)
    Product.update(ean=BAD_EAN).where(Product.sku == "BAD-EAN").execute()
    Product.update(created_at=FIXED_TIME, updated_at=FIXED_TIME).execute()


AMAZON_CATEGORY_TEMPLATE = "home-fr.txt"


def write_amazon_category_template(inputs: Path, headers: list[str]) -> Path:
    """A category template's upload sheet as Seller Central gives it (three header rows), saved as tab-delimited
    text in the inputs folder: the template's attribute names in another order, plus columns it does not fill."""
    attributes = ["feed_product_type", "item_sku", "recommended_browse_nodes", *reversed(headers[2:]), "lifestyle"]
    attributes += [h for h in headers[:2] if h not in attributes]
    rows = [
        ["TemplateType=fptcustom", "Version=2024.0312", "TemplateSignature=SE9NRQ==", *[""] * (len(attributes) - 3)],
        [f"Libellé {name}" for name in attributes],
        attributes,
    ]
    inputs.mkdir(parents=True, exist_ok=True)
    path = inputs / AMAZON_CATEGORY_TEMPLATE
    path.write_text("".join("\t".join(row) + "\r\n" for row in rows), encoding="utf-8")
    return path
