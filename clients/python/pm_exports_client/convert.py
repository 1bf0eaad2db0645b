"""The client's conversions: plain Python values to request messages, response messages to plain Python values.

A product travels as the dict the engine calls its canonical product input (scalar fields, `category` path,
`tags`, `attributes`, `images`, `suppliers`, `variants`...); money and measures as decimal text. Its field list
is read from the Product message itself (PRODUCT_FIELD_KINDS). A template spec travels as the dict the engine
stores (format, rows, selection, columns, rules, options, file_name, delta, images, notifications), so that a
spec read from the API and sent back is saved unchanged.

The well-known-type helpers (Struct, Value, Timestamp) and the product field table are also used by the
engine's server-side conversions (engine.rpc.convert); this package never imports the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.struct_pb2 import Struct, Value
from google.protobuf.timestamp_pb2 import Timestamp

from pm_exports_client.v1 import catalog_pb2, exports_pb2, notifications_pb2

# --- well-known types -----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Struct numbers are doubles: give whole ones back as ints (a template's `length: 80` stays an int)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def struct_to_dict(struct: Struct) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return _plain(MessageToDict(struct))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def dict_to_struct(data: Mapping[str, Any] | None) -> Struct:
    struct = Struct()
    if data:
        struct.update(_jsonable(data))
    return struct


def value_to_python(value: Value) -> Any:
    """A google.protobuf.Value as the plain value it holds (whole numbers as ints)."""
    from google.protobuf.json_format import MessageToDict

    return _plain(MessageToDict(value))


def python_to_value(data: Any) -> Value:
    from google.protobuf.json_format import ParseDict

    return ParseDict(_jsonable(data), Value())


def to_timestamp(value: dt.datetime | float) -> Timestamp:
    """A Timestamp from an aware datetime, a naive one taken as UTC, or seconds since the epoch."""
    stamp = Timestamp()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        stamp.FromDatetime(value)
    else:
        stamp.FromNanoseconds(round(value * 1e9))
    return stamp


def from_timestamp(stamp: Timestamp) -> dt.datetime:
    return stamp.ToDatetime(tzinfo=dt.UTC)


def optional_time(msg: Any, name: str) -> dt.datetime | None:
    """The message's timestamp field `name` as an aware UTC datetime, None when it is not set."""
    return from_timestamp(getattr(msg, name)) if msg.HasField(name) else None


# --- export definitions and template specs --------------------------------------------------------------

SELECTION_LISTS = ("statuses", "suppliers", "ids", "skus", "eans", "brands", "tags")
SELECTION_SCALARS = ("stock_min", "stock_max", "completeness_min", "has_images", "has_price", "has_ean")


def selection_to_message(selection: Mapping[str, Any]) -> exports_pb2.Selection:
    """A selection dict (engine.pipeline.spec) as a message; categories given by id go to `category_ids`.
    Raises ValueError on an unknown criterion."""
    msg = exports_pb2.Selection()
    for key, value in selection.items():
        if value is None:
            continue
        if key == "categories":
            for item in value:
                if isinstance(item, int) and not isinstance(item, bool):
                    msg.category_ids.append(item)
                else:
                    msg.categories.append(str(item))
        elif key == "category_ids":
            msg.category_ids.extend(int(v) for v in value)
        elif key == "ids":
            msg.ids.extend(int(v) for v in value)
        elif key in SELECTION_LISTS:
            getattr(msg, key).extend(str(v) for v in value)
        elif key in {"price_min", "price_max"}:
            setattr(msg, key, _text(value))
        elif key == "updated_since":
            when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
            msg.updated_since.CopyFrom(to_timestamp(when))
        elif key in SELECTION_SCALARS:
            setattr(msg, key, value)
        else:
            raise ValueError(f"unknown selection criterion {key!r}")
    return msg


