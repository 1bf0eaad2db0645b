"""Completeness score (0-100) and grade of a product, from weighted criteria (DESIGN §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# criterion -> weight; the weights add up to 100.
WEIGHTS: dict[str, int] = {
    "title": 9,
    "gtin": 9,
    "price": 9,
    "brand": 9,
    "description": 9,
    "image": 5,
    "category": 5,
    "weight_or_dimensions": 5,
    "supplier": 5,
    "short_description": 5,
    "asin": 5,
    "cost_price": 5,
    "seo": 5,
    "attributes": 5,
    "bullet_points": 5,
    "tags": 5,
}
assert sum(WEIGHTS.values()) == 100

GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def grade_for(score: int) -> str:
    for floor, grade in GRADES:
        if score >= floor:
            return grade
    return "F"


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple):
        return len(value) > 0
    return True


def criteria_met(product: Mapping[str, Any], *, image_count: int, supplier_count: int) -> dict[str, bool]:
    """Which criteria a product meets. `product` holds the Product columns (category as `category_id`)."""
    price = product.get("price")
    return {
        "title": _filled(product.get("title")),
        "gtin": _filled(product.get("ean")) or _filled(product.get("gtin")) or _filled(product.get("upc")),
        "price": price is not None and price > 0,
        "brand": _filled(product.get("brand")),
        "description": _filled(product.get("description")),
        "image": image_count > 0,
        "category": product.get("category_id") is not None or product.get("category") is not None,
        "weight_or_dimensions": _filled(product.get("weight"))
        or all(_filled(product.get(k)) for k in ("width", "height", "depth")),
        "supplier": supplier_count > 0,
        "short_description": _filled(product.get("short_description")),
        "asin": _filled(product.get("asin")),
        "cost_price": _filled(product.get("cost_price")),
        "seo": _filled(product.get("seo_title")) and _filled(product.get("seo_description")),
        "attributes": _filled(product.get("attributes")),
        "bullet_points": _filled(product.get("bullet_points")),
        "tags": _filled(product.get("tags")),
    }


def score(product: Mapping[str, Any], *, image_count: int, supplier_count: int) -> tuple[int, str]:
    """(score, grade) of a product."""
    met = criteria_met(product, image_count=image_count, supplier_count=supplier_count)
    total = sum(WEIGHTS[name] for name, ok in met.items() if ok)
    return total, grade_for(total)


def missing(product: Mapping[str, Any], *, image_count: int, supplier_count: int) -> list[str]:
    """The criteria a product does not meet, heaviest first (used in exclusion messages)."""
    met = criteria_met(product, image_count=image_count, supplier_count=supplier_count)
    return sorted((k for k, ok in met.items() if not ok), key=lambda k: -WEIGHTS[k])
