"""Selection: which products an export takes, read in keyset chunks with only the columns it needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
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
from engine.db import current_database, is_postgres
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


Converter = Callable[[Any], Any]


def _decimal_converter(places: int) -> Converter:
    """Driver value (SQLite float/int/str, PostgreSQL Decimal) -> Decimal with exactly `places` decimals;
    memoised, since prices and weights repeat a lot."""
    quantum = Decimal(1).scaleb(-places)
    cache: dict[Any, Decimal] = {}

    def convert(value: Any) -> Decimal | None:
        if value is None:
            return None
        found = cache.get(value)
        if found is None:
            raw = (
                value
                if isinstance(value, Decimal)
                else Decimal(repr(value) if isinstance(value, float) else str(value))
            )
            found = raw.quantize(quantum)
            if len(cache) < 50_000:
                cache[value] = found
        return found

    return convert


def _datetime(value: Any) -> Any:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) and value else None


def _converter(name: str) -> Converter | None:
    """How a raw column value becomes the record's value (None: as the driver returns it)."""
    if name in JSON_COLUMNS:
        return _json
    kind = PRODUCT_FIELDS.get(name)
    if kind in {"money", "decimal"}:
        return _decimal_converter(getattr(Product, name).decimal_places)
    if kind == "datetime":
        return _datetime
    return None


def category_table() -> dict[int, dict[str, Any]]:
    """Every category (id, name, path, slug) by id, as records carry them."""
    query = Category.select(Category.id, Category.name, Category.path, Category.slug).dicts()
    return {row["id"]: row for row in query}


class ProductLoader:
    """Reads selected products chunk by chunk (keyset on id), with only the columns and relations asked for.

    The hot path runs the SQL on a plain cursor and converts only the columns that need it (decimals, dates,
    JSON) with converters chosen once: peewee's per-cell `python_value` costs more than the writing itself.
    """

    def __init__(
        self,
        where: Expression,
        columns: set[str],
        relations: set[str],
        chunk_size: int,
        *,
        first_image_only: bool = False,
        categories: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        wanted = [c for c in PRODUCT_FIELDS if c in columns or c in ALWAYS]
        self.names = [*dict.fromkeys([*ALWAYS, *wanted])]
        self.fields = [Product.category if n == "category_id" else getattr(Product, n) for n in self.names]
        self.converters = [(i, conv) for i, n in enumerate(self.names) if (conv := _converter(n)) is not None]
        self.where = where
        self.relations = set(relations)
        if "categories" in self.relations:
            self.relations.add("category")
        self.first_image_only = first_image_only
        self.chunk_size = chunk_size
        self._categories = categories  # the category table by id, read on first use unless given
        self._money = _decimal_converter(2)
        self._weight = _decimal_converter(3)

    def categories(self) -> dict[int, dict[str, Any]]:
        if self._categories is None:
            self._categories = category_table()
        return self._categories

    def _query(self, after_id: int) -> ModelSelect:
        return (
            Product.select(*self.fields)
            .where(self.where & (Product.id > after_id))
            .order_by(Product.id)
            .limit(self.chunk_size)
        )

    @staticmethod
    def _fetch(query: Any) -> list[tuple[Any, ...]]:
        """Rows of a peewee query from a plain cursor (no per-cell conversion)."""
        sql, params = query.sql()
        return list(current_database().execute_sql(sql, params).fetchall())

    def _records(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Product records of raw rows, with the relations asked for."""
        names = self.names
        converters = self.converters
        records = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            for i, convert in converters:
                record[names[i]] = convert(row[i])
            records.append(record)
        if records and self.relations:
            self._attach(records)
        return records

    def chunks(self, after_id: int = 0) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of product records, each with the relations asked for, in id order after `after_id`."""
        while True:
            rows = self._fetch(self._query(after_id))
            if not rows:
                return
            yield self._records(rows)
            after_id = rows[-1][0]

    def one(self, product_id: int) -> dict[str, Any] | None:
        """The record of one product as the chunks would carry it; None when the selection does not take it."""
        query = Product.select(*self.fields).where(self.where & (Product.id == product_id))
        records = self._records(self._fetch(query))
        return records[0] if records else None

    def _attach(self, records: list[dict[str, Any]]) -> None:
        """Load the asked-for relations of a chunk: one range query each (ids are in order), plain cursors."""
        first, last = records[0]["id"], records[-1]["id"]
        by_id = {r["id"]: r for r in records}
        rel = self.relations
        money, weight = self._money, self._weight
        if "category" in rel:
            cats = self.categories()
            for r in records:
                r["category"] = cats.get(r["category_id"]) if r["category_id"] else None
        if "categories" in rel:
            cats = self.categories()
            extra: dict[int, list[dict[str, Any]]] = {}
            query = ProductCategory.select(ProductCategory.product, ProductCategory.category).where(
                ProductCategory.product.between(first, last)
            )
            for product_id, category_id in self._fetch(query):
                if product_id in by_id:
                    extra.setdefault(product_id, []).append(cats[category_id])
            for r in records:
                main = [r["category"]] if r["category"] else []
                r["categories"] = main + [c for c in extra.get(r["id"], []) if not main or c["id"] != main[0]["id"]]
        if "images" in rel:
            for r in records:
                r["images"] = []
            where = Image.product.between(first, last)
            if self.first_image_only:
                where &= Image.position == 1  # the store numbers images 1..n
            query = (
                Image.select(Image.product, Image.url, Image.alt, Image.position, Image.is_primary)
                .where(where)
                .order_by(Image.product, Image.position)
            )
            for product_id, url, alt, position, is_primary in self._fetch(query):
                record = by_id.get(product_id)
                if record is not None:
                    record["images"].append(
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
                .where(ProductSupplier.product.between(first, last))
                .order_by(ProductSupplier.product, ProductSupplier.position)
            )
            for product_id, code, name, country, supplier_sku, cost, stock, position in self._fetch(query):
                record = by_id.get(product_id)
                if record is not None:
                    record["suppliers"].append(
                        {
                            "code": code,
                            "name": name,
                            "country": country,
                            "supplier_sku": supplier_sku,
                            "cost_price": money(cost),
                            "stock": stock,
                            "position": position,
                        }
                    )
        if "variants" in rel:
            for r in records:
                r["variants"] = []
            query = (
                Variant.select(
                    Variant.product,
                    Variant.sku,
                    Variant.ean,
                    Variant.option1_name,
                    Variant.option1_value,
                    Variant.option2_name,
                    Variant.option2_value,
                    Variant.option3_name,
                    Variant.option3_value,
                    Variant.price,
                    Variant.stock,
                    Variant.weight,
                    Variant.image_url,
                    Variant.position,
                )
                .where(Variant.product.between(first, last))
                .order_by(Variant.product, Variant.position)
            )
            for row in self._fetch(query):
                record = by_id.get(row[0])
                if record is None:
                    continue
                options = {row[i]: row[i + 1] for i in (3, 5, 7) if row[i]}
                record["variants"].append(
                    {
                        "sku": row[1],
                        "ean": row[2],
                        "options": options,
                        "price": money(row[9]),
                        "stock": row[10],
                        "weight": weight(row[11]),
                        "image_url": row[12],
                        "position": row[13],
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