def selection_from_message(msg: exports_pb2.Selection) -> dict[str, Any]:
    """The criteria that are set, as a selection dict (categories by path and by id in one list)."""
    out: dict[str, Any] = {}
    for name in SELECTION_LISTS:
        values = list(getattr(msg, name))
        if values:
            out[name] = values
    categories: list[Any] = [*msg.categories, *msg.category_ids]
    if categories:
        out["categories"] = categories
    for name in ("price_min", "price_max", *SELECTION_SCALARS):
        if msg.HasField(name):
            out[name] = getattr(msg, name)
    if msg.HasField("updated_since"):
        out["updated_since"] = from_timestamp(msg.updated_since).isoformat()
    return out


def column_to_message(column: Mapping[str, Any]) -> exports_pb2.Column:
    """A column dict ({"header", one of "source"/"literal"/"pattern", "transforms", "on"}) as a message. A
    transformation written as an object keeps its `args` (even empty), one written as a name has none."""
    msg = exports_pb2.Column(header=str(column.get("header", "")))
    for kind in ("source", "pattern"):
        if kind in column:
            setattr(msg, kind, str(column[kind]))
    if "literal" in column:
        literal = column["literal"]
        if isinstance(literal, str):
            msg.literal = literal
        else:
            msg.literal_value.CopyFrom(python_to_value(literal))
    for step in column.get("transforms") or []:
        if isinstance(step, str):
            msg.transforms.append(exports_pb2.Transform(name=step))
        elif isinstance(step, Mapping):
            args = {k: v for k, v in step.items() if k != "name"}
            msg.transforms.append(exports_pb2.Transform(name=str(step.get("name", "")), args=dict_to_struct(args)))
        else:
            raise ValueError(f"a transformation must be a name or an object with a name, got {step!r}")
    if "on" in column:
        msg.on.CopyFrom(python_to_value(column["on"]))
    return msg


def column_from_message(msg: exports_pb2.Column) -> dict[str, Any]:
    column: dict[str, Any] = {"header": msg.header}
    kind = msg.WhichOneof("value")
    if kind == "literal_value":
        column["literal"] = value_to_python(msg.literal_value)
    elif kind is not None:
        column[kind] = getattr(msg, kind)
    if msg.transforms:
        column["transforms"] = [
            {"name": t.name, **struct_to_dict(t.args)} if t.HasField("args") else t.name for t in msg.transforms
        ]
    if msg.HasField("on"):
        column["on"] = value_to_python(msg.on)
    return column


def policy_to_message(policy: Mapping[str, Any]) -> notifications_pb2.NotificationPolicy:
    """A notifications policy dict ({on, warn_excluded_percent, email, webhooks, in_app}) as a message."""
    msg = notifications_pb2.NotificationPolicy(
        on=list(policy.get("on") or []), webhooks=list(policy.get("webhooks") or [])
    )
    if policy.get("warn_excluded_percent") is not None:
        msg.warn_excluded_percent = float(policy["warn_excluded_percent"])
    for entry in policy.get("email") or []:
        msg.email.append(notifications_pb2.EmailNotification(integration=entry["integration"], to=list(entry["to"])))
    if policy.get("in_app") is not None:
        msg.in_app = bool(policy["in_app"])
    return msg


def policy_from_message(msg: notifications_pb2.NotificationPolicy) -> dict[str, Any]:
    """The notifications policy dict of a message: the parts that are set (the engine fills in the defaults)."""
    policy: dict[str, Any] = {}
    if msg.on:
        policy["on"] = list(msg.on)
    if msg.HasField("warn_excluded_percent"):
        policy["warn_excluded_percent"] = msg.warn_excluded_percent
    if msg.email:
        policy["email"] = [{"integration": e.integration, "to": list(e.to)} for e in msg.email]
    if msg.webhooks:
        policy["webhooks"] = list(msg.webhooks)
    if msg.HasField("in_app"):
        policy["in_app"] = msg.in_app
    return policy


