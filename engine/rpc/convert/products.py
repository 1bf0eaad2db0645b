"""Products: an UpsertProducts request to a product input dict, a product of engine.services.catalog to a message.

The field list is the Product message's own (pm_exports_client.convert.PRODUCT_FIELD_KINDS); the catalogue's
(engine.catalog.store) is tested against it in tests/test_product_fields.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from google.protobuf.message import Message
from pm_exports_client.convert import (
    INPUT_FIELDS,
    PRODUCT_FIELD_KINDS,
    product_field_value,
    to_timestamp,
)
from pm_exports_client.v1 import catalog_pb2


def product_input(request: catalog_pb2.UpsertProductsRequest) -> dict[str, Any]:
    """The product input dict of an upsert message. With an update mask: exactly the masked fields (unset ones
    as None or empty, which clears them); without: the fields that are set (lists and maps when not empty).
    Raises ValueError on a mask path that is not an input field."""
    paths = list(request.update_mask.paths)
    unknown = [path for path in paths if path not in INPUT_FIELDS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} in the update mask (known: {', '.join(INPUT_FIELDS)})")
    if paths:
        return {path: product_field_value(request.product, path) for path in paths}
    data = {name: product_field_value(request.product, name) for name in INPUT_FIELDS}
    return {name: value for name, value in data.items() if value is not None and value not in ([], {})}


def _wire_scalar(value: Any) -> Any:
    """Money and measures travel as decimal text, whole numbers as numbers, text as it is."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _fill(msg: Message, data: Mapping[str, Any]) -> None:
    """Set the fields of an image, supplier link or variant message from a dict (None leaves a field unset)."""
    for field in msg.DESCRIPTOR.fields:
        value = data.get(field.name)
        if value is None:
            continue
        if field.is_repeated:  # Variant.options, stored as {name: value}
            getattr(msg, field.name).extend(
                catalog_pb2.VariantOption(name=str(k), value=str(v)) for k, v in value.items()
            )
        else:
            setattr(msg, field.name, _wire_scalar(value))


def product_to_proto(data: Mapping[str, Any]) -> catalog_pb2.Product:
    """A product dict of engine.services.catalog.get_product as a message, output-only fields included."""
    msg = catalog_pb2.Product()
    for name, kind in PRODUCT_FIELD_KINDS.items():
        value = data.get(name)
        if value is None:
            continue
        if kind == "timestamp":
            getattr(msg, name).CopyFrom(to_timestamp(value))
        elif kind == "list":
            getattr(msg, name).extend(str(v) for v in value)
        elif kind == "map":
            getattr(msg, name).update({str(k): str(v) for k, v in value.items() if v is not None})
        elif kind == "relation":
            for item in value:
                _fill(getattr(msg, name).add(), item)
        else:
            setattr(msg, name, _wire_scalar(value))
    return msg
