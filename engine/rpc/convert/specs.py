"""Export definitions and template specs: request messages to the dicts engine.services takes, stored specs to messages.

A spec dict is the one the engine stores (format, rows, selection, columns, rules, options, file_name, delta,
images, notifications). The client package has the mirror conversions (pm_exports_client.convert);
tests/test_rpc_convert.py checks that a spec survives client -> engine and engine -> client unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pm_exports_client.convert import (
    dict_to_struct,
    from_timestamp,
    policy_from_message,
    policy_to_message,
    python_to_value,
    struct_to_dict,
    to_timestamp,
    value_to_python,
)
from pm_exports_client.v1 import exports_pb2

SELECTION_LISTS = ("statuses", "suppliers", "ids", "skus", "eans", "brands", "tags")
SELECTION_SCALARS = ("price_min", "price_max", "stock_min", "stock_max", "completeness_min", "has_images",
                     "has_price", "has_ean")  # fmt: skip


# --- requests to dicts --------------------------------------------------------------------------------------


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
    for name in SELECTION_SCALARS:
        if msg.HasField(name):
            out[name] = getattr(msg, name)
    if msg.HasField("updated_since"):
        out["updated_since"] = from_timestamp(msg.updated_since).isoformat()
    return out


def column_from_message(msg: exports_pb2.Column) -> dict[str, Any]:
    """A column dict: header, one of source/literal/pattern, transforms (a name, or an object when it has
    args), and `on` when set."""
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


def export_request(definition: exports_pb2.ExportDefinition) -> tuple[str | None, dict[str, Any]]:
    """(template name or None, overrides for engine.services.exports.resolve_request)."""
    template = definition.template if definition.HasField("template") else None
    overrides: dict[str, Any] = {}
    if definition.HasField("format"):
        overrides["format"] = definition.format
    if definition.HasField("selection"):
        overrides["selection"] = selection_from_message(definition.selection)
    if definition.columns:
        overrides["columns"] = [column_from_message(c) for c in definition.columns]
    if definition.fields:
        overrides["fields"] = list(definition.fields)
    if definition.HasField("options"):
        overrides["options"] = struct_to_dict(definition.options)
    if definition.HasField("file_name"):
        overrides["file_name"] = definition.file_name
    if definition.deliveries:
        overrides["deliveries"] = [delivery_target(d) for d in definition.deliveries]
    if definition.HasField("notifications"):
        overrides["notifications"] = policy_from_message(definition.notifications)
    return template, overrides


def delivery_target(target: Any) -> dict[str, Any]:
    """A DeliveryTarget as a spec delivery: {integration, path, gate} (empty parts left out)."""
    out: dict[str, Any] = {"integration": target.integration}
    if target.path:
        out["path"] = target.path
    if target.HasField("gate"):
        gate = {
            name: getattr(target.gate, name)
            for name in ("max_excluded_percent", "max_drop_percent")
            if target.gate.HasField(name)
        }
        if gate:
            out["gate"] = gate
    return out


def template_spec(request: Any) -> dict[str, Any] | None:
    """The spec dict of a Create/UpdateTemplateRequest, or None when it has none."""
    return spec_from_message(request.spec) if request.HasField("spec") else None


# --- stored specs to messages -------------------------------------------------------------------------------


def selection_to_proto(selection: Mapping[str, Any]) -> exports_pb2.Selection:
    """A stored selection as a message; categories given by id go to `category_ids`."""
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
        elif key == "ids":
            msg.ids.extend(int(v) for v in value)
        elif key in SELECTION_LISTS:
            getattr(msg, key).extend(str(v) for v in value)
        elif key in {"price_min", "price_max"}:
            setattr(msg, key, format(value, "f") if isinstance(value, Decimal) else str(value))
        elif key == "updated_since":
            when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
            msg.updated_since.CopyFrom(to_timestamp(when))
        elif key in SELECTION_SCALARS:
            setattr(msg, key, value)
        else:
            raise ValueError(f"unknown selection criterion {key!r}")
    return msg


def column_to_proto(column: Mapping[str, Any]) -> exports_pb2.Column:
    """A stored column as a message (transformations are stored as names or as objects with a name)."""
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
        else:
            args = {k: v for k, v in step.items() if k != "name"}
            msg.transforms.append(exports_pb2.Transform(name=str(step.get("name", "")), args=dict_to_struct(args)))
    if "on" in column:
        msg.on.CopyFrom(python_to_value(column["on"]))
    return msg


def spec_to_proto(spec: Mapping[str, Any]) -> exports_pb2.TemplateSpec:
    """A stored template spec as a message; keys the message has no field for are left out."""
    msg = exports_pb2.TemplateSpec(
        format=str(spec.get("format") or ""),
        rows=str(spec.get("rows") or ""),
        file_name=str(spec.get("file_name") or ""),
        delta=spec.get("delta") or False,
    )
    if spec.get("selection") is not None:
        msg.selection.CopyFrom(selection_to_proto(spec["selection"]))
    msg.columns.extend(column_to_proto(c) for c in spec.get("columns") or [])
    msg.rules.extend(dict_to_struct(rule) for rule in spec.get("rules") or [])
    for name in ("options", "images", "mappings"):
        if spec.get(name) is not None:
            getattr(msg, name).CopyFrom(dict_to_struct(spec[name]))
    if spec.get("notifications"):
        msg.notifications.CopyFrom(policy_to_message(spec["notifications"]))
    return msg