def spec_to_message(spec: Mapping[str, Any]) -> exports_pb2.TemplateSpec:
    """A template spec dict as a message. Raises ValueError on a key the spec does not have."""
    known = {"format", "rows", "selection", "columns", "rules", "options", "file_name", "delta", "images", "mappings"}
    known.add("notifications")
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown template spec key(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    msg = exports_pb2.TemplateSpec(
        format=str(spec.get("format") or ""),
        rows=str(spec.get("rows") or ""),
        file_name=str(spec.get("file_name") or ""),
        delta=spec.get("delta") or False,
    )
    if spec.get("selection") is not None:
        msg.selection.CopyFrom(selection_to_message(spec["selection"]))
    msg.columns.extend(column_to_message(c) for c in spec.get("columns") or [])
    msg.rules.extend(dict_to_struct(rule) for rule in spec.get("rules") or [])
    for name in ("options", "images", "mappings"):
        if spec.get(name) is not None:
            getattr(msg, name).CopyFrom(dict_to_struct(spec[name]))
    if spec.get("notifications"):
        msg.notifications.CopyFrom(policy_to_message(spec["notifications"]))
    return msg


def spec_from_message(msg: exports_pb2.TemplateSpec) -> dict[str, Any]:
    """The spec dict of a message: the parts that are set (the engine fills in the defaults)."""
    spec: dict[str, Any] = {"format": msg.format, "columns": [column_from_message(c) for c in msg.columns]}
    if msg.rows:
        spec["rows"] = msg.rows
    if msg.HasField("selection"):
        spec["selection"] = selection_from_message(msg.selection)
    if msg.rules:
        spec["rules"] = [struct_to_dict(rule) for rule in msg.rules]
    for name in ("options", "images", "mappings"):
        if msg.HasField(name):
            spec[name] = struct_to_dict(getattr(msg, name))
    if msg.file_name:
        spec["file_name"] = msg.file_name
    if msg.delta:
        spec["delta"] = True
    if msg.HasField("notifications"):
        spec["notifications"] = policy_from_message(msg.notifications)
    return spec


# --- products -----------------------------------------------------------------------------------------------

# How a Product field travels: "text" (optional string: text, or money and measures as decimal text), "integer"
# (optional number), "list" (repeated string), "map", "relation" (repeated message: images, suppliers,
# variants) or "timestamp".
ProductFieldKind = Literal["text", "integer", "list", "map", "relation", "timestamp"]
_INTEGER_TYPES = (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64)


def _product_field_kind(field: FieldDescriptor) -> ProductFieldKind:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        return "map"
    if field.is_repeated:
        return "list" if message is None else "relation"
    if message is not None:
        return "timestamp"
    return "integer" if field.cpp_type in _INTEGER_TYPES else "text"


# The product field list, read from the message (the engine's catalogue field lists are tested against it).
PRODUCT_FIELD_KINDS: dict[str, ProductFieldKind] = {
    field.name: _product_field_kind(field) for field in catalog_pb2.Product.DESCRIPTOR.fields
}
OUTPUT_ONLY_FIELDS = frozenset({"id", "completeness", "grade", "created_at", "updated_at"})
INPUT_FIELDS = tuple(name for name in PRODUCT_FIELD_KINDS if name not in OUTPUT_ONLY_FIELDS)


def relation_to_python(msg: catalog_pb2.Image | catalog_pb2.SupplierLink | catalog_pb2.Variant) -> dict[str, Any]:
    """An image, supplier link or variant as a dict: every field, unset ones as None, options as {name: value}."""
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.is_repeated:  # Variant.options
            out[field.name] = {option.name: option.value for option in value}
        else:
            out[field.name] = value if not field.has_presence or msg.HasField(field.name) else None
    return out


def product_field_value(msg: catalog_pb2.Product, name: str) -> Any:
    """One field of a product message as a plain value: None when an optional field is unset, lists and maps
    (possibly empty) otherwise. Raises ValueError on a name the Product message does not have."""
    kind = PRODUCT_FIELD_KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown field {name!r} (known: {', '.join(INPUT_FIELDS)})")
    value = getattr(msg, name)
    if kind in ("text", "integer"):
        return value if msg.HasField(name) else None
    if kind == "timestamp":
        return from_timestamp(value) if msg.HasField(name) else None
    if kind == "map":
        return dict(value)
    if kind == "relation":
        return [relation_to_python(item) for item in value]
    return list(value)


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def _text_list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(v) for v in value if v is not None]
    raise ValueError(f"{name} must be a list or a '|'-separated text")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _images(value: Any) -> list[catalog_pb2.Image]:
    items = _text_list("images", value) if isinstance(value, str) else list(value or [])
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(catalog_pb2.Image(url=item))
        elif isinstance(item, Mapping):
            image = catalog_pb2.Image(url=str(item.get("url") or ""))
            if not _blank(item.get("alt")):
                image.alt = str(item["alt"])
            out.append(image)
        else:
            raise ValueError("an image must be a URL or an object with a url")
    return out


