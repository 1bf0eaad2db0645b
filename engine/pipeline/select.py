"""Selection: which products an export takes, read in keyset chunks with only the columns it needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import orjson
from peewee import JOIN, Expression, ModelSelect, Value, fn

from engine.catalog.models import (
    Category,
    Image,
    Product,
    ProductCategory,
    ProductSupplier,
    Supplier,
    Variant,
)
from engine.db import is_postgres
from engine.errors import InvalidRequest
from engine.pipeline.fields import JSON_COLUMNS, PRODUCT_FIELDS

ALWAYS = ("id", "sku", "ean", "category_id", "tax_rate", "currency")


def _category_ids(values: list[Any]) -> list[int]:
    """Ids of the named categories (by id, path or name, case-insensitive) and all their sub-categories."""
    rows = list(Category.select(Category.id, Category.name, Category.path, Category.depth).tuples())
    by_id = {cid: path for cid, _name, path, _depth in rows}
    by_path = {path.casefold(): path for _cid, _name, path, _depth in rows}
    by_name: dict[str, str] = {}
    for _cid, name, path, _depth in sorted(rows, key=lambda r: -r[3]):  # the shallowest category wins
        by_name[name.casefold()] = path
    roots = []
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            found = by_id.get(value)
        else:
            key = " > ".join(p.strip() for p in str(value).split(">")).casefold()
            found = by_path.get(key) or by_name.get(key)
        if found is None:
            raise InvalidRequest(f"unknown category {value!r}", "selection.categories")
        roots.append(found)
    return sorted(cid for cid, path in by_id.items() if any(path == r or path.startswith(r + " > ") for r in roots))


def _supplier_ids(values: list[Any]) -> list[int]:
    """Ids of the named suppliers, by code or name (case-insensitive)."""
    rows = list(Supplier.select(Supplier.id, Supplier.code, Supplier.name).tuples())
    index = {name.casefold(): sid for sid, _code, name in rows} | {code.casefold(): sid for sid, code, _n in rows}
    ids = []
    for value in values:
        found = index.get(str(value).strip().casefold())
        if found is None:
            raise InvalidRequest(f"unknown supplier {value!r}", "selection.suppliers")
        ids.append(found)
    return ids


def _brands(values: list[Any]) -> list[str]:
    """The stored spellings of the named brands, compared case-insensitively in Python (SQLite's LOWER()
    only folds ASCII)."""
    wanted = {str(v).strip().casefold() for v in values}
    stored = Product.select(Product.brand).where(Product.brand.is_null(False)).distinct().tuples()
    return [brand for (brand,) in stored if brand.casefold() in wanted] or ["\x00no such brand"]


def selection_where(selection: Mapping[str, Any], statuses: list[str]) -> Expression:
    """The WHERE clause of a selection; criteria combine with AND."""
    where: Expression = Product.status.in_(statuses)
    if selection.get("categories"):
        cats = _category_ids(list(selection["categories"]))
        extra = ProductCategory.select(ProductCategory.product).where(ProductCategory.category.in_(cats))
        where &= Product.category.in_(cats) | Product.id.in_(extra)
    if selection.get("suppliers"):
        links = ProductSupplier.select(ProductSupplier.product).where(
            ProductSupplier.supplier.in_(_supplier_ids(list(selection["suppliers"])))
        )
        where &= Product.id.in_(links)
    explicit = []
    if selection.get("ids"):
        explicit.append(Product.id.in_(selection["ids"]))
    if selection.get("skus"):
        explicit.append(Product.sku.in_([str(s) for s in selection["skus"]]))
    if selection.get("eans"):
        explicit.append(Product.ean.in_([str(s) for s in selection["eans"]]))
    if explicit:
        any_of = explicit[0]
        for clause in explicit[1:]:
            any_of |= clause
        where &= any_of
    if selection.get("brands"):
        where &= Product.brand.in_(_brands(list(selection["brands"])))
    for tag in selection.get("tags") or []:
        # tags are stored as a JSON list: look for the quoted tag, exactly (bypassing the JSON converter)
        needle = Value(orjson.dumps(str(tag)).decode(), converter=False)
        position = fn.STRPOS(Product.tags, needle) if is_postgres() else fn.INSTR(Product.tags, needle)
        where &= position > 0
    if "stock_min" in selection:
        where &= Product.stock >= selection["stock_min"]
    if "stock_max" in selection:
        where &= Product.stock <= selection["stock_max"]
    for key, op in (("price_min", ">="), ("price_max", "<=")):
        if key in selection:
            try:
                bound = Decimal(str(selection[key]))
            except ArithmeticError:
                raise InvalidRequest("must be a number", f"selection.{key}") from None
            where &= (Product.price >= bound) if op == ">=" else (Product.price <= bound)
    if "has_images" in selection:
        with_images = Image.select(Image.product)
        where &= Product.id.in_(with_images) if selection["has_images"] else Product.id.not_in(with_images)
    if "has_price" in selection:
        where &= (Product.price > 0) if selection["has_price"] else (Product.price.is_null() | (Product.price <= 0))
    if "has_ean" in selection:
        where &= Product.ean.is_null(not selection["has_ean"])
    if "completeness_min" in selection:
        where &= Product.completeness >= selection["completeness_min"]
    if selection.get("updated_since"):
        since = dt.datetime.fromisoformat(selection["updated_since"])
        if since.tzinfo is not None:
            since = since.astimezone(dt.UTC).replace(tzinfo=None)
        where &= Product.updated_at >= since
    return where


def count_selected(where: Expression) -> int:
    return int(Product.select().where(where).count())


class ProductLoader:
    """Reads selected products chunk by chunk (keyset on id), with only the columns and relations asked for."""

    def __init__(self, where: Expression, columns: set[str], relations: set[str], chunk_size: int) -> None:
        wanted = [c for c in PRODUCT_FIELDS if c in columns or c in ALWAYS]
        self.names = [*dict.fromkeys([*ALWAYS, *wanted])]
        self.fields = [Product.category if n == "category_id" else getattr(Product, n) for n in self.names]
        self.json_positions = [i for i, n in enumerate(self.names) if n in JSON_COLUMNS]
        self.where = where
        self.relations = set(relations)
        if "categories" in self.relations:
            self.relations.add("category")
        self.chunk_size = chunk_size
        self._categories: dict[int, dict[str, Any]] | None = None

    def categories(self) -> dict[int, dict[str, Any]]:
        if self._categories is None:
            query = Category.select(Category.id, Category.name, Category.path, Category.slug).dicts()
            self._categories = {row["id"]: row for row in query}
        return self._categories

    def _query(self, after_id: int) -> ModelSelect:
        return (
            Product.select(*self.fields)
            .where(self.where & (Product.id > after_id))
            .order_by(Product.id)
            .limit(self.chunk_size)
        )

    def chunks(self, after_id: int = 0) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of product records, each with the relations asked for, in id order after `after_id`."""
        names = self.names
        json_positions = self.json_positions
        loads = orjson.loads
        while True:
            rows = list(self._query(after_id).tuples().execute())
            if not rows:
                return
            records = []
            for row in rows:
                record = dict(zip(names, row, strict=True))
                for i in json_positions:
                    raw = row[i]
                    record[names[i]] = loads(raw) if isinstance(raw, str) and raw else raw
                records.append(record)
            if self.relations:
                self._attach(records)
            yield records
            after_id = rows[-1][0]

    def _attach(self, records: list[dict[str, Any]]) -> None:
        ids = [r["id"] for r in records]
        by_id = {r["id"]: r for r in records}
        rel = self.relations
        if "category" in rel:
            cats = self.categories()
            for r in records:
                r["category"] = cats.get(r["category_id"]) if r["category_id"] else None
        if "categories" in rel:
            cats = self.categories()
            extra: dict[int, list[dict[str, Any]]] = {}
            query = ProductCategory.select(ProductCategory.product, ProductCategory.category).where(
                ProductCategory.product.in_(ids)
            )
            for product_id, category_id in query.tuples():
                extra.setdefault(product_id, []).append(cats[category_id])
            for r in records:
                main = [r["category"]] if r["category"] else []
                r["categories"] = main + [c for c in extra.get(r["id"], []) if not main or c["id"] != main[0]["id"]]
        if "images" in rel:
            for r in records:
                r["images"] = []
            query = (
                Image.select(Image.product, Image.url, Image.alt, Image.position, Image.is_primary)
                .where(Image.product.in_(ids))
                .order_by(Image.product, Image.position)
            )
            for product_id, url, alt, position, is_primary in query.tuples():
                by_id[product_id]["images"].append(
                    {"url": url, "alt": alt, "position": position, "is_primary": bool(is_primary)}
                )
        if "suppliers" in rel:
            for r in records:
                r["suppliers"] = []
            query = (
                ProductSupplier.select(
                    ProductSupplier.product,
                    Supplier.code,
                    Supplier.name,
                    Supplier.country,
                    ProductSupplier.supplier_sku,
                    ProductSupplier.cost_price,
                    ProductSupplier.stock,
                    ProductSupplier.position,
                )
                .join(Supplier)
                .where(ProductSupplier.product.in_(ids))
                .order_by(ProductSupplier.product, ProductSupplier.position)
            )
            for product_id, code, name, country, supplier_sku, cost, stock, position in query.tuples():
                by_id[product_id]["suppliers"].append(
                    {
                        "code": code,
                        "name": name,
                        "country": country,
                        "supplier_sku": supplier_sku,
                        "cost_price": cost,
                        "stock": stock,
                        "position": position,
                    }
                )
        if "variants" in rel:
            for r in records:
                r["variants"] = []
            query = Variant.select().where(Variant.product.in_(ids)).order_by(Variant.product, Variant.position)
            for v in query.dicts():
                options = {}
                for i in (1, 2, 3):
                    if v[f"option{i}_name"]:
                        options[v[f"option{i}_name"]] = v[f"option{i}_value"]
                by_id[v["product"]]["variants"].append(
                    {
                        "sku": v["sku"],
                        "ean": v["ean"],
                        "options": options,
                        "price": v["price"],
                        "stock": v["stock"],
                        "weight": v["weight"],
                        "image_url": v["image_url"],
                        "position": v["position"],
                    }
                )


def iter_suppliers() -> Iterator[dict[str, Any]]:
    """Suppliers with their product counts, for reference sheets."""
    query = (
        Supplier.select(Supplier.code, Supplier.name, Supplier.country, fn.COUNT(ProductSupplier.id).alias("products"))
        .join(ProductSupplier, join_type=JOIN.LEFT_OUTER)
        .group_by(Supplier.id, Supplier.code, Supplier.name, Supplier.country)
        .order_by(Supplier.code)
    )
    yield from query.dicts().iterator()


def iter_categories() -> Iterator[dict[str, Any]]:
    query = Category.select(
        Category.id, Category.name, Category.path, Category.parent.alias("parent_id"), Category.depth
    ).order_by(Category.path)
    yield from query.dicts().iterator()
