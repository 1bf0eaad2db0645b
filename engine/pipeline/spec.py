"""ExportSpec: what one export needs (format, selection, columns, rules, options, file name), as data."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from engine.catalog.models import PRODUCT_STATUSES
from engine.errors import InvalidRequest, TemplateError

SELECTION_KEYS = {
    "categories": list,
    "suppliers": list,
    "statuses": list,
    "ids": list,
    "skus": list,
    "eans": list,
    "brands": list,
    "tags": list,
    "stock_min": int,
    "stock_max": int,
    "price_min": (int, float, str),
    "price_max": (int, float, str),
    "has_images": bool,
    "has_price": bool,
    "has_ean": bool,
    "completeness_min": int,
    "updated_since": str,
}
DEFAULT_FILE_NAME = "{template}-{datetime}.{format}"
DEFAULT_STATUSES = ["active"]
DEFAULT_SINK = "file"
MAX_DELIVERIES = 20
DELIVERY_KEYS = {"integration", "path", "gate"}
GATE_KEYS = ("max_excluded_percent", "max_drop_percent")  # the publish gate of a delivery (engine.jobs.gate)
NOTIFY_ON = ("failed", "partial", "completed", "warnings")  # when a job's end is notified
NOTIFICATION_KEYS = {"on", "warn_excluded_percent", "email", "webhooks", "in_app"}
DEFAULT_NOTIFY_ON = ["failed"]
DEFAULT_WARN_EXCLUDED_PERCENT = 5.0
MAX_NOTIFY_EMAILS = 10  # smtp integrations one policy mails through
MAX_NOTIFY_RECIPIENTS = 50  # addresses per email entry (the smtp destination's own bound)
MAX_NOTIFY_WEBHOOKS = 20

# Bounds on what a template (or a request's overrides) may hold, checked before anything is compiled or saved.
# The whole spec bound keeps every answer that carries a spec (a template, a job) far below the 8 MiB gRPC
# message limit even where protobuf's Struct makes a value several times bigger than its JSON.
MAX_SPEC_BYTES = 256 * 1024  # the spec as JSON
MAX_COLUMNS = 1_000
MAX_RULES = 1_000
MAX_STEPS_PER_COLUMN = 50  # transformations in one column's chain
MAX_PATTERNS = 100  # regular expressions (regex_replace steps and regex rules) in one template
MAX_TEXT_CHARS = 10_000  # any one text: a literal, a pattern, a prefix, a replacement, an option...
MAX_ENTRIES = 10_000  # items of any list or object in a column, a rule or the options (a map's table...)
MAX_SELECTION_ITEMS = 10_000  # ids, skus, eans, categories... of a selection
MAX_DEPTH = 16  # lists and objects inside each other


def _check_value(value: Any, where: str, depth: int, max_items: int = MAX_ENTRIES) -> None:
    """Every text, list and object inside `value` within its bound; the error names the first one over."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise TemplateError(f"is {len(value):,} characters long (at most {MAX_TEXT_CHARS:,})", where)
        return
    if not isinstance(value, Mapping | list | tuple):
        return
    if depth > MAX_DEPTH:
        raise TemplateError(f"nests lists and objects more than {MAX_DEPTH} levels deep", where)
    if len(value) > max_items:
        raise TemplateError(f"has {len(value):,} entries (at most {max_items:,})", where)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_value(key, f"{where} (a key)", depth + 1)
            _check_value(item, f"{where}.{str(key)[:40]}", depth + 1)
    else:
        for index, item in enumerate(value, start=1):
            _check_value(item, f"{where}[{index}]", depth + 1)


def _is_pattern_step(step: Any) -> bool:
    return isinstance(step, Mapping) and step.get("name") == "regex_replace"


def check_size(data: Mapping[str, Any]) -> None:
    """Refuse a spec over one of the bounds above, naming the part at fault and the bound."""
    for key, value in data.items():
        if key == "selection" and isinstance(value, Mapping):
            for criterion, criterion_value in value.items():
                _check_value(criterion_value, f"selection.{criterion}", 1, MAX_SELECTION_ITEMS)
        else:
            _check_value(value, str(key), 0, {"columns": MAX_COLUMNS, "rules": MAX_RULES}.get(str(key), MAX_ENTRIES))
    size = len(orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS))
    if size > MAX_SPEC_BYTES:
        raise TemplateError(f"is {size:,} bytes as JSON (at most {MAX_SPEC_BYTES:,})", "template")
    columns = data["columns"] if isinstance(data.get("columns"), list) else []
    patterns = sum(1 for rule in data.get("rules") or [] if isinstance(rule, Mapping) and rule.get("rule") == "regex")
    for position, column in enumerate(columns, start=1):
        steps = column.get("transforms") if isinstance(column, Mapping) else None
        if isinstance(steps, list):
            if len(steps) > MAX_STEPS_PER_COLUMN:
                raise TemplateError(
                    f"has {len(steps)} transformations (at most {MAX_STEPS_PER_COLUMN})", f"columns[{position}]"
                )
            patterns += sum(1 for step in steps if _is_pattern_step(step))
    if patterns > MAX_PATTERNS:
        raise TemplateError(f"has {patterns} regular expressions (at most {MAX_PATTERNS})", "template")


