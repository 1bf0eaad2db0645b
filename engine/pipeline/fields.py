"""The fields a template can read, their kinds, and how a source path is compiled into a getter."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import TemplateError
from engine.formats.base import ValueKind

# Product table columns a template may name directly.
PRODUCT_FIELDS: dict[str, ValueKind] = {
    "id": "integer",
    "sku": "text",
    "ean": "text",
    "upc": "text",
    "gtin": "text",
    "mpn": "text",
    "asin": "text",
    "title": "text",
    "description": "text",
    "short_description": "text",
    "brand": "text",
    "status": "text",
    "price": "money",
    "compare_at_price": "money",
    "sale_price": "money",
    "cost_price": "money",
    "currency": "text",
    "tax_rate": "decimal",
    "stock": "integer",
    "weight": "decimal",
    "width": "decimal",
    "height": "decimal",
    "depth": "decimal",
    "tags": "list",
    "attributes": "object",
    "bullet_points": "list",
    "seo_title": "text",
    "seo_description": "text",
    "created_at": "datetime",
    "updated_at": "datetime",
    "completeness": "integer",
    "grade": "text",
}
JSON_COLUMNS = frozenset({"tags", "attributes", "bullet_points"})

CATEGORY_FIELDS: dict[str, ValueKind] = {"id": "integer", "name": "text", "path": "text", "slug": "text"}
# file, data_uri, base64, width and height are filled when the template processes images (modes zip and base64)
IMAGE_FIELDS: dict[str, ValueKind] = {
    "url": "text",
    "alt": "text",
    "position": "integer",
    "is_primary": "bool",
    "file": "text",
    "data_uri": "text",
    "base64": "text",
    "width": "integer",
    "height": "integer",
}

# Relations loaded per chunk: name -> (sub-fields and kinds, the sub-field used when none is named).
RELATIONS: dict[str, tuple[dict[str, ValueKind], str]] = {
    "category": (CATEGORY_FIELDS, "path"),
    "categories": (CATEGORY_FIELDS, "path"),
    "images": (
        IMAGE_FIELDS,
        "url",
    ),
    "suppliers": (
        {
            "code": "text",
            "name": "text",
            "country": "text",
            "supplier_sku": "text",
            "cost_price": "money",
            "stock": "integer",
            "position": "integer",
        },
        "code",
    ),
    "variants": (
        {
            "sku": "text",
            "ean": "text",
            "options": "object",
            "price": "money",
            "stock": "integer",
            "weight": "decimal",
            "image_url": "text",
            "position": "integer",
        },
        "sku",
    ),
}
LIST_RELATIONS = frozenset({"categories", "images", "suppliers", "variants"})

# Objects of the current row (see engine.pipeline.rows): name -> (sub-fields, default sub-field, relation to load)
ROW_OBJECTS: dict[str, tuple[dict[str, ValueKind], str, str | None]] = {
    "variant": (
        {
            "sku": "text",
            "ean": "text",
            "options": "object",
            "option1_name": "text",
            "option1_value": "text",
            "option2_name": "text",
            "option2_value": "text",
            "option3_name": "text",
            "option3_value": "text",
            "price": "money",
            "own_price": "money",
            "stock": "integer",
            "weight": "decimal",
            "image_url": "text",
            "position": "integer",
            "is_default": "bool",
        },
        "sku",
        "variants",
    ),
    "image": (
        IMAGE_FIELDS,
        "url",
        "images",
    ),
    "row": (
        {"kind": "text", "index": "integer", "first": "bool", "has_variants": "bool", "count": "integer"},
        "kind",
        None,
    ),
}

# `mapped.<name>`: what the template's mappings give a product (engine.pipeline.platform_mappings): its platform
# `category`, its variation `theme`, and platform attributes (size, color...), the row's variant's value first.
MAPPED_ROOT = "mapped"
MAPPED_KINDS: dict[str, ValueKind] = {"category": "text", "theme": "text"}

_PATH = re.compile(r"^(?P<root>[a-z_][a-z0-9_]*)(?:\[(?P<index>-?\d+)\])?(?:\.(?P<sub>[A-Za-z0-9_\- ]+))?$")

Getter = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class FieldRef:
    """A parsed source path such as `images[0].url`, with what it needs loaded and the kind it yields."""

    path: str
    root: str
    index: int | None
    sub: str | None
    kind: ValueKind

    @property
    def needs_column(self) -> str | None:
        return self.root if self.root in PRODUCT_FIELDS else None

    @property
    def needs_relation(self) -> str | None:
        if self.root in ROW_OBJECTS:
            return ROW_OBJECTS[self.root][2]
        return self.root if self.root in RELATIONS else None

    @property
    def needs_mappings(self) -> bool:
        return self.root == MAPPED_ROOT

    @property
    def is_row_field(self) -> bool:
        return self.root in ROW_OBJECTS


def parse_path(path: str, column: str) -> FieldRef:
    """Parse and check a source path; raise TemplateError naming the column when it is not a known field."""
    match = _PATH.match(path.strip())
    if not match:
        raise TemplateError(f"source {path!r} is not a field path (e.g. title, images[0].url)", column)
    root, index_text, sub = match["root"], match["index"], match["sub"]
    index = int(index_text) if index_text is not None else None
    if root in PRODUCT_FIELDS:
        kind = PRODUCT_FIELDS[root]
        if root == "attributes":
            if index is not None:
                raise TemplateError("attributes take a name (attributes.color), not an index", column)
            return FieldRef(path, root, None, sub, "text" if sub else "object")
        if sub is not None:
            raise TemplateError(f"field {root!r} has no sub-field {sub!r}", column)
        if index is not None:
            if kind != "list":
                raise TemplateError(f"field {root!r} is not a list and cannot be indexed", column)
            kind = "text"
        return FieldRef(path, root, index, None, kind)
    if root in RELATIONS:
        subfields, default_sub = RELATIONS[root]
        if sub is not None and sub not in subfields:
            known = ", ".join(subfields)
            raise TemplateError(f"{root!r} has no sub-field {sub!r} (known: {known})", column)
        if index is not None and root not in LIST_RELATIONS:
            raise TemplateError(f"{root!r} is not a list and cannot be indexed", column)
        sub_kind = subfields[sub or default_sub]
        kind = sub_kind if (index is not None or root not in LIST_RELATIONS) else "list"
        return FieldRef(path, root, index, sub or default_sub, kind)
    if root == MAPPED_ROOT:
        if index is not None or not sub or not re.fullmatch(r"[a-z][a-z0-9_]*", sub):
            raise TemplateError("mapped takes a platform attribute name (mapped.category, mapped.size)", column)
        return FieldRef(path, root, None, sub, MAPPED_KINDS.get(sub, "text"))
    if root in ROW_OBJECTS:
        row_fields, default_sub, _relation = ROW_OBJECTS[root]
        if index is not None:
            raise TemplateError(f"{root!r} is not a list and cannot be indexed", column)
        if sub is not None and sub not in row_fields:
            raise TemplateError(f"{root!r} has no sub-field {sub!r} (known: {', '.join(row_fields)})", column)
        return FieldRef(path, root, None, sub or default_sub, row_fields[sub or default_sub])
    known_fields = ", ".join([*PRODUCT_FIELDS, *RELATIONS, *ROW_OBJECTS, MAPPED_ROOT])
    raise TemplateError(f"unknown field {root!r} (known: {known_fields})", column)


def make_getter(ref: FieldRef) -> Getter:
    """A fast function record -> value for a parsed path."""
    root, index, sub = ref.root, ref.index, ref.sub
    if root == MAPPED_ROOT:

        def mapped(rec: dict[str, Any]) -> Any:
            variant = rec.get("variant")
            own = variant.get("mapped") if variant else None
            if own and sub in own:
                return own[sub]
            product = rec.get("mapped")
            return product.get(sub) if product else None

        return mapped
    if root == "attributes":
        if sub is None:
            return lambda rec: rec.get("attributes")

        def attribute(rec: dict[str, Any]) -> Any:
            attrs = rec.get("attributes")
            return attrs.get(sub) if attrs else None

        return attribute
    if root in PRODUCT_FIELDS:
        if index is None:
            return lambda rec: rec.get(root)

        def nth_item(rec: dict[str, Any]) -> Any:
            items = rec.get(root)
            try:
                return items[index] if items else None
            except IndexError:
                return None

        return nth_item
    assert sub is not None
    if root not in LIST_RELATIONS:  # a single object: category, or a row object (variant, image, row)

        def single(rec: dict[str, Any]) -> Any:
            obj = rec.get(root)
            return obj.get(sub) if obj else None

        return single
    if index is None:

        def every(rec: dict[str, Any]) -> Any:
            return [item.get(sub) for item in rec.get(root) or ()]

        return every

    def nth(rec: dict[str, Any]) -> Any:
        items = rec.get(root)
        try:
            return items[index].get(sub) if items else None
        except IndexError:
            return None

    return nth
