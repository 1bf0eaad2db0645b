"""Row modes: how one product becomes one or several rows (variants, image rows, parent + variations).

Each row is the product record plus `variant`, `image` and `row` (kind, index, first, has_variants, count), so
columns can read `variant.sku`, `image.url` or `row.kind`, and a column can be limited to some rows (`on`).

- product:         one row per product (kind "product").
- variants:        one row per variant; a product without variants gives one row with its default variant
                   (kind "variant"): feeds where each variant is an item (Google Shopping, Amazon).
- variants_images: Shopify: row i carries variant i and image i; rows = max(variants or 1, images); the
                   rows past the last variant are image rows (kind "image").
- parent_variants: WooCommerce: a product without variants is one "simple" row; one with variants is a
                   "parent" row followed by one "variation" row per variant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from engine.errors import TemplateError

ROW_MODES = ("product", "variants", "variants_images", "parent_variants")
ROW_KINDS = ("product", "variant", "image", "simple", "parent", "variation")
ROW_MODE_COLUMNS = frozenset({"price", "stock", "weight"})  # product columns a (default) variant reads
Expander = Callable[[dict[str, Any]], Iterator[dict[str, Any]]]


def check_mode(mode: str) -> None:
    if mode not in ROW_MODES:
        raise TemplateError(f"unknown row mode {mode!r} (known: {', '.join(ROW_MODES)})", "rows")


def _flatten(variant: dict[str, Any], record: dict[str, Any], default: bool) -> dict[str, Any]:
    options = variant.get("options") or {}
    flat = {
        **variant,
        "own_price": variant.get("price"),
        "price": variant.get("price") if variant.get("price") is not None else record.get("price"),
        "weight": variant.get("weight") if variant.get("weight") is not None else record.get("weight"),
        "is_default": default,
    }
    for i, (name, value) in enumerate(list(options.items())[:3], start=1):
        flat[f"option{i}_name"], flat[f"option{i}_value"] = name, value
    return flat


def default_variant(record: dict[str, Any]) -> dict[str, Any]:
    """The single variant of a product that has none (Shopify's 'Default Title')."""
    return _flatten(
        {
            "sku": record.get("sku"),
            "ean": record.get("ean"),
            "options": {},
            "price": None,
            "stock": record.get("stock"),
            "weight": None,
            "image_url": None,
            "position": 1,
        },
        record,
        default=True,
    )


def variants_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [_flatten(v, record, default=False) for v in record.get("variants") or []]


def _row(
    record: dict[str, Any], variant: Any, image: Any, kind: str, index: int, count: int, has: bool
) -> dict[str, Any]:
    row = dict(record)
    row["variant"], row["image"] = variant, image
    row["row"] = {"kind": kind, "index": index, "first": index == 0, "has_variants": has, "count": count}
    return row


def _variants(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    variants = variants_of(record)
    has = bool(variants)
    variants = variants or [default_variant(record)]
    for i, variant in enumerate(variants):
        yield _row(record, variant, None, "variant", i, len(variants), has)


def _variants_images(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    variants = variants_of(record)
    has = bool(variants)
    variants = variants or [default_variant(record)]
    images = record.get("images") or []
    count = max(len(variants), len(images))
    for i in range(count):
        variant = variants[i] if i < len(variants) else None
        image = images[i] if i < len(images) else None
        yield _row(record, variant, image, "variant" if variant is not None else "image", i, count, has)


def _parent_variants(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    variants = variants_of(record)
    if not variants:
        yield _row(record, default_variant(record), None, "simple", 0, 1, False)
        return
    count = len(variants) + 1
    yield _row(record, None, None, "parent", 0, count, True)
    for i, variant in enumerate(variants, start=1):
        yield _row(record, variant, None, "variation", i, count, True)


EXPANDERS: dict[str, Expander] = {
    "variants": _variants,
    "variants_images": _variants_images,
    "parent_variants": _parent_variants,
}


def relations_for(mode: str) -> set[str]:
    return {
        "product": set(),
        "variants": {"variants"},
        "variants_images": {"variants", "images"},
        "parent_variants": {"variants"},
    }[mode]
