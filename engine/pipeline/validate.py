"""Validation rules a template declares; a product that breaks one is excluded with the rule and a message."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.catalog.gtin import gtin_problem
from engine.errors import TemplateError
from engine.pipeline.fields import make_getter, parse_path
from engine.pipeline.user_regex import compile_user_regex

Check = Callable[[dict[str, Any]], str | None]  # record -> message when the product breaks the rule


@dataclass
class CompiledRules:
    checks: list[tuple[str, Check]]  # (rule id, check)
    product_columns: set[str] = field(default_factory=set)
    relations: set[str] = field(default_factory=set)
    reads_mapped: bool = False  # a rule reads mapped.* (the template's mappings must be applied first)
    column_rules: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)  # (label, rule) on a column

    def first_failure(self, record: dict[str, Any]) -> tuple[str, str] | None:
        """(rule id, message) of the first rule the product breaks, or None when it passes all."""
        for rule_id, check in self.checks:
            message = check(record)
            if message is not None:
                return rule_id, message
        return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _number(value: Any) -> Decimal | None:
    try:
        return None if _empty(value) else Decimal(str(value))
    except InvalidOperation:
        return None


def _build(kind: str, args: Mapping[str, Any], get: Callable[[dict[str, Any]], Any], label: str) -> Check:
    name = args.get("field", "")
    if kind == "required":
        return lambda rec: f"{name} is missing" if _empty(get(rec)) else None
    if kind in {"max_length", "min_length"}:
        limit = args.get("length")
        if not isinstance(limit, int) or limit < 0:
            raise TemplateError(f"{kind} needs a whole 'length'", label)
        if kind == "max_length":
            return lambda rec: (
                f"{name} is {len(str(v))} characters long (at most {limit})"
                if not _empty(v := get(rec)) and len(str(v)) > limit
                else None
            )
        return lambda rec: f"{name} is shorter than {limit} characters" if len(str(get(rec) or "")) < limit else None
    if kind == "positive":

        def positive(rec: dict[str, Any]) -> str | None:
            number = _number(get(rec))
            return f"{name} must be greater than 0" if number is None or number <= 0 else None

        return positive
    if kind == "gtin":

        def gtin(rec: dict[str, Any]) -> str | None:
            value = get(rec)
            return None if _empty(value) else gtin_problem(str(value))

        return gtin
    if kind == "enum":
        values = args.get("values")
        if not isinstance(values, list) or not values:
            raise TemplateError("enum needs a non-empty list 'values'", label)
        allowed = {str(v) for v in values}
        return lambda rec: (
            f"{name} {v!r} is not one of {', '.join(sorted(allowed))}"
            if not _empty(v := get(rec)) and str(v) not in allowed
            else None
        )
    if kind == "regex":
        pattern = args.get("pattern")
        if not isinstance(pattern, str):
            raise TemplateError("regex needs a 'pattern'", label)
        try:
            regex = compile_user_regex(pattern)
        except ValueError as exc:
            raise TemplateError(f"regex: {exc}", label) from None
        return lambda rec: (
            f"{name} does not match {pattern}" if not _empty(v := get(rec)) and not regex.search(str(v)) else None
        )
    if kind == "min_count":
        count = args.get("count")
        if not isinstance(count, int) or count < 0:
            raise TemplateError("min_count needs a whole 'count'", label)
        return lambda rec: (
            f"{name} has {len(v or [])} item(s), at least {count} needed" if len(v := get(rec) or []) < count else None
        )
    raise AssertionError(kind)  # pragma: no cover


def _min_completeness(minimum: int) -> Check:
    def check(rec: dict[str, Any]) -> str | None:
        score = rec.get("completeness") or 0
        return f"completeness {score} is below {minimum}" if score < minimum else None

    return check


# Completeness criteria (engine.catalog.completeness) -> the product columns and relations they read.
CRITERIA_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "title": (("title",), ()),
    "gtin": (("ean", "gtin", "upc"), ()),
    "price": (("price",), ()),
    "brand": (("brand",), ()),
    "description": (("description",), ()),
    "image": ((), ("images",)),
    "category": ((), ()),
    "weight_or_dimensions": (("weight", "width", "height", "depth"), ()),
    "supplier": ((), ("suppliers",)),
    "short_description": (("short_description",), ()),
    "asin": (("asin",), ()),
    "cost_price": (("cost_price",), ()),
    "seo": (("seo_title", "seo_description"), ()),
    "attributes": (("attributes",), ()),
    "bullet_points": (("bullet_points",), ()),
    "tags": (("tags",), ()),
}


def _channel_completeness(minimum: int, criteria: Sequence[str]) -> Check:
    """Completeness counted over the criteria a channel requires only, each counting the same (as Akeneo
    counts a channel's required attributes): the message names the ones missing."""
    from engine.catalog.completeness import criteria_met

    def check(rec: dict[str, Any]) -> str | None:
        met = criteria_met(
            rec, image_count=len(rec.get("images") or ()), supplier_count=len(rec.get("suppliers") or ())
        )
        missing = [c for c in criteria if not met[c]]
        score = round(100 * (len(criteria) - len(missing)) / len(criteria))
        if score >= minimum:
            return None
        return f"channel completeness {score} is below {minimum}: missing {', '.join(missing)}"

    return check


def _criteria(rule: Mapping[str, Any], label: str) -> list[str] | None:
    criteria = rule.get("criteria")
    if criteria is None:
        return None
    if not isinstance(criteria, list) or not criteria or any(c not in CRITERIA_NEEDS for c in criteria):
        raise TemplateError(f"criteria must be a non-empty list of {', '.join(CRITERIA_NEEDS)}", label)
    return list(dict.fromkeys(criteria))


FIELD_RULES = {"required", "max_length", "min_length", "positive", "gtin", "enum", "regex", "min_count"}


def compile_rules(rules: Sequence[Mapping[str, Any]]) -> CompiledRules:
    """Check and compile a template's rules. Rule ids look like `required:price` or `min_completeness`."""
    out = CompiledRules(checks=[])
    for position, rule in enumerate(rules, start=1):
        label = f"rules[{position}]"
        if not isinstance(rule, Mapping) or not isinstance(rule.get("rule"), str):
            raise TemplateError("a rule must be an object with a 'rule' name", label)
        kind = rule["rule"]
        if kind == "min_completeness":
            minimum = rule.get("score")
            if not isinstance(minimum, int) or not 0 <= minimum <= 100:
                raise TemplateError("min_completeness needs a 'score' between 0 and 100", label)
            criteria = _criteria(rule, label)
            if criteria is None:
                out.product_columns.add("completeness")
                out.checks.append(("min_completeness", _min_completeness(minimum)))
                continue
            for name in criteria:
                columns, relations = CRITERIA_NEEDS[name]
                out.product_columns.update(columns)
                out.relations.update(relations)
            out.checks.append(("min_completeness", _channel_completeness(minimum, criteria)))
            continue
        if kind not in FIELD_RULES:
            known = ", ".join(sorted(FIELD_RULES | {"min_completeness"}))
            raise TemplateError(f"unknown rule {kind!r} (known: {known})", label)
        if "when" in rule and "column" not in rule:
            raise TemplateError("'when' applies to rules on a 'column' (checked after the mappings)", label)
        if "column" in rule:
            out.column_rules.append((label, rule))  # checked on the mapped rows: compile_column_rules
            continue
        path = rule.get("field")
        if not isinstance(path, str):
            raise TemplateError(f"{kind} needs a 'field' (or a 'column')", label)
        ref = parse_path(path, label)
        out.reads_mapped |= ref.needs_mappings
        if ref.needs_column:
            out.product_columns.add(ref.needs_column)
        if ref.needs_relation:
            out.relations.add(ref.needs_relation)
        rule_id = f"{kind}:{path}"
        out.checks.append((rule_id, _build(kind, rule, make_getter(ref), label)))
    return out


@dataclass(frozen=True)
class ColumnCheck:
    """A rule on the mapped value of a column (after its fallbacks), on the rows the column is written on."""

    rule_id: str
    indexes: list[int]  # the columns' positions in the row
    kinds: frozenset[str] | None  # row kinds the columns are limited to (None: every row)
    first: bool  # a column is (also) written on a product's first row
    check: Check  # called with {"value": first cell, "values": every cell}
    applies: Callable[[Mapping[str, Any]], bool] | None = None  # the rule's `when` condition on the row

    def failure(self, values: Sequence[Any], row: Mapping[str, Any]) -> str | None:
        """The message when the row breaks the rule, None otherwise or when the column is not written there."""
        if self.kinds is not None:
            info = row.get("row") or {}
            if not ((self.first and info.get("first")) or info.get("kind") in self.kinds):
                return None
        if self.applies is not None and not self.applies(row):
            return None
        cells = [values[i] for i in self.indexes]
        message = self.check({"value": cells[0], "values": cells})
        if message is None:
            return None
        kind = (row.get("row") or {}).get("kind")
        return f"{message} (on the {kind} row)" if kind and kind != "product" else message


def compile_column_rules(rules: CompiledRules, columns: Sequence[Mapping[str, Any]]) -> list[ColumnCheck]:
    """Compile the rules that name a `column` (its header) instead of a field: they check what is written. A
    `required` rule may name a list of columns (one of them must be filled) and a `name` for its rule id."""
    headers = {str(c.get("header", "")).casefold(): (i, c) for i, c in enumerate(columns)}
    out = []
    for label, rule in rules.column_rules:
        kind = rule["rule"]
        if "field" in rule:
            raise TemplateError(f"{kind} names a field or a column, not both", label)
        named = rule["column"]
        names = named if isinstance(named, list) and kind == "required" else [named]
        if not names or len(names) > 10:
            raise TemplateError(f"{kind}: a list of 1 to 10 columns", label)
        found = []
        for header in names:
            if not isinstance(header, str) or header.casefold() not in headers:
                raise TemplateError(f"{kind}: column {header!r} is not one of the template's headers", label)
            found.append(headers[header.casefold()])
        display = rule.get("name", names[0] if len(names) == 1 else None)
        if not isinstance(display, str) or not 1 <= len(display) <= 100:
            raise TemplateError(f"{kind} on several columns needs a 'name' (1 to 100 characters)", label)
        kinds: set[str] | None = set()
        first = False
        for _index, column in found:
            on = column.get("on")
            if on is None:
                kinds = None
                continue
            wanted = [on] if isinstance(on, str) else list(on)
            first |= "first" in wanted
            if kinds is not None:
                kinds |= {w for w in wanted if w != "first"}
        indexes = [index for index, _column in found]
        if len(indexes) == 1:
            check = _build(kind, {**rule, "field": display}, lambda cell: cell.get("value"), label)
        else:
            listed = ", ".join(names)
            check = _any_filled(f"{display} is missing (one of {listed} is needed)")
        applies = None
        if "when" in rule:
            applies, condition = _when(rule["when"], f"{label}.when")
            check = _explained(check, condition)
        kinds_set = None if kinds is None else frozenset(kinds)
        out.append(ColumnCheck(f"{kind}:{display}", indexes, kinds_set, first, check, applies))
    return out


MAX_WHEN_PREFIXES = 50


def _when(when: Any, label: str) -> tuple[Callable[[Mapping[str, Any]], bool], str]:
    """A column rule's condition {"field": path, "prefix": text or [texts]}: the rule applies to the rows whose
    field (e.g. mapped.category) starts with one of the prefixes; and the condition in words, for the message."""
    if not isinstance(when, Mapping) or set(when) != {"field", "prefix"} or not isinstance(when["field"], str):
        raise TemplateError('must be {"field": a field path, "prefix": a text or a list of texts}', label)
    prefixes = [when["prefix"]] if isinstance(when["prefix"], str) else when["prefix"]
    if (
        not isinstance(prefixes, list)
        or not 1 <= len(prefixes) <= MAX_WHEN_PREFIXES
        or not all(isinstance(p, str) and 1 <= len(p) <= 500 for p in prefixes)
    ):
        raise TemplateError(f"prefix: a text or a list of 1 to {MAX_WHEN_PREFIXES} texts of 1 to 500 characters", label)
    get = make_getter(parse_path(when["field"], label))
    starts = tuple(prefixes)

    def applies(row: Mapping[str, Any]) -> bool:
        value = get(row if isinstance(row, dict) else dict(row))
        return isinstance(value, str) and value.startswith(starts)

    return applies, f"{when['field']} under {' or '.join(starts)}"


def _explained(check: Check, condition: str) -> Check:
    def explained(cell: dict[str, Any]) -> str | None:
        message = check(cell)
        return None if message is None else f"{message} (required when {condition})"

    return explained


def _any_filled(message: str) -> Check:
    return lambda cell: None if any(not _empty(v) for v in cell["values"]) else message
