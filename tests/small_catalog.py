"""A small fixed catalogue for golden-file tests: accents, separators, quotes, line breaks, formula-looking
values, variants, a product with every optional field empty, and products other statuses leave out."""

from __future__ import annotations

import datetime as dt

from engine.catalog.models import Product
from engine.catalog.store import (
    CategoryIndex,
    SupplierIndex,
    ensure_category_path,
    ensure_supplier,
    upsert_product,
)

FIXED_TIME = dt.datetime(2026, 3, 14, 9, 26, 53)

PRODUCTS = [
    {
        "sku": "CAS-001",
        "ean": "3760001000016",
        "title": "Casserole inox 20 cm, « Chef » édition",
        "brand": "Cuisinière & Fils",
        "status": "active",
        "price": "49.90",
        "compare_at_price": "59.90",
        "cost_price": "21.30",
        "tax_rate": "20",
        "stock": 12,
        "weight": "1.25",
        "width": "20",
        "height": "11",
        "depth": "36",
        "category": "Maison > Cuisine > Casseroles",
        "tags": ["inox", "induction"],
        "attributes": {"color": "Argent", "material": "Inox 18/10"},
        "bullet_points": ["Compatible induction", "Passe au lave-vaisselle"],
        "description": "<p>Casserole en <strong>inox</strong> &amp; fond épais.</p><ul><li>Poignée froide</li></ul>",
        "short_description": "Casserole robuste; idéale pour les sauces",
        "images": ["https://cdn.example.com/cas-001-1.jpg", "https://cdn.example.com/cas-001-2.jpg"],
        "suppliers": [{"code": "SUP-FR", "supplier_sku": "F-778", "cost_price": "21.30", "stock": 40}],
        "seo_title": "Casserole inox 20 cm",
        "seo_description": "Casserole inox induction",
    },
    {
        "sku": '=HYPERLINK("http://evil")',
        "ean": "4006381333931",
        "title": 'Stylo "Plume"\nédition spéciale',
        "brand": "@Brand",
        "status": "active",
        "price": "12.5",
        "stock": 0,
        "category": "Bureau",
        "tags": ["+promo", "-soldes"],
        "short_description": "-50 % aujourd'hui",
        "tax_rate": "5.5",
        "images": ["https://cdn.example.com/stylo.png"],
    },
    {
        "sku": "TSH-RED",
        "ean": "5901234123457",
        "title": "T-shirt coton bio; coupe droite",
        "brand": "Ökotex",
        "status": "active",
        "price": "19.00",
        "stock": 30,
        "weight": "0.2",
        "category": "Mode > Hauts",
        "variants": [
            {
                "sku": "TSH-RED-S",
                "ean": "4012345678901",
                "options": {"Taille": "S", "Couleur": "Rouge"},
                "stock": 10,
            },
            {
                "sku": "TSH-RED-M",
                "options": {"Taille": "M", "Couleur": "Rouge"},
                "stock": 20,
                "price": "21.00",
            },
        ],
        "images": [{"url": "https://cdn.example.com/tsh-red.jpg", "alt": "T-shirt rouge"}],
        "suppliers": [{"code": "SUP-FR", "supplier_sku": "T-1"}, {"code": "SUP-DE", "supplier_sku": "DE-9"}],
    },
    {"sku": "EMPTY-1", "title": "Produit sans rien", "status": "active"},
    {"sku": "DRAFT-1", "title": "Brouillon", "status": "draft", "price": "5"},
    {
        "ean": "96385074",
        "title": "Cahier A5 — 96 pages",
        "status": "active",
        "price": "3.20",
        "stock": 150,
        "category": "Bureau > Papeterie",
        "brand": "Clairefontaine",
    },
    {"sku": "ARCH-1", "title": "Ancien modèle", "status": "archived", "price": "1"},
]


def build_small_catalog() -> None:
    """Create the small catalogue in the open database (ids 1..7 in the order above)."""
    for path in ("Maison > Cuisine > Casseroles", "Bureau > Papeterie", "Mode > Hauts"):
        ensure_category_path(path)
    ensure_supplier("SUP-FR", "Fournisseur Français", "FR")
    ensure_supplier("SUP-DE", "Deutscher Lieferant", "DE")
    categories, suppliers = CategoryIndex(), SupplierIndex()
    for data in PRODUCTS:
        upsert_product(data, categories, suppliers)
    Product.update(created_at=FIXED_TIME, updated_at=FIXED_TIME).execute()
