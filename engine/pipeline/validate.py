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
            out.product_columns.add("completeness")
            out.checks.append(("min_completeness", _min_completeness(minimum)))
            continue
        if kind not in FIELD_RULES:
            known = ", ".join(sorted(FIELD_RULES | {"min_completeness"}))
            raise TemplateError(f"unknown rule {kind!r} (known: {known})", label)
        path = rule.get("field")
        if not isinstance(path, str):
            raise TemplateError(f"{kind} needs a 'field'", label)
        ref = parse_path(path, label)
        if ref.needs_column:
            out.product_columns.add(ref.needs_column)
        if ref.needs_relation:
            out.relations.add(ref.needs_relation)
        rule_id = f"{kind}:{path}"
        out.checks.append((rule_id, _build(kind, rule, make_getter(ref), label)))
    return out
