"""Writes to the catalogue: validate a product input, upsert it by SKU/EAN, keep completeness current.

The canonical product input is a dict (used by the file import, the gRPC UpsertProducts and the tests):
scalar Product fields, plus `category` (a path such as "Maison > Cuisine"), `extra_categories` (paths),
`tags` (list or "a|b"), `attributes` (dict), `bullet_points` (list), `images` (list of URLs or of
{url, alt}), `suppliers` (list of {code, supplier_sku, cost_price, stock}) and `variants` (list of {sku, ean,
options: {name: value}, price, stock, weight, image_url}).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from peewee import CharField, DecimalField, Field, IntegerField, TextField, fn

from engine.catalog import completeness
from engine.catalog.gtin import gtin_problem
from engine.catalog.models import (
    PRODUCT_STATUSES,
    Category,
    Image,
    Product,
    ProductCategory,
    ProductSupplier,
    Supplier,
    Variant,
    utcnow,
)
from engine.db import current_database
from engine.errors import InvalidRequest, RowRejected

# Product columns the engine fills itself; every other column is part of the product input.
COMPUTED_FIELDS = ("id", "created_at", "updated_at", "completeness", "grade")
# The main category (a foreign key) and the JSON columns are read and written by their own code, like the
# relations kept in other tables.
RELATION_FIELDS = (
    "category",
    "extra_categories",
    "tags",
    "attributes",
    "bullet_points",
    "images",
    "suppliers",
    "variants",
)


def _scalar_columns(*kinds: type[Field]) -> tuple[str, ...]:
    """The Product input columns of these peewee field classes, in table order."""
    return tuple(
        column.name
        for column in Product._meta.sorted_fields
        if isinstance(column, kinds) and column.name not in COMPUTED_FIELDS and column.name not in RELATION_FIELDS
    )


DECIMAL_FIELDS = _scalar_columns(DecimalField)  # money (2 places) and measures
INT_FIELDS = _scalar_columns(IntegerField)
TEXT_FIELDS = _scalar_columns(CharField, TextField)
INPUT_FIELDS = frozenset((*TEXT_FIELDS, *DECIMAL_FIELDS, *INT_FIELDS, *RELATION_FIELDS))
# How an input finds the product it updates (see find_existing).
MATCH_MODES = ("sku", "ean")
MAX_LENGTHS = {
    "sku": 64,
    "ean": 14,
    "upc": 12,
    "gtin": 14,
    "mpn": 70,
    "asin": 10,
    "brand": 255,
    "currency": 3,
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _decimal(field: str, value: Any, *, minimum: Decimal | None = Decimal(0)) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise RowRejected(f"{field} {value!r} is not a number")
    if isinstance(value, float):
        value = repr(value)  # 12.99, not 12.9900000000000002131...
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else value
    try:
        number = Decimal(text) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        raise RowRejected(f"{field} {value!r} is not a number") from None
    if not number.is_finite():
        raise RowRejected(f"{field} {value!r} is not a number")
    if minimum is not None and number < minimum:
        raise RowRejected(f"{field} must not be negative (got {value})")
    return number


def _int(field: str, value: Any) -> int | None:
    if _blank(value):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RowRejected(f"{field} {value!r} is not a whole number") from None
    if number != number.to_integral_value():
        raise RowRejected(f"{field} {value!r} is not a whole number")
    return int(number)


def _str_list(field: str, value: Any) -> list[str]:
    if _blank(value):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if not _blank(v)]
    raise RowRejected(f"{field} must be a list or a '|'-separated text")


class CategoryIndex:
    """Category lookup by path, loaded once per import or upsert stream."""

    def __init__(self) -> None:
        self.by_path = {c.path.casefold(): c.id for c in Category.select(Category.id, Category.path)}

    def resolve(self, path: str) -> int:
        key = " > ".join(p.strip() for p in path.split(">")).casefold()
        try:
            return self.by_path[key]
        except KeyError:
            raise RowRejected(f"unknown category {path!r}") from None


class SupplierIndex:
    def __init__(self) -> None:
        self.by_code = {s.code.casefold(): s.id for s in Supplier.select(Supplier.id, Supplier.code)}

    def resolve(self, code: str) -> int:
        try:
            return self.by_code[code.strip().casefold()]
        except KeyError:
            raise RowRejected(f"unknown supplier {code!r}") from None


def clean_product_input(data: Mapping[str, Any], categories: CategoryIndex, suppliers: SupplierIndex) -> dict[str, Any]:
    """Validate one product input and return it normalised; raise RowRejected with the reason."""
    unknown = sorted(k for k in data if k not in INPUT_FIELDS and k != "id")
    if unknown:
        raise RowRejected(f"unknown field(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in data:
            value = data[name]
            out[name] = None if _blank(value) else str(value).strip() if name != "description" else str(value)
    for name, limit in MAX_LENGTHS.items():
        if out.get(name) and len(out[name]) > limit:
            raise RowRejected(f"{name} is longer than {limit} characters")
    for name in DECIMAL_FIELDS:
        if name in data:
            out[name] = _decimal(name, data[name])
    if "stock" in data:
        out["stock"] = _int("stock", data["stock"]) or 0
    if "tax_rate" in out and out["tax_rate"] is None:
        del out["tax_rate"]
    if out.get("title") is None and "title" in data:
        raise RowRejected("title is missing")
    if out.get("ean"):
        problem = gtin_problem(out["ean"])
        if problem:
            raise RowRejected(problem)
    if out.get("status") is not None:
        status = out["status"].lower()
        if status not in PRODUCT_STATUSES:
            raise RowRejected(f"status {out['status']!r} is not one of {', '.join(PRODUCT_STATUSES)}")
        out["status"] = status
    if "status" in out and out["status"] is None:
        del out["status"]
    if "currency" in out:
        out["currency"] = (out["currency"] or "EUR").upper()
    if "category" in data:
        out["category_id"] = None if _blank(data["category"]) else categories.resolve(str(data["category"]))
    if "extra_categories" in data:
        out["extra_categories"] = [
            categories.resolve(p) for p in _str_list("extra_categories", data["extra_categories"])
        ]
    if "tags" in data:
        out["tags"] = _str_list("tags", data["tags"]) or None
    if "bullet_points" in data:
        out["bullet_points"] = _str_list("bullet_points", data["bullet_points"]) or None
    if "attributes" in data:
        attrs = data["attributes"]
        if _blank(attrs):
            out["attributes"] = None
        elif isinstance(attrs, Mapping):
            out["attributes"] = {str(k): str(v) for k, v in attrs.items() if not _blank(v)} or None
        else:
            raise RowRejected("attributes must be an object of name: value")
    if "images" in data:
        out["images"] = _clean_images(data["images"])
    if "suppliers" in data:
        out["suppliers"] = _clean_suppliers(data["suppliers"], suppliers)
    if "variants" in data:
        out["variants"] = _clean_variants(data["variants"])
    return out


def _clean_images(value: Any) -> list[dict[str, Any]]:
    items = _str_list("images", value) if isinstance(value, str) else list(value or [])
    images = []
    for item in items:
        url, alt = (item, None) if isinstance(item, str) else (item.get("url"), item.get("alt"))
        if _blank(url):
            raise RowRejected("an image has no url")
        url = str(url).strip()
        if not url.lower().startswith(("http://", "https://")):
            raise RowRejected(f"image url {url!r} must start with http:// or https://")
        images.append({"url": url, "alt": alt})
    return images


def _clean_suppliers(value: Any, index: SupplierIndex) -> list[dict[str, Any]]:
    links = []
    for item in value or []:
        if not isinstance(item, Mapping) or _blank(item.get("code")):
            raise RowRejected("a supplier link needs a supplier code")
        links.append(
            {
                "supplier_id": index.resolve(str(item["code"])),
                "supplier_sku": None if _blank(item.get("supplier_sku")) else str(item["supplier_sku"]).strip(),
                "cost_price": _decimal("supplier cost_price", item.get("cost_price")),
                "stock": _int("supplier stock", item.get("stock")),
            }
        )
    return links


def _clean_variants(value: Any) -> list[dict[str, Any]]:
    variants = []
    seen: set[tuple[str, str]] = set()
    for item in value or []:
        if not isinstance(item, Mapping):
            raise RowRejected("a variant must be an object")
        sku = None if _blank(item.get("sku")) else str(item["sku"]).strip()
        ean = None if _blank(item.get("ean")) else str(item["ean"]).strip()
        if not sku and not ean:
            raise RowRejected("a variant needs a sku or an ean")
        if ean and (problem := gtin_problem(ean)):
            raise RowRejected(f"variant {sku or ean}: {problem}")
        for field, ident in (("sku", sku), ("ean", ean)):
            if ident and (field, ident) in seen:
                raise RowRejected(f"two variants have the same {field} {ident!r}")
            if ident:
                seen.add((field, ident))
        options = item.get("options") or {}
        pairs = list(options.items()) if isinstance(options, Mapping) else [(o["name"], o["value"]) for o in options]
        if len(pairs) > 3:
            raise RowRejected(f"variant {sku or ean} has more than 3 options")
        variant: dict[str, Any] = {
            "sku": sku,
            "ean": ean,
            "price": _decimal("variant price", item.get("price")),
            "stock": _int("variant stock", item.get("stock")) or 0,
            "weight": _decimal("variant weight", item.get("weight")),
            "image_url": None if _blank(item.get("image_url")) else str(item["image_url"]),
        }
        for i, (name, val) in enumerate(pairs, start=1):
            variant[f"option{i}_name"], variant[f"option{i}_value"] = str(name), str(val)
        variants.append(variant)
    return variants


def find_existing(sku: str | None, ean: str | None, match_by: str = "sku") -> int | None:
    """The id of the product that an input with this SKU/EAN updates, or None for a new product.

    `match_by="sku"` (the default): the SKU decides; the EAN finds a product only when the input has no SKU or
    that product has none yet, so a new SKU never takes over another product's EAN (rejected as a conflict).
    `match_by="ean"`: the EAN decides first, and the product it finds takes the input's SKU (a rename).
    """
    if match_by not in MATCH_MODES:
        raise InvalidRequest(f"must be one of {', '.join(MATCH_MODES)}, got {match_by!r}", field="match_by")
    by_sku = Product.select(Product.id).where(Product.sku == sku).scalar() if sku else None
    holder = Product.select(Product.id, Product.sku).where(Product.ean == ean).tuples().first() if ean else None
    if holder is None:
        return by_sku
    by_ean, holder_sku = holder
    if by_sku and by_sku != by_ean:
        raise RowRejected(
            f"conflict: sku {sku!r} is product {by_sku} but ean {ean!r} belongs to product {by_ean}"
            + (f" (sku {holder_sku!r})" if holder_sku else "")
        )
    if match_by == "sku" and sku and not by_sku and holder_sku:
        raise RowRejected(
            f"conflict: ean {ean!r} belongs to sku {holder_sku!r}, not to the new sku {sku!r} "
            f"(match by ean to give that product the sku {sku!r})"
        )
    return int(by_ean)


def upsert_product(
    data: Mapping[str, Any],
    categories: CategoryIndex | None = None,
    suppliers: SupplierIndex | None = None,
    *,
    match_by: str = "sku",
) -> tuple[Product, bool]:
    """Create or update one product, matched as find_existing says. Returns (product, created)."""
    clean = clean_product_input(data, categories or CategoryIndex(), suppliers or SupplierIndex())
    sku, ean = clean.get("sku"), clean.get("ean")
    with current_database().atomic():
        existing = find_existing(sku, ean, match_by)
        if existing is None:
            if not sku and not ean:
                raise RowRejected("a product needs a sku or an ean")
            if not clean.get("title"):
                raise RowRejected("title is missing")
        relations: dict[str, Any] = {
            k: clean.pop(k) for k in ("extra_categories", "images", "suppliers", "variants") if k in clean
        }
        _check_variant_identifiers(relations.get("variants"), existing)
        now = utcnow()
        if existing is None:
            product_id = Product.insert(**clean, created_at=now, updated_at=now).execute()
            created = True
        else:
            product_id = existing
            Product.update(**clean, updated_at=now).where(Product.id == product_id).execute()
            created = False
        _replace_relations(product_id, relations)
        refresh_completeness([product_id])
    return Product.get_by_id(product_id), created


def _check_variant_identifiers(variants: list[dict[str, Any]] | None, product_id: int | None) -> None:
    for variant in variants or []:
        for field in ("sku", "ean"):
            value = variant.get(field)
            if not value:
                continue
            column = getattr(Variant, field)
            clash = Variant.select(Variant.product).where(column == value).first()
            if clash is not None and clash.product_id != product_id:
                raise RowRejected(f"variant {field} {value!r} already belongs to product {clash.product_id}")


def _replace_relations(product_id: int, relations: Mapping[str, Any]) -> None:
    if "extra_categories" in relations:
        ProductCategory.delete().where(ProductCategory.product == product_id).execute()
        rows = [{"product": product_id, "category": c} for c in dict.fromkeys(relations["extra_categories"])]
        if rows:
            ProductCategory.insert_many(rows).execute()
    if "images" in relations:
        Image.delete().where(Image.product == product_id).execute()
        rows = [
            {"product": product_id, "position": i, "url": img["url"], "alt": img["alt"], "is_primary": i == 1}
            for i, img in enumerate(relations["images"], start=1)
        ]
        if rows:
            Image.insert_many(rows).execute()
    if "suppliers" in relations:
        ProductSupplier.delete().where(ProductSupplier.product == product_id).execute()
        seen: set[int] = set()
        rows = []
        for i, link in enumerate(relations["suppliers"], start=1):
            if link["supplier_id"] in seen:
                continue
            seen.add(link["supplier_id"])
            rows.append({"product": product_id, "position": i, **{k.replace("_id", ""): v for k, v in link.items()}})
        if rows:
            ProductSupplier.insert_many(rows).execute()
    if "variants" in relations:
        Variant.delete().where(Variant.product == product_id).execute()
        rows = [{"product": product_id, "position": i, **v} for i, v in enumerate(relations["variants"], start=1)]
        if rows:
            Variant.insert_many(rows).execute()


def refresh_completeness(product_ids: Iterable[int]) -> None:
    """Recompute the completeness score and grade of these products from their current data."""
    ids = list(product_ids)
    if not ids:
        return
    image_counts = dict(
        Image.select(Image.product, fn.COUNT(Image.id)).where(Image.product.in_(ids)).group_by(Image.product).tuples()
    )
    supplier_counts = dict(
        ProductSupplier.select(ProductSupplier.product, fn.COUNT(ProductSupplier.id))
        .where(ProductSupplier.product.in_(ids))
        .group_by(ProductSupplier.product)
        .tuples()
    )
    for row in Product.select().where(Product.id.in_(ids)).dicts():
        score, grade = completeness.score(
            row, image_count=image_counts.get(row["id"], 0), supplier_count=supplier_counts.get(row["id"], 0)
        )
        if score != row["completeness"] or grade != row["grade"]:
            Product.update(completeness=score, grade=grade).where(Product.id == row["id"]).execute()


def delete_products(*, ids: Iterable[int] = (), skus: Iterable[str] = (), eans: Iterable[str] = ()) -> int:
    """Delete products (and their relations) by id, SKU or EAN; returns how many were deleted."""
    query = Product.delete().where(
        Product.id.in_(list(ids)) | Product.sku.in_(list(skus)) | Product.ean.in_(list(eans))
    )
    return int(query.execute())


def ensure_category_path(path: str) -> int:
    """Create the categories of `path` ("A > B > C") as needed, reusing existing ones whatever their case;
    returns the id of the last one."""
    from engine.catalog.text import slugify

    parts = [p.strip() for p in path.split(">") if p.strip()]
    if not parts:
        raise RowRejected("empty category path")
    known = {
        stored.casefold(): (cid, stored)
        for cid, stored in Category.select(Category.id, Category.path).where(Category.depth < len(parts)).tuples()
    }
    parent_id: int | None = None
    parent_path = ""
    for depth, name in enumerate(parts):
        sub_path = f"{parent_path} > {name}" if parent_path else name
        found = known.get(sub_path.casefold())
        if found is None:
            category = Category.create(name=name, slug=slugify(name), parent=parent_id, path=sub_path, depth=depth)
            found = (category.id, sub_path)
        parent_id, parent_path = found
    assert parent_id is not None
    return parent_id


def ensure_supplier(code: str, name: str | None = None, country: str | None = None) -> int:
    supplier = Supplier.get_or_none(Supplier.code == code)
    if supplier is None:
        supplier = Supplier.create(code=code, name=name or code, country=country)
    return int(supplier.id)
