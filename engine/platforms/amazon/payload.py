"""Amazon JSON_LISTINGS_FEED messages from mapped rows: pure functions, no I/O.

How columns become a message (headers are the contract):

- `sku` (required): the message's `sku`; a row whose sku is empty is rejected.
- `product_type` / `operation_type` / `requirements` (optional): per-row `productType` / `operationType` /
  `requirements`, overriding the settings; `operation_type` is UPDATE, PARTIAL_UPDATE or DELETE (a DELETE message
  carries nothing else), `requirements` LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY (an offer on an
  existing ASIN). A message that creates or changes a product needs a real product type: Amazon refuses product
  creation under the generic `PRODUCT` type, which only offer-only listings may use.
- `attributes.<name>[.<path>]`: attribute `<name>`, which Amazon always takes as a list of objects. The cell
  goes at `<path>` inside the object (default `value`; dotted, a number is a list position), so
  `attributes.item_name` gives `"item_name": [{"value": ..., "language_tag": ..., "marketplace_id": ...}]` and
  `attributes.purchasable_offer.our_price.0.schedule.0.value_with_tax` builds the nested offer. Columns naming
  the same attribute fill the same object. A list cell gives one object per item (e.g. bullet points), the
  attribute's other cells repeated in each. Empty cells are left out, and so is an attribute left empty.
  `marketplace_id` is added to every object except for attributes in `no_marketplace`
  (`fulfillment_availability` is not marketplace-specific), and `language_tag` to objects of the attributes in
  `localized` (texts: item_name, brand, bullet_point...).

A message Amazon would refuse (empty sku, unknown operation, no attribute at all) raises ItemRejected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import ItemRejected, TemplateError

MAX_MESSAGES = 25_000  # per feed document
FEED_VERSION = "2.0"
OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "DELETE")
OFFER_ONLY_PRODUCT_TYPE = "PRODUCT"  # the generic type Amazon accepts for offer-only listings only
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
DEFAULT_LOCALIZED = (
    "item_name",
    "brand",
    "manufacturer",
    "bullet_point",
    "product_description",
    "generic_keyword",
    "color",
    "size",
    "material",
    "model_name",
    "style",
    "pattern",
    "item_type_name",
    "special_feature",
    "department",
)
DEFAULT_NO_MARKETPLACE = ("fulfillment_availability",)

_ATTRIBUTE = re.compile(r"^attributes\.(?P<name>[a-z][a-z0-9_]*)(?:\.(?P<path>[A-Za-z0-9_.]+))?$")
_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$")

AttributePath = tuple[str | int, ...]


@dataclass(frozen=True)
class MessageSettings:
    """The defaults every message gets unless its row says otherwise."""

    marketplace_id: str
    language_tag: str
    product_type: str | None = None  # the row's product type when it has none
    requirements: str = "LISTING"
    operation_type: str = "UPDATE"
    localized: frozenset[str] = frozenset(DEFAULT_LOCALIZED)
    no_marketplace: frozenset[str] = frozenset(DEFAULT_NO_MARKETPLACE)


class MessagePlan:
    """The headers compiled once: where the sku, product type and operation are, and each attribute's cells."""

    def __init__(self, headers: Sequence[str]) -> None:
        self.sku: int | None = None
        self.product_type: int | None = None
        self.operation_type: int | None = None
        self.requirements: int | None = None
        self.attributes: dict[str, list[tuple[int, AttributePath]]] = {}
        for index, header in enumerate(headers):
            label = f"column {index + 1} ({header!r})"
            if header in ("sku", "product_type", "operation_type", "requirements"):
                setattr(self, header, index)
                continue
            match = _ATTRIBUTE.match(header)
            if match is None:
                raise TemplateError(
                    "an Amazon feed column is sku, product_type, operation_type, requirements or "
                    "attributes.<name>[.<path>]",
                    label,
                )
            try:
                path = _parse_path(match["path"])
            except ValueError:
                raise TemplateError(
                    "the path after the attribute name must be dotted names or positions", label
                ) from None
            self.attributes.setdefault(match["name"], []).append((index, path))
        if self.sku is None:
            raise TemplateError("an Amazon feed needs a column with the header 'sku'", "columns")


def check_headers(headers: Sequence[str]) -> None:
    """Raise TemplateError naming the first header a message cannot be built from."""
    MessagePlan(headers)


def feed_header(seller_id: str, issue_locale: str) -> dict[str, Any]:
    """The `header` part of a feed document (the `messages` follow it)."""
    return {"header": {"sellerId": seller_id, "version": FEED_VERSION, "issueLocale": issue_locale}}