def _check_selection(selection: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in selection.items():
        expected = SELECTION_KEYS.get(key)
        field_name = f"selection.{key}"
        if expected is None:
            raise TemplateError(f"unknown selection criterion (known: {', '.join(SELECTION_KEYS)})", field_name)
        if value is None or value == []:
            continue
        if isinstance(value, bool) and expected is not bool:
            raise TemplateError(f"must be {expected}, got {value!r}", field_name)
        if not isinstance(value, expected):  # type: ignore[arg-type]
            raise TemplateError(f"has the wrong type ({type(value).__name__})", field_name)
        out[key] = value
    for status in out.get("statuses", []):
        if status not in PRODUCT_STATUSES:
            raise TemplateError(
                f"unknown status {status!r} (known: {', '.join(PRODUCT_STATUSES)})", "selection.statuses"
            )
    if "updated_since" in out:
        try:
            dt.datetime.fromisoformat(out["updated_since"])
        except ValueError:
            raise TemplateError("must be an ISO date or date-time", "selection.updated_since") from None
    if "ids" in out and not all(isinstance(i, int) and not isinstance(i, bool) for i in out["ids"]):
        raise TemplateError("must be a list of integers", "selection.ids")
    return out


def _check_deliveries(deliveries: Any) -> list[dict[str, Any]]:
    """Where the files go after the export: integration names and target path patterns (relative, confined)."""
    from engine.pipeline.naming import check_pattern

    if not isinstance(deliveries, list):
        raise TemplateError("must be a list of {integration, path}", "deliveries")
    if len(deliveries) > MAX_DELIVERIES:
        raise TemplateError(f"at most {MAX_DELIVERIES} deliveries", "deliveries")
    out = []
    for n, delivery in enumerate(deliveries):
        where = f"deliveries[{n}]"
        if not isinstance(delivery, Mapping):
            raise TemplateError("must be an object {integration, path}", where)
        unknown = set(delivery) - DELIVERY_KEYS
        if unknown:
            raise TemplateError(f"unknown key(s) {', '.join(sorted(unknown))}", where)
        integration = delivery.get("integration")
        if not isinstance(integration, str) or not 1 <= len(integration.strip()) <= 128:
            raise TemplateError("names an integration (1 to 128 characters)", f"{where}.integration")
        item: dict[str, Any] = {"integration": integration.strip()}
        path = delivery.get("path")
        if path is not None:
            if not isinstance(path, str) or len(path) > 1024:
                raise TemplateError("must be a text of at most 1024 characters", f"{where}.path")
            parts = path.replace("\\", "/").split("/")
            if path.startswith(("/", "\\")) or ".." in parts:
                raise TemplateError(
                    "must stay inside the destination's folder (no leading / and no ..)", f"{where}.path"
                )
            if path:
                try:
                    check_pattern(path, folders=True)
                except TemplateError as exc:
                    raise TemplateError(exc.reason, f"{where}.path") from None
            item["path"] = path
        if delivery.get("gate") is not None:
            gate = _check_gate(delivery["gate"], f"{where}.gate")
            if gate:
                item["gate"] = gate
        out.append(item)
    return out


def _check_mappings(mappings: Any) -> dict[str, Any]:
    """Category, attribute, value and theme mappings (bounded sizes), see engine.pipeline.platform_mappings."""
    from engine.pipeline.platform_mappings import check_mappings

    return check_mappings(mappings) if mappings != {} else {}


def _integration_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 128:
        raise TemplateError("names an integration (1 to 128 characters)", where)
    return value.strip()


def check_notifications(notifications: Any) -> dict[str, Any]:
    """Who is told when a job ends, with the defaults filled in: `on` (failed, partial, completed, warnings),
    `warn_excluded_percent`, `email` [{integration, to}], `webhooks` [names], `in_app`. Integration names are
    checked to exist by the services (engine.services.notifications), not here."""
    from engine.destinations.email import check_address

    if not isinstance(notifications, Mapping):
        raise TemplateError("must be an object {on, warn_excluded_percent, email, webhooks, in_app}", "notifications")
    unknown = set(notifications) - NOTIFICATION_KEYS
    if unknown:
        known = ", ".join(sorted(NOTIFICATION_KEYS))
        raise TemplateError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {known})", "notifications")
    on = notifications.get("on", DEFAULT_NOTIFY_ON)
    if not isinstance(on, list) or not all(isinstance(event, str) for event in on):
        raise TemplateError(f"must be a list of {', '.join(NOTIFY_ON)}", "notifications.on")
    for event in on:
        if event not in NOTIFY_ON:
            raise TemplateError(f"unknown event {event!r} (known: {', '.join(NOTIFY_ON)})", "notifications.on")
    threshold = notifications.get("warn_excluded_percent", DEFAULT_WARN_EXCLUDED_PERCENT)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 100:
        raise TemplateError("must be a number from 0 to 100", "notifications.warn_excluded_percent")
    emails = notifications.get("email") or []
    if not isinstance(emails, list):
        raise TemplateError("must be a list of {integration, to}", "notifications.email")
    if len(emails) > MAX_NOTIFY_EMAILS:
        raise TemplateError(f"at most {MAX_NOTIFY_EMAILS} entries", "notifications.email")
    checked_emails = []
    for n, entry in enumerate(emails):
        where = f"notifications.email[{n}]"
        if not isinstance(entry, Mapping) or set(entry) - {"integration", "to"}:
            raise TemplateError("must be an object {integration, to}", where)
        to = entry.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_NOTIFY_RECIPIENTS:
            raise TemplateError(f"must list 1 to {MAX_NOTIFY_RECIPIENTS} email addresses", f"{where}.to")
        addresses = []
        for i, address in enumerate(to):
            if not isinstance(address, str) or len(address) > 320:
                raise TemplateError("must be an email address of at most 320 characters", f"{where}.to[{i}]")
            try:
                addresses.append(check_address(address, "to"))
            except InvalidRequest as exc:
                raise TemplateError(exc.reason, f"{where}.to[{i}]") from None
        name = _integration_name(entry.get("integration"), f"{where}.integration")
        checked_emails.append({"integration": name, "to": addresses})
    webhooks = notifications.get("webhooks") or []
    if not isinstance(webhooks, list):
        raise TemplateError("must be a list of webhook integration names", "notifications.webhooks")
    if len(webhooks) > MAX_NOTIFY_WEBHOOKS:
        raise TemplateError(f"at most {MAX_NOTIFY_WEBHOOKS} webhooks", "notifications.webhooks")
    names = [_integration_name(name, f"notifications.webhooks[{n}]") for n, name in enumerate(webhooks)]
    in_app = notifications.get("in_app", True)
    if not isinstance(in_app, bool):
        raise TemplateError("must be true or false", "notifications.in_app")
    return {
        "on": list(dict.fromkeys(on)),
        "warn_excluded_percent": threshold,
        "email": checked_emails,
        "webhooks": list(dict.fromkeys(names)),
        "in_app": in_app,
    }