def _suppliers(value: Any) -> list[catalog_pb2.SupplierLink]:
    out = []
    for item in value or []:
        if not isinstance(item, Mapping):
            raise ValueError("a supplier link must be an object with a code")
        link = catalog_pb2.SupplierLink(code=str(item.get("code") or ""))
        if not _blank(item.get("supplier_sku")):
            link.supplier_sku = str(item["supplier_sku"])
        if not _blank(item.get("cost_price")):
            link.cost_price = _text(item["cost_price"])
        if not _blank(item.get("stock")):
            link.stock = _whole("supplier stock", item["stock"])
        out.append(link)
    return out


def _variants(value: Any) -> list[catalog_pb2.Variant]:
    out = []
    for item in value or []:
        if not isinstance(item, Mapping):
            raise ValueError("a variant must be an object")
        variant = catalog_pb2.Variant()
        for name in ("sku", "ean", "image_url"):
            if not _blank(item.get(name)):
                setattr(variant, name, str(item[name]))
        for name in ("price", "weight"):
            if not _blank(item.get(name)):
                setattr(variant, name, _text(item[name]))
        if not _blank(item.get("stock")):
            variant.stock = _whole("variant stock", item["stock"])
        options = item.get("options") or {}
        pairs = options.items() if isinstance(options, Mapping) else [(o["name"], o["value"]) for o in options]
        variant.options.extend(catalog_pb2.VariantOption(name=str(k), value=str(v)) for k, v in pairs)
        out.append(variant)
    return out


_RELATION_MESSAGES = {"images": _images, "suppliers": _suppliers, "variants": _variants}


def product_to_message(data: Mapping[str, Any]) -> tuple[catalog_pb2.Product, list[str]]:
    """A product dict as a message, and the update mask that writes exactly its keys (a key whose value is
    None or blank clears that field). Output-only keys are ignored; raises ValueError on an unknown key."""
    unknown = sorted(k for k in data if k not in PRODUCT_FIELD_KINDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    msg = catalog_pb2.Product()
    mask = [name for name in data if name not in OUTPUT_ONLY_FIELDS]
    for name in mask:
        value, kind = data[name], PRODUCT_FIELD_KINDS[name]
        if kind == "text" and not _blank(value):
            setattr(msg, name, _text(value))
        elif kind == "integer" and not _blank(value):
            setattr(msg, name, _whole(name, value))
        elif kind == "list":
            getattr(msg, name).extend(_text_list(name, value))
        elif kind == "map" and value:
            if not isinstance(value, Mapping):
                raise ValueError(f"{name} must be an object of name: value")
            getattr(msg, name).update({str(k): str(v) for k, v in value.items() if v is not None})
        elif kind == "relation":
            getattr(msg, name).extend(_RELATION_MESSAGES[name](value))
    return msg, mask


def product_from_message(msg: catalog_pb2.Product) -> dict[str, Any]:
    """A product read back (GetProduct) as a dict: the optional fields that are set, every list and map field
    (empty or not), and the output-only fields (id, completeness, grade, created_at, updated_at)."""
    data = {name: product_field_value(msg, name) for name in PRODUCT_FIELD_KINDS}
    return {name: value for name, value in data.items() if value is not None}
