"""engine.catalog.store: upsert by SKU/EAN, validation, relations, completeness kept current (SQLite + PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.catalog import completeness
from engine.catalog.models import Image, Product, ProductCategory, ProductSupplier, Variant
from engine.catalog.store import (
    CategoryIndex,
    SupplierIndex,
    ensure_category_path,
    ensure_supplier,
    refresh_completeness,
    upsert_product,
)
from engine.errors import RowRejected

EAN = "3760123456784"  # valid check digit
OTHER_EAN = "4006381333931"


@pytest.fixture
def catalogue(db):
    """Two categories and two suppliers."""
    ensure_category_path("Maison > Cuisine > Casseroles")
    ensure_category_path("Jardin > Arrosage")
    ensure_supplier("FR001", "Distribution Rhône-Alpes", "FR")
    ensure_supplier("DE002", "Müller Großhandel", "DE")
    return db


def test_create_then_update_by_sku(catalogue):
    product, created = upsert_product({"sku": "CAS-1", "title": "Casserole en cuivre", "price": "24,90"})
    assert created
    assert (product.sku, product.title, product.price, product.status, product.currency) == (
        "CAS-1", "Casserole en cuivre", Decimal("24.90"), "draft", "EUR",
    )  # fmt: skip

    updated, created = upsert_product({"sku": "CAS-1", "title": "Casserole en cuivre martelé", "status": "ACTIVE"})
    assert not created
    assert updated.id == product.id
    assert (updated.title, updated.status, updated.price) == ("Casserole en cuivre martelé", "active", Decimal("24.90"))
    assert Product.select().count() == 1


def test_update_by_ean_sets_the_sku(catalogue):
    product, _ = upsert_product({"ean": EAN, "title": "Arrosoir"})
    updated, created = upsert_product({"ean": EAN, "sku": "ARR-1", "title": "Arrosoir 10 L"})
    assert not created
    assert (updated.id, updated.sku, updated.title) == (product.id, "ARR-1", "Arrosoir 10 L")


def test_sku_and_ean_of_two_products_conflict(catalogue):
    first, _ = upsert_product({"sku": "A", "title": "A"})
    second, _ = upsert_product({"ean": EAN, "title": "B"})
    with pytest.raises(RowRejected) as caught:
        upsert_product({"sku": "A", "ean": EAN, "title": "C"})
    assert (
        str(caught.value) == f"conflict: sku 'A' is product {first.id} but ean '{EAN}' belongs to product {second.id}"
    )
    assert Product.get_by_id(first.id).title == "A"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"sku": "X", "ean": "3760123456781", "title": "T"}, "EAN '3760123456781' has a bad check digit (expected 4)"),
        ({"sku": "X", "ean": "37601234", "title": "T"}, "EAN '37601234' has a bad check digit (expected 2)"),
        ({"sku": "X", "ean": "37601A", "title": "T"}, "EAN '37601A' must contain digits only"),
        ({"sku": "X", "title": "  "}, "title is missing"),
        ({"sku": "X"}, "title is missing"),
        ({"title": "no identifier"}, "a product needs a sku or an ean"),
        ({"sku": "X", "title": "T", "category": "Maison > Salon"}, "unknown category 'Maison > Salon'"),
        ({"sku": "X", "title": "T", "suppliers": [{"code": "ZZ9"}]}, "unknown supplier 'ZZ9'"),
        ({"sku": "X", "title": "T", "price": "12,5,0"}, "price '12,5,0' is not a number"),
        ({"sku": "X", "title": "T", "price": "-1"}, "price must not be negative (got -1)"),
        ({"sku": "X", "title": "T", "status": "sold"},
         "status 'sold' is not one of draft, active, inactive, archived, trash"),
        ({"sku": "X", "title": "T", "colour": "red"}, "unknown field(s): colour"),
        ({"sku": "X", "title": "T", "images": ["ftp://x/y.jpg"]},
         "image url 'ftp://x/y.jpg' must start with http:// or https://"),
    ],
)  # fmt: skip
def test_invalid_inputs_are_rejected_with_the_reason(catalogue, data, reason):
    with pytest.raises(RowRejected) as caught:
        upsert_product(data)
    assert str(caught.value) == reason
    assert Product.select().count() == 0


def test_category_paths_match_whatever_the_case_and_spacing(catalogue):
    product, _ = upsert_product({"sku": "C", "title": "T", "category": "maison>cuisine >  CASSEROLES"})
    assert product.category.path == "Maison > Cuisine > Casseroles"


def test_relations_are_replaced_not_merged(catalogue):
    first = {
        "sku": "REL-1", "title": "Casserole", "category": "Maison > Cuisine > Casseroles",
        "extra_categories": "Jardin > Arrosage|Maison > Cuisine",
        "images": ["https://cdn.example.com/a.jpg", {"url": "https://cdn.example.com/b.jpg", "alt": "Vue de côté"}],
        "suppliers": [{"code": "FR001", "supplier_sku": "S-1", "cost_price": "10.5", "stock": 3}],
        "variants": [
            {"sku": "REL-1-R", "options": {"Couleur": "rouge", "Taille": "24 cm"}, "price": "30"},
            {"sku": "REL-1-B", "ean": OTHER_EAN, "options": {"Couleur": "bleu"}},
        ],
        "tags": "promo|nouveauté", "attributes": {"color": "rouge", "material": "cuivre"},
    }  # fmt: skip
    product, _ = upsert_product(first)
    images = list(Image.select().where(Image.product == product.id).order_by(Image.position))
    assert [(i.position, i.url, i.alt, i.is_primary) for i in images] == [
        (1, "https://cdn.example.com/a.jpg", None, True),
        (2, "https://cdn.example.com/b.jpg", "Vue de côté", False),
    ]
    variants = list(Variant.select().where(Variant.product == product.id).order_by(Variant.position))
    assert [(v.sku, v.ean, v.option1_name, v.option1_value, v.option2_value, v.price) for v in variants] == [
        ("REL-1-R", None, "Couleur", "rouge", "24 cm", Decimal("30.00")),
        ("REL-1-B", OTHER_EAN, "Couleur", "bleu", None, None),
    ]
    assert ProductCategory.select().where(ProductCategory.product == product.id).count() == 2
    link = ProductSupplier.get(ProductSupplier.product == product.id)
    assert (link.supplier.code, link.supplier_sku, link.cost_price, link.stock) == ("FR001", "S-1", Decimal("10.50"), 3)
    assert (product.tags, product.attributes) == (["promo", "nouveauté"], {"color": "rouge", "material": "cuivre"})

    upsert_product({
        "sku": "REL-1", "images": ["https://cdn.example.com/c.jpg"], "suppliers": [{"code": "DE002"}],
        "variants": [{"sku": "REL-1-V", "options": [{"name": "Finition", "value": "Mat"}]}], "extra_categories": [],
    })  # fmt: skip
    assert [i.url for i in Image.select().where(Image.product == product.id)] == ["https://cdn.example.com/c.jpg"]
    assert [v.sku for v in Variant.select().where(Variant.product == product.id)] == ["REL-1-V"]
    assert [s.supplier.code for s in ProductSupplier.select().where(ProductSupplier.product == product.id)] == ["DE002"]
    assert ProductCategory.select().where(ProductCategory.product == product.id).count() == 0
    assert Product.get_by_id(product.id).title == "Casserole"  # absent fields are left alone


def test_variant_sku_of_another_product_is_rejected(catalogue):
    first, _ = upsert_product({"sku": "P1", "title": "T", "variants": [{"sku": "V1"}]})
    with pytest.raises(RowRejected) as caught:
        upsert_product({"sku": "P2", "title": "T", "variants": [{"sku": "V1"}]})
    assert str(caught.value) == f"variant sku 'V1' already belongs to product {first.id}"
    assert not Product.select().where(Product.sku == "P2").exists()


def _expected(product_id):
    row = Product.select().where(Product.id == product_id).dicts().get()
    images = Image.select().where(Image.product == product_id).count()
    links = ProductSupplier.select().where(ProductSupplier.product == product_id).count()
    return completeness.score(row, image_count=images, supplier_count=links)


def test_completeness_and_grade_follow_every_write(catalogue):
    product, _ = upsert_product({"sku": "CMP-1", "title": "Casserole"})
    assert (product.completeness, product.grade) == (completeness.WEIGHTS["title"], "F")

    steps = [
        ({"images": ["https://cdn.example.com/a.jpg"]}, "image"),
        ({"price": "19.90"}, "price"),
        ({"description": "<p>Belle casserole en cuivre.</p>"}, "description"),
        ({"ean": EAN}, "gtin"),
        ({"suppliers": [{"code": "FR001"}]}, "supplier"),
    ]
    score = product.completeness
    for change, criterion in steps:
        product, _ = upsert_product({"sku": "CMP-1", **change})
        score += completeness.WEIGHTS[criterion]
        assert product.completeness == score, criterion
        assert (product.completeness, product.grade) == _expected(product.id)

    product, _ = upsert_product({"sku": "CMP-1", "images": [], "price": ""})
    score -= completeness.WEIGHTS["image"] + completeness.WEIGHTS["price"]
    assert (product.completeness, product.grade) == (score, completeness.grade_for(score))


def test_a_complete_product_grades_a(catalogue):
    product, _ = upsert_product({
        "sku": "FULL-1", "ean": EAN, "title": "Casserole", "price": "30", "brand": "Krüger", "asin": "B0ABCDEFGH",
        "description": "<p>x</p>", "short_description": "x", "cost_price": "12", "weight": "1.2",
        "seo_title": "Casserole", "seo_description": "Casserole en cuivre", "attributes": {"color": "rouge"},
        "bullet_points": ["Compatible induction"], "tags": ["cuisine"], "category": "Maison > Cuisine > Casseroles",
        "images": ["https://cdn.example.com/a.jpg"], "suppliers": [{"code": "FR001"}],
    })  # fmt: skip
    assert (product.completeness, product.grade) == (100, "A")


def test_refresh_completeness_repairs_a_stale_score(catalogue):
    product, _ = upsert_product({"sku": "R-1", "title": "T", "price": "5"})
    Product.update(completeness=0, grade="F").where(Product.id == product.id).execute()
    refresh_completeness([product.id])
    assert (Product.get_by_id(product.id).completeness, Product.get_by_id(product.id).grade) == _expected(product.id)


def test_indexes_are_reusable_across_rows(catalogue):
    categories, suppliers = CategoryIndex(), SupplierIndex()
    for i in range(3):
        upsert_product(
            {"sku": f"I-{i}", "title": "T", "category": "Jardin > Arrosage", "suppliers": [{"code": "de002"}]},
            categories,
            suppliers,
        )
    assert Product.select().where(Product.category.is_null(False)).count() == 3
    assert ProductSupplier.select().count() == 3
