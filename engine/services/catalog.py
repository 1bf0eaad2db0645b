"""The catalogue as callers see it: upsert products with a summary, import a file, seed the demo catalogue,
count, read one back, delete some.

Products are dicts in the canonical product input shape of engine.catalog.store (which validates them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peewee import IntegrityError

from engine.catalog import store

# The file import and the demo generator, as the callers of the services reach them
from engine.catalog.demo import seed_demo as seed_demo
from engine.catalog.importer import import_file as import_file
from engine.catalog.models import (
    Category,
    Image,
    Product,
    ProductCategory,
    ProductSupplier,
    Supplier,
    Variant,
)
from engine.errors import InvalidRequest, NotFound, RowRejected

MAX_LISTED_REJECTIONS = 1000


@dataclass(frozen=True)
class Rejection:
    index: int
    sku: str | None
    ean: str | None
    reason: str


@dataclass
class UpsertSummary:
    received: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    rejections_truncated: bool = False


def _ident(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None or value == "" else str(value)


class ProductUpserter:
    """Upserts products one at a time (each in its own transaction) and keeps the summary of a stream.
    Category and supplier lookups are loaded once per stream. `match_by` is store.find_existing's: "sku"
    (default, a new SKU never takes over another product's EAN) or "ean" (the EAN decides, renaming SKUs)."""

    def __init__(self, match_by: str = "sku") -> None:
        if match_by not in store.MATCH_MODES:
            raise InvalidRequest(f"must be one of {', '.join(store.MATCH_MODES)}, got {match_by!r}", "match_by")
        self.match_by = match_by
        self.summary = UpsertSummary()
        self._categories = store.CategoryIndex()
        self._suppliers = store.SupplierIndex()

    def add(self, data: Mapping[str, Any], match_by: str | None = None) -> None:
        """Upsert one product, matched by `match_by` when given, else by the stream's."""
        index = self.summary.received
        self.summary.received += 1
        try:
            _product, created = store.upsert_product(
                data, self._categories, self._suppliers, match_by=match_by or self.match_by
            )
        except RowRejected as exc:
            self._reject(index, _ident(data, "sku"), _ident(data, "ean"), str(exc))
        except IntegrityError as exc:  # a concurrent writer took the same SKU/EAN first
            self._reject(index, _ident(data, "sku"), _ident(data, "ean"), f"conflicts with another product ({exc})")
        else:
            if created:
                self.summary.created += 1
            else:
                self.summary.updated += 1

    def reject(self, sku: str | None, ean: str | None, reason: str) -> None:
        """Count an input the caller could not even decode as a product."""
        index = self.summary.received
        self.summary.received += 1
        self._reject(index, sku, ean, reason)

    def _reject(self, index: int, sku: str | None, ean: str | None, reason: str) -> None:
        self.summary.rejected += 1
        if len(self.summary.rejections) < MAX_LISTED_REJECTIONS:
            self.summary.rejections.append(Rejection(index, sku, ean, reason))
        else:
            self.summary.rejections_truncated = True


def upsert_products(products: Iterable[Mapping[str, Any]], match_by: str = "sku") -> UpsertSummary:
    """Create or update each product (matched as ProductUpserter says); bad ones are rejected with their reason."""
    upserter = ProductUpserter(match_by)
    for data in products:
        upserter.add(data)
    return upserter.summary


def product_count() -> int:
    """How many products the catalogue holds."""
    return int(Product.select().count())


def get_product(*, id: int | None = None, sku: str | None = None, ean: str | None = None) -> dict[str, Any]:
    """One product in the product input shape, plus id, completeness, grade, created_at and updated_at."""
    if id is not None:
        product = Product.get_or_none(Product.id == id)
    elif sku:
        product = Product.get_or_none(Product.sku == sku)
    elif ean:
        product = Product.get_or_none(Product.ean == ean)
    else:
        raise InvalidRequest("give an id, a sku or an ean", "key")
    if product is None:
        key = f"id {id}" if id is not None else f"sku {sku!r}" if sku else f"ean {ean!r}"
        raise NotFound(f"no product with {key}")
    data: dict[str, Any] = {name: getattr(product, name) for name in store.TEXT_FIELDS}
    for name in (*store.DECIMAL_FIELDS, *store.INT_FIELDS):
        data[name] = getattr(product, name)
    data["tags"] = product.tags or []
    data["attributes"] = product.attributes or {}
    data["bullet_points"] = product.bullet_points or []
    data["category"] = Category.get_by_id(product.category_id).path if product.category_id else None
    extra = (
        Category.select(Category.path)
        .join(ProductCategory)
        .where(ProductCategory.product == product.id)
        .order_by(ProductCategory.id)
    )
    data["extra_categories"] = [c.path for c in extra]
    data["images"] = [
        {"url": i.url, "alt": i.alt} for i in Image.select().where(Image.product == product.id).order_by(Image.position)
    ]
    links = (
        ProductSupplier.select(ProductSupplier, Supplier.code)
        .join(Supplier)
        .where(ProductSupplier.product == product.id)
        .order_by(ProductSupplier.position)
    )
    data["suppliers"] = [
        {
            "code": link.supplier.code,
            "supplier_sku": link.supplier_sku,
            "cost_price": link.cost_price,
            "stock": link.stock,
        }
        for link in links
    ]
    variants = []
    for v in Variant.select().where(Variant.product == product.id).order_by(Variant.position):
        options = {getattr(v, f"option{i}_name"): getattr(v, f"option{i}_value") for i in (1, 2, 3)}
        variants.append(
            {
                "sku": v.sku,
                "ean": v.ean,
                "options": {k: val for k, val in options.items() if k},
                "price": v.price,
                "stock": v.stock,
                "weight": v.weight,
                "image_url": v.image_url,
            }
        )
    data["variants"] = variants
    data.update(
        id=product.id,
        completeness=product.completeness,
        grade=product.grade,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )
    return data


def delete_products(*, ids: Iterable[int] = (), skus: Iterable[str] = (), eans: Iterable[str] = ()) -> int:
    """Delete products by id, SKU or EAN; returns how many were deleted (unknown keys are not an error)."""
    ids, skus, eans = list(ids), [s for s in skus if s], [e for e in eans if e]
    if not ids and not skus and not eans:
        raise InvalidRequest("name at least one product by id, sku or ean", "ids")
    return store.delete_products(ids=ids, skus=skus, eans=eans)