def build_message(
    plan: MessagePlan, settings: MessageSettings, values: Sequence[Any], message_id: int
) -> dict[str, Any]:
    """The message for one mapped row (`values` in the plan's header order); raises ItemRejected."""
    assert plan.sku is not None
    sku = values[plan.sku]
    if is_empty(sku):
        raise ItemRejected(
            f"message {message_id} has an empty sku: Amazon needs a seller SKU per message "
            "(add a rule `required` on the sku's source)"
        )
    operation = settings.operation_type
    if plan.operation_type is not None and not is_empty(values[plan.operation_type]):
        operation = str(values[plan.operation_type]).strip().upper()
        if operation not in OPERATIONS:
            raise ItemRejected(f"operation_type {operation!r} is not one of {', '.join(OPERATIONS)}", str(sku))
    message: dict[str, Any] = {"messageId": message_id, "sku": str(sku), "operationType": operation}
    if operation == "DELETE":
        return message
    requirements = settings.requirements
    if plan.requirements is not None and not is_empty(values[plan.requirements]):
        requirements = str(values[plan.requirements]).strip().upper()
        if requirements not in REQUIREMENTS:
            raise ItemRejected(f"requirements {requirements!r} is not one of {', '.join(REQUIREMENTS)}", str(sku))
    product_type = settings.product_type
    if plan.product_type is not None and not is_empty(values[plan.product_type]):
        product_type = str(values[plan.product_type]).strip()
    if product_type is None and requirements == "LISTING_OFFER_ONLY":
        product_type = OFFER_ONLY_PRODUCT_TYPE
    if product_type is None or (product_type == OFFER_ONLY_PRODUCT_TYPE and requirements != "LISTING_OFFER_ONLY"):
        raise ItemRejected(
            f"message {message_id} has no product type: map the product's category to an Amazon product type "
            "(mappings.categories); Amazon accepts the generic PRODUCT type for offer-only listings only",
            str(sku),
        )
    message["productType"] = product_type
    if operation == "UPDATE":
        message["requirements"] = requirements
    attributes = build_attributes(plan, settings, values)
    if not attributes:
        raise ItemRejected(f"every attribute is empty, and an {operation} message needs one", str(sku))
    message["attributes"] = attributes
    return message


def build_attributes(plan: MessagePlan, settings: MessageSettings, values: Sequence[Any]) -> dict[str, Any]:
    """The `attributes` object of a row: each attribute a list of objects, empty ones left out."""
    out: dict[str, Any] = {}
    for name, cells in plan.attributes.items():
        filled = [(path, values[index]) for index, path in cells if not is_empty(values[index])]
        if not filled:
            continue
        lists = [v for _path, v in filled if isinstance(v, list | tuple)]
        count = max((len(v) for v in lists), default=1)
        objects = []
        for i in range(count):
            obj: dict[str, Any] = {}
            for path, value in filled:
                if isinstance(value, list | tuple):
                    if i >= len(value) or is_empty(value[i]):
                        continue
                    value = value[i]
                _put(obj, path, value)
            if not obj:
                continue
            if name in settings.localized:
                obj.setdefault("language_tag", settings.language_tag)
            if name not in settings.no_marketplace:
                obj.setdefault("marketplace_id", settings.marketplace_id)
            objects.append(obj)
        if objects:
            out[name] = objects
    return out


def delete_message(sku: str, message_id: int) -> dict[str, Any]:
    """A DELETE message: the listing of `sku` is removed."""
    return {"messageId": message_id, "sku": sku, "operationType": "DELETE"}


def removed_skus(record: Mapping[str, Any]) -> list[str]:
    """The SKUs to delete for a product removed since the last delta run: its variants' first, then its own."""
    return [str(sku) for sku in [*(record.get("variant_skus") or []), record.get("sku")] if not is_empty(sku)]


def is_empty(value: Any) -> bool:
    """None, an empty text or an empty list or object: a cell Amazon gets nothing from."""
    return value is None or value == "" or (isinstance(value, list | tuple | Mapping) and not value)


def _parse_path(path: str | None) -> AttributePath:
    if not path:
        return ("value",)
    segments = path.split(".")
    if not all(_SEGMENT.match(s) for s in segments) or segments[0].isdigit():
        raise ValueError(path)
    return tuple(int(s) if s.isdigit() else s for s in segments)


def _put(obj: dict[str, Any], path: AttributePath, value: Any) -> None:
    """Set `value` at `path` inside `obj`, creating the objects and lists on the way."""
    node: Any = obj
    for key, following in zip(path, (*path[1:], None), strict=True):
        if following is None:
            child: Any = value
        else:
            child = [] if isinstance(following, int) else {}
        if isinstance(key, int):
            while len(node) <= key:
                node.append(None)
            if following is None or not isinstance(node[key], type(child)):
                node[key] = child
            node = node[key]
        else:
            if following is None or not isinstance(node.get(key), type(child)):
                node[key] = child
            node = node[key]