def _check_gate(gate: Any, where: str) -> dict[str, float]:
    """A delivery's publish gate: percentages from 0 to 100 (`max_excluded_percent`, `max_drop_percent`)."""
    if not isinstance(gate, Mapping):
        raise TemplateError(f"must be an object with {' and/or '.join(GATE_KEYS)}", where)
    unknown = set(gate) - set(GATE_KEYS)
    if unknown:
        raise TemplateError(
            f"unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(GATE_KEYS)})", where
        )
    out: dict[str, float] = {}
    for key in GATE_KEYS:
        value = gate.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise TemplateError(f"must be a percentage from 0 to 100, got {str(value)[:40]!r}", f"{where}.{key}")
        out[key] = float(value)
    return out


def _merged_mappings(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The template's mappings with `overrides` merged in: tables entry by entry (value maps per attribute), the
    other keys (required, attribute_defaults) replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if key == "values" and isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = {
                **current,
                **{a: {**(current.get(a) or {}), **t} if isinstance(t, Mapping) else t for a, t in value.items()},
            }
        elif (
            key in {"categories", "attributes", "themes", "allowed_themes"}
            and isinstance(value, Mapping)
            and isinstance(current, Mapping)
        ):
            merged[key] = {**current, **value}
        else:
            merged[key] = value
    return merged


@dataclass
class ExportSpec:
    format: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    selection: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    file_name: str = DEFAULT_FILE_NAME
    rows: str = "product"
    delta: bool = False  # only products whose content changed since the last successful run, plus removals
    images: dict[str, Any] = field(default_factory=dict)  # image mode and optimisation (pipeline.images)
    sink: str = DEFAULT_SINK  # where the rows go: "file" (a format, then the artifact store); shop pushes next
    # {"integration": name, "path": pattern, "gate": {"max_excluded_percent": x, "max_drop_percent": y}}
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    mappings: dict[str, Any] = field(default_factory=dict)  # categories, attributes... (pipeline.platform_mappings)
    notifications: dict[str, Any] | None = None  # who is told when the job ends (check_notifications)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportSpec:
        """Build and fully validate a spec (format, options, columns, rules, selection)."""
        known = {"format", "columns", "selection", "options", "rules", "file_name", "rows", "delta", "images"}
        known |= {"sink", "deliveries", "mappings", "notifications"}
        unknown = set(data) - known
        if unknown:
            raise TemplateError(f"unknown key(s) {', '.join(sorted(unknown))}", "template")
        check_size(data)
        if not isinstance(data.get("format"), str):
            raise TemplateError("a format is required", "format")
        spec = cls(
            format=data["format"],
            columns=copy.deepcopy(list(data.get("columns") or [])),
            selection=_check_selection(data.get("selection") or {}),
            options=dict(data.get("options") or {}),
            rules=copy.deepcopy(list(data.get("rules") or [])),
            file_name=str(data.get("file_name") or DEFAULT_FILE_NAME),
            rows=str(data.get("rows") or "product"),
            delta=data.get("delta", False),
            images=dict(data.get("images") or {}),
            sink=str(data.get("sink") or DEFAULT_SINK),
            deliveries=_check_deliveries(data.get("deliveries") or []),
            mappings=_check_mappings(data.get("mappings") or {}),
            notifications=check_notifications(data["notifications"]) if data.get("notifications") else None,
        )
        if not isinstance(spec.delta, bool):
            raise TemplateError("must be true or false", "delta")
        for n, delivery in enumerate(spec.deliveries):
            if spec.delta and "max_drop_percent" in delivery.get("gate", {}):
                raise TemplateError(
                    "does not apply to a delta export (its rows are the changes only)",
                    f"deliveries[{n}].gate.max_drop_percent",
                )
        spec.validate()
        return spec

    def validate(self) -> None:
        from engine.formats.registry import get_writer
        from engine.pipeline.mapping import compile_columns
        from engine.pipeline.naming import check_pattern
        from engine.pipeline.validate import compile_rules
        from engine.sinks.registry import get_sink

        get_sink(self.sink)
        writer = get_writer(self.format)
        writer.validate_options(self.options)
        if not self.columns:
            raise TemplateError("a template needs at least one column", "columns")
        compile_columns(self.columns, self.rows)
        writer.check_headers([str(c.get("header")) for c in self.columns])
        from engine.pipeline.validate import compile_column_rules

        compile_column_rules(compile_rules(self.rules), self.columns)
        check_pattern(self.file_name)
        from engine.pipeline.images import ImageOptions

        ImageOptions.from_dict(self.images or None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "columns": copy.deepcopy(self.columns),
            "selection": copy.deepcopy(self.selection),
            "options": copy.deepcopy(self.options),
            "rules": copy.deepcopy(self.rules),
            "file_name": self.file_name,
            "rows": self.rows,
            "delta": self.delta,
            "images": copy.deepcopy(self.images),
            # only when set, so that the specs (and job snapshots) of file exports read as they always did
            **({"sink": self.sink} if self.sink != DEFAULT_SINK else {}),
            **({"deliveries": copy.deepcopy(self.deliveries)} if self.deliveries else {}),
            **({"mappings": copy.deepcopy(self.mappings)} if self.mappings else {}),
            **({"notifications": copy.deepcopy(self.notifications)} if self.notifications else {}),
        }

    def with_overrides(self, overrides: Mapping[str, Any]) -> ExportSpec:
        """A new, validated spec with `overrides` applied (selection and options are merged key by key; mappings
        key by key too, and their tables (categories, attributes, values, themes) entry by entry)."""
        data = self.to_dict()
        for key, value in overrides.items():
            if key in {"selection", "options"} and isinstance(value, Mapping):
                data[key] = {**data[key], **value}
            elif key == "mappings" and isinstance(value, Mapping):
                data[key] = _merged_mappings(data.get("mappings") or {}, value)
            else:
                data[key] = value
        return ExportSpec.from_dict(data)

    @property
    def statuses(self) -> list[str]:
        return list(self.selection.get("statuses") or DEFAULT_STATUSES)
