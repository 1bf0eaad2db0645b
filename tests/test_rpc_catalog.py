"""CatalogService through a real server: UpsertProducts with good and bad rows, GetProduct, DeleteProducts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import grpc
import pytest
from pm_exports_client.convert import product_from_message, product_to_message
from pm_exports_client.v1 import catalog_pb2, catalog_pb2_grpc

from engine.catalog.models import Product, Variant
from engine.rpc.convert.products import product_input, product_to_proto
from tests.rpc_support import Engine, rpc_error

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db


GOOD = {
    "sku": "NEW-1",
    "ean": "3760001000023",
    "title": "Poêle 28 cm",
    "brand": "Cuisinière & Fils",
    "status": "active",
    "price": Decimal("39.90"),
    "cost_price": "12.05",
    "tax_rate": "5.5",
    "stock": 7,
    "weight": "1.125",
    "category": "Maison > Cuisine",
    "extra_categories": ["Bureau"],
    "tags": ["poêle", "induction"],
    "attributes": {"color": "Noir", "material": "Fonte"},
    "bullet_points": ["Tous feux"],
    "images": ["https://cdn.example.com/p1.jpg", {"url": "https://cdn.example.com/p2.jpg", "alt": "dos"}],
    "suppliers": [{"code": "SUP-FR", "supplier_sku": "F-1", "cost_price": "11.00", "stock": 3}],
    "variants": [
        {"sku": "NEW-1-S", "options": {"Taille": "S"}, "stock": 2},
        {"sku": "NEW-1-L", "ean": "4006381333948", "options": {"Taille": "L"}, "price": "42.00", "stock": 5},
    ],
}


def test_upsert_imports_good_rows_and_reports_bad_ones(engine_any_db: Engine) -> None:
    api = engine_any_db.client("manager")
    rows = [
        GOOD,
        {"sku": "CAS-001", "price": "44.90", "stock": 3},  # an update of the small catalogue's first product
        {"sku": "BAD-EAN", "ean": "3760001000017", "title": "Wrong check digit"},
        {"sku": "NO-TITLE"},
        {"ean": "96385074", "title": "Cahier", "category": "Jardin"},  # unknown category
        {"sku": "BAD-PRICE", "title": "x", "price": "-3"},
        {"sku": "BAD-FIELD", "title": "x", "colour": "red"},  # rejected by the client before sending
        {"sku": "NEW-2", "title": "Deuxième", "status": "draft"},
    ]
    summary = api.upsert_products(rows)
    assert (summary.received, summary.created, summary.updated, summary.rejected) == (8, 2, 1, 5)
    reasons = {r.index: (r.sku, r.ean, r.reason) for r in summary.rejections}
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert reasons[2][:2] == ("BAD-EAN", "3760001000017") and "check digit" in reasons[2][2]
    assert reasons[3] == ("NO-TITLE", None, "title is missing")
    assert reasons[4] == (None, "96385074", "unknown category 'Jardin'")
    assert "must not be negative" in reasons[5][2]
    assert reasons[6] == ("BAD-FIELD", None, "unknown field(s): colour")
    assert Product.get(Product.sku == "CAS-001").price == Decimal("44.90")
    assert Product.get(Product.sku == "CAS-001").title.startswith("Casserole")  # untouched fields kept
    assert Product.select().where(Product.sku.in_(["BAD-EAN", "NO-TITLE", "BAD-PRICE", "BAD-FIELD"])).count() == 0

    product = api.get_product(sku="NEW-1")
    for key in (
        "sku",
        "ean",
        "title",
        "brand",
        "status",
        "category",
        "extra_categories",
        "tags",
        "attributes",
        "bullet_points",
    ):
        assert product[key] == GOOD[key], key
    assert (product["price"], product["cost_price"], product["tax_rate"], product["weight"]) == (
        "39.90",
        "12.05",
        "5.50",
        "1.125",
    )
    assert product["images"] == [
        {"url": "https://cdn.example.com/p1.jpg", "alt": None},
        {"url": "https://cdn.example.com/p2.jpg", "alt": "dos"},
    ]
    assert product["suppliers"] == [{"code": "SUP-FR", "supplier_sku": "F-1", "cost_price": "11.00", "stock": 3}]
    assert [v["sku"] for v in product["variants"]] == ["NEW-1-S", "NEW-1-L"]
    assert product["variants"][1]["options"] == {"Taille": "L"} and product["variants"][1]["price"] == "42.00"
    assert product["variants"][0]["price"] is None
    assert product["grade"] in "ABCDF" and 0 < product["completeness"] <= 100
    assert isinstance(product["created_at"], dt.datetime) and product["id"] > 0
    assert api.get_product(ean="3760001000023")["id"] == product["id"]
    assert api.get_product(id=product["id"])["sku"] == "NEW-1"


def test_upsert_writes_exactly_the_keys_given(engine: Engine) -> None:
    api = engine.client("manager")
    assert api.upsert_products([GOOD]).created == 1
    summary = api.upsert_products([{"sku": "NEW-1", "tags": [], "brand": None, "variants": []}])
    assert summary.updated == 1, summary
    product = api.get_product(sku="NEW-1")
    assert product["tags"] == [] and "brand" not in product and product["variants"] == []
    assert product["attributes"] == GOOD["attributes"] and len(product["images"]) == 2  # not named: kept
    assert Variant.select().count() == 2  # the small catalogue's T-shirt variants only


def test_update_mask_with_an_unknown_path_rejects_that_product_only(engine: Engine) -> None:
    stub = catalog_pb2_grpc.CatalogServiceStub(engine.channel())
    good, mask = product_to_message({"sku": "M-1", "title": "Masked"})
    bad = catalog_pb2.UpsertProductsRequest(product=catalog_pb2.Product(sku="M-2", title="x"))
    bad.update_mask.paths.extend(["sku", "colour"])
    first = catalog_pb2.UpsertProductsRequest(product=good)
    first.update_mask.paths.extend(mask)
    response = stub.UpsertProducts(
        iter([first, bad]), metadata=(("authorization", f"Bearer {engine.keys['manager']}"),), timeout=10
    )
    assert (response.received, response.created, response.rejected) == (2, 1, 1)
    assert response.rejections[0].index == 1 and "colour" in response.rejections[0].reason
    assert response.rejections[0].sku == "M-2"


def test_upsert_with_an_empty_mask_writes_the_fields_set(engine: Engine) -> None:
    stub = catalog_pb2_grpc.CatalogServiceStub(engine.channel())
    request = catalog_pb2.UpsertProductsRequest(product=catalog_pb2.Product(sku="CAS-001", stock=99))
    response = stub.UpsertProducts(iter([request]), metadata=(("authorization", f"Bearer {engine.keys['admin']}"),))
    assert response.updated == 1
    product = Product.get(Product.sku == "CAS-001")
    assert product.stock == 99 and product.price == Decimal("49.90") and product.brand == "Cuisinière & Fils"


def test_get_product_errors(engine: Engine) -> None:
    api = engine.client("reader")
    error = rpc_error(lambda: api.get_product(sku="NOPE"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "sku 'NOPE'" in error.details()
    stub = catalog_pb2_grpc.CatalogServiceStub(engine.channel())
    error = rpc_error(
        lambda: stub.GetProduct(
            catalog_pb2.GetProductRequest(), metadata=(("authorization", f"Bearer {engine.keys['reader']}"),)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("key:")


def test_delete_products(engine_any_db: Engine) -> None:
    api = engine_any_db.client("manager")
    assert api.delete_products(skus=["CAS-001", "NOPE"], eans=["96385074"]) == 2
    assert api.delete_products(ids=[3]) == 1
    assert rpc_error(lambda: api.get_product(sku="CAS-001")).code() == grpc.StatusCode.NOT_FOUND
    assert Variant.select().count() == 0  # product 3 was the T-shirt with variants
    error = rpc_error(lambda: api.delete_products())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("ids:")


def test_product_conversion_round_trip() -> None:
    msg, mask = product_to_message(GOOD)
    assert set(mask) == set(GOOD)
    request = catalog_pb2.UpsertProductsRequest(product=msg)
    request.update_mask.paths.extend(mask)
    back = product_input(request)
    assert back["price"] == "39.90" and back["stock"] == 7
    assert back["images"][0] == {"url": "https://cdn.example.com/p1.jpg", "alt": None}
    assert back["variants"][0]["options"] == {"Taille": "S"} and back["variants"][0]["price"] is None
    with pytest.raises(ValueError, match="whole number"):
        product_to_message({"sku": "x", "stock": "1.5"})
    request.update_mask.paths.append("nope")
    with pytest.raises(ValueError, match="unknown field"):
        product_input(request)


def test_a_product_read_back_has_the_fields_it_was_written_with() -> None:
    stored = {
        "sku": "NEW-1",
        "title": "Poêle",
        "brand": None,
        "price": Decimal("39.90"),
        "weight": Decimal("1.125"),
        "stock": 0,
        "tags": [],
        "attributes": {"color": "Noir"},
        "images": [{"url": "https://cdn.example.com/p1.jpg", "alt": None}],
        "suppliers": [{"code": "SUP-FR", "supplier_sku": None, "cost_price": Decimal("11.00"), "stock": 3}],
        "variants": [
            {
                "sku": "V-1",
                "ean": None,
                "options": {"Taille": "S"},
                "price": None,
                "stock": 2,
                "weight": None,
                "image_url": None,
            }
        ],
        "id": 5,
        "completeness": 42,
        "grade": "F",
        "created_at": dt.datetime(2024, 5, 1, 12, 30),
        "updated_at": None,
    }
    read = product_from_message(product_to_proto(stored))
    assert read == {
        "sku": "NEW-1",
        "title": "Poêle",
        "price": "39.90",
        "weight": "1.125",
        "stock": 0,
        "tags": [],
        "bullet_points": [],
        "extra_categories": [],
        "attributes": {"color": "Noir"},
        "images": stored["images"],
        "suppliers": [{"code": "SUP-FR", "supplier_sku": None, "cost_price": "11.00", "stock": 3}],
        "variants": stored["variants"],
        "id": 5,
        "completeness": 42,
        "grade": "F",
        "created_at": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
    }


def test_a_new_sku_with_another_products_ean_is_a_conflict_unless_matched_by_ean(engine: Engine) -> None:
    stub = catalog_pb2_grpc.CatalogServiceStub(engine.channel())
    auth = (("authorization", f"Bearer {engine.keys['manager']}"),)
    first = catalog_pb2.UpsertProductsRequest(product=catalog_pb2.Product(sku="E-1", ean="3760001000030", title="Un"))
    assert stub.UpsertProducts(iter([first]), metadata=auth, timeout=10).created == 1
    product = catalog_pb2.Product(sku="E-2", ean="3760001000030", title="Deux")
    conflict = stub.UpsertProducts(
        iter([catalog_pb2.UpsertProductsRequest(product=product)]), metadata=auth, timeout=10
    )
    assert conflict.rejected == 1
    assert conflict.rejections[0].reason.startswith("conflict: ean '3760001000030' belongs to sku 'E-1', not to")
    by_ean = catalog_pb2.UpsertProductsRequest(product=product, match_by=catalog_pb2.PRODUCT_MATCH_EAN)
    assert stub.UpsertProducts(iter([by_ean]), metadata=auth, timeout=10).updated == 1
    assert [(p.sku, p.title) for p in Product.select().where(Product.ean == "3760001000030")] == [("E-2", "Deux")]
