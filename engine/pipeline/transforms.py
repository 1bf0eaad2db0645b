"""The fixed, safe vocabulary of transformations (no eval). Each is built once per column from its args.

A transformation is declared with its arguments (name -> type and default) and a builder that returns a
function `(value, record) -> value`. Arguments are checked when a template is saved or an export starts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.catalog.gtin import is_valid_gtin, normalize_gtin
from engine.catalog.text import html_to_text, slugify, strip_html
from engine.errors import TemplateError
from engine.formats.base import ValueKind
from engine.pipeline.fields import ROW_OBJECTS, make_getter, parse_path
from engine.pipeline.user_regex import compile_replacement, compile_user_regex

Fn = Callable[[Any, Mapping[str, Any]], Any]
REQUIRED = object()
# A transformed value (a cell) may not grow past this. It is not Excel's 32,767 (an XLSX writer cuts there, and
# a JSON or CSV feed may carry longer descriptions): it is the bound that keeps one product's row, and the
# memory of an export, small whatever a chain of replace, join, prefix... does to it.
MAX_CELL_CHARS = 1_048_576
MAX_SEPARATOR_CHARS = 100  # of join and slugify: inserted once per item or word


class CellTooLarge(TemplateError):
    """A transformation would make a value longer than MAX_CELL_CHARS (mapping names the column and product)."""

    def __init__(self, transformation: str, size: int) -> None:
        super().__init__(f"{transformation} would make a value of {size:,} characters (at most {MAX_CELL_CHARS:,})")


def _within_cell(text: str, transformation: str) -> str:
    if len(text) > MAX_CELL_CHARS:
        raise CellTooLarge(transformation, len(text))
    return text


@dataclass(frozen=True)
class Transform:
    name: str
    args: Mapping[str, tuple[type | tuple[type, ...], Any]]  # arg -> (accepted types, default or REQUIRED)
    build: Callable[..., Fn]
    kind: ValueKind | None  # kind of the result; None keeps the input kind
    doc: str


REGISTRY: dict[str, Transform] = {}


def transform(
    name: str, kind: ValueKind | None = None, **args: tuple[type | tuple[type, ...], Any]
) -> Callable[[Callable[..., Fn]], Callable[..., Fn]]:
    def register(build: Callable[..., Fn]) -> Callable[..., Fn]:
        REGISTRY[name] = Transform(name, args, build, kind, (build.__doc__ or "").strip())
        return build

    return register


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "|".join(_text(v) for v in value)
    return str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None


def on_text(func: Callable[[str], Any]) -> Fn:
    """Apply `func` to text; None stays None, other values are turned into text first."""

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [func(_text(v)) if v is not None else None for v in value]
        return func(value if isinstance(value, str) else _text(value))

    return apply


def on_number(func: Callable[[Decimal, Mapping[str, Any]], Any]) -> Fn:
    def apply(value: Any, rec: Mapping[str, Any]) -> Any:
        number = _decimal(value)
        return None if number is None else func(number, rec)

    return apply


# --- text -----------------------------------------------------------------------------------------------------


@transform("upper", "text")
def _upper() -> Fn:
    """Upper-case."""
    return on_text(str.upper)


@transform("lower", "text")
def _lower() -> Fn:
    """Lower-case."""
    return on_text(str.lower)


@transform("capitalize", "text")
def _capitalize() -> Fn:
    """First letter upper-case, the rest unchanged."""
    return on_text(lambda s: s[:1].upper() + s[1:])


@transform("trim", "text")
def _trim() -> Fn:
    """Remove leading and trailing whitespace."""
    return on_text(str.strip)


@transform("strip_html", "text")
def _strip_html() -> Fn:
    """Remove HTML tags and entities, on one line."""
    return on_text(strip_html)


@transform("html_to_text", "text")
def _html_to_text() -> Fn:
    """Plain text keeping paragraph and list breaks as new lines."""
    return on_text(html_to_text)


@transform("truncate", "text", length=(int, REQUIRED), ellipsis=(str, ""), words=(bool, False))
def _truncate(length: int, ellipsis: str, words: bool) -> Fn:
    """At most `length` characters, `ellipsis` included; `words` cuts at a word boundary."""
    if length < 1 or len(ellipsis) >= length:
        raise ValueError("length must be at least 1 and longer than the ellipsis")

    def cut(s: str) -> str:
        if len(s) <= length:
            return s
        head = s[: length - len(ellipsis)]
        if words and " " in head:
            head = head.rsplit(" ", 1)[0].rstrip()
        return head + ellipsis

    return on_text(cut)


@transform("replace", "text", old=(str, REQUIRED), new=(str, ""))
def _replace(old: str, new: str) -> Fn:
    """Replace every `old` with `new`."""
    if not old:
        raise ValueError("old must not be empty")
    growth = len(new) - len(old)

    def replace(s: str) -> str:
        if growth > 0 and len(s) + s.count(old) * growth > MAX_CELL_CHARS:  # checked before building it
            raise CellTooLarge("replace", len(s) + s.count(old) * growth)
        return s.replace(old, new)

    return on_text(replace)


@transform("regex_replace", "text", pattern=(str, REQUIRED), replacement=(str, ""), ignore_case=(bool, False))
def _regex_replace(pattern: str, replacement: str, ignore_case: bool) -> Fn:
    """Replace matches of a regular expression (RE2 syntax; `\\1` or `\\g<name>` refers to a group)."""
    regex = compile_user_regex(pattern, ignore_case=ignore_case)
    return on_text(
        compile_replacement(regex, replacement, MAX_CELL_CHARS, lambda size: CellTooLarge("regex_replace", size))
    )


@transform("prefix", "text", text=(str, REQUIRED))
def _prefix(text: str) -> Fn:
    """Put `text` before a non-empty value."""
    return on_text(lambda s: _within_cell(text + s, "prefix") if s else s)


@transform("suffix", "text", text=(str, REQUIRED))
def _suffix(text: str) -> Fn:
    """Put `text` after a non-empty value."""
    return on_text(lambda s: _within_cell(s + text, "suffix") if s else s)


@transform("default", None, value=((str, int, float, bool), REQUIRED))
def _default(value: Any) -> Fn:
    """Use `value` when the value is empty (None, empty text or empty list)."""

    def apply(current: Any, _rec: Mapping[str, Any]) -> Any:
        return value if current is None or current == "" or current == [] else current

    return apply


@transform("slugify", "text", separator=(str, "-"))
def _slugify(separator: str) -> Fn:
    """Lower-case ASCII letters, digits and separators ("Crème brûlée" -> "creme-brulee")."""
    if len(separator) > MAX_SEPARATOR_CHARS:
        raise ValueError(f"separator must be at most {MAX_SEPARATOR_CHARS} characters")
    return on_text(lambda s: _within_cell(slugify(s, separator), "slugify"))


# --- lists ----------------------------------------------------------------------------------------------------


@transform("join", "text", separator=(str, "|"))
def _join(separator: str) -> Fn:
    """Join a list into text."""
    if len(separator) > MAX_SEPARATOR_CHARS:
        raise ValueError(f"separator must be at most {MAX_SEPARATOR_CHARS} characters")

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if type(value) is list and "" not in value:
            try:
                text = separator.join(value)  # all text (the usual tags): the same as below, in one C call
            except TypeError:
                pass
            else:
                if len(text) > MAX_CELL_CHARS:
                    raise CellTooLarge("join", len(text))
                return text
        if isinstance(value, list):
            parts = [_text(v) for v in value if v is not None and v != ""]
            size = sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0)
            if size > MAX_CELL_CHARS:
                raise CellTooLarge("join", size)
            return separator.join(parts)
        return value

    return apply


@transform("split", "list", separator=(str, "|"))
def _split(separator: str) -> Fn:
    """Split text into a list (empty parts dropped)."""
    if not separator:
        raise ValueError("separator must not be empty")

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(separator) if p.strip()]
        return value

    return apply


@transform("first", None)
def _first() -> Fn:
    """The first item of a list."""
    return _nth(0)


@transform("nth", None, index=(int, REQUIRED))
def _nth(index: int) -> Fn:
    """The item at `index` of a list (0 is the first; -1 the last)."""

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if isinstance(value, list):
            try:
                return value[index]
            except IndexError:
                return None
        return value

    return apply


@transform("map", None, table=(dict, REQUIRED), default=((str, type(None)), None))
def _map(table: dict[str, Any], default: str | None) -> Fn:
    """Look the value up in `table`; values not in it become `default` (or stay as they are when none)."""
    lookup = {str(k): v for k, v in table.items()}

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        key = _text(value) if value is not None else ""
        if key in lookup:
            return lookup[key]
        return value if default is None else default

    return apply


# --- numbers --------------------------------------------------------------------------------------------------


def _quant(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


@transform(
    "format_price",
    "text",
    decimals=(int, 2),
    decimal_separator=(str, "."),
    thousands_separator=(str, ""),
    currency=((bool, str), False),
)
def _format_price(decimals: int, decimal_separator: str, thousands_separator: str, currency: bool | str) -> Fn:
    """Price as text: `decimals`, separators, and a currency suffix (True: the product's currency)."""
    if not 0 <= decimals <= 6:
        raise ValueError("decimals must be between 0 and 6")
    q = _quant(decimals)

    def apply(number: Decimal, rec: Mapping[str, Any]) -> str:
        text = f"{number.quantize(q, ROUND_HALF_UP):,.{decimals}f}"
        text = text.replace(",", "\0").replace(".", decimal_separator).replace("\0", thousands_separator)
        if currency is True:
            return f"{text} {rec.get('currency') or 'EUR'}"
        return f"{text} {currency}" if currency else text

    return on_number(apply)


@transform("markup", "money", percent=((int, float), REQUIRED))
def _markup(percent: float) -> Fn:
    """Increase by `percent` per cent (negative for a discount)."""
    factor = 1 + Decimal(str(percent)) / 100
    return on_number(lambda n, _rec: n * factor)


@transform("multiply", "decimal", factor=((int, float), REQUIRED))
def _multiply(factor: float) -> Fn:
    """Multiply by `factor`."""
    f = Decimal(str(factor))
    return on_number(lambda n, _rec: n * f)


@transform("round", "decimal", decimals=(int, 2))
def _round(decimals: int) -> Fn:
    """Round half up to `decimals` places."""
    q = _quant(decimals)
    return on_number(lambda n, _rec: n.quantize(q, ROUND_HALF_UP))


@transform("tax_excluded", "money", decimals=(int, 2))
def _tax_excluded(decimals: int) -> Fn:
    """Tax-exclusive price from a tax-inclusive one, with the product's tax rate."""
    q = _quant(decimals)

    def apply(number: Decimal, rec: Mapping[str, Any]) -> Decimal:
        rate = _decimal(rec.get("tax_rate")) or Decimal(0)
        return (number / (1 + rate / 100)).quantize(q, ROUND_HALF_UP)

    return on_number(apply)


@transform("grams", "integer")
def _grams() -> Fn:
    """Kilograms to whole grams."""
    return on_number(lambda n, _rec: int((n * 1000).quantize(Decimal(1), ROUND_HALF_UP)))


# --- other ----------------------------------------------------------------------------------------------------

_SAFE_DATE_DIRECTIVES = re.compile(r"%[^aAbBdHIjmMpSUwWyYzZ%]")


@transform("date_format", "text", format=(str, "%Y-%m-%d"))
def _date_format(format: str) -> Fn:
    """Format a date with strftime directives (%Y %m %d %H %M %S ...)."""
    if _SAFE_DATE_DIRECTIVES.search(format):
        raise ValueError("format may only use the directives %a %A %b %B %d %H %I %j %m %M %p %S %U %w %W %y %Y %z %Z")

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if isinstance(value, dt.date):
            return value.strftime(format)
        if isinstance(value, str) and value:
            try:
                return dt.datetime.fromisoformat(value).strftime(format)
            except ValueError:
                return value
        return value

    return apply


@transform("bool_format", "text", true=(str, "1"), false=(str, "0"))
def _bool_format(true: str, false: str) -> Fn:
    """Render a yes/no value as `true` or `false` text."""

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if value is None:
            return false
        if isinstance(value, str):
            return true if value.strip().lower() in {"1", "true", "yes", "y", "oui", "active"} else false
        return true if value else false

    return apply


@transform("gtin_normalize", "text", length=(int, 13))
def _gtin_normalize(length: int) -> Fn:
    """Zero-pad a valid GTIN to `length` digits (13 or 14); an invalid one becomes empty."""
    if length not in (8, 12, 13, 14):
        raise ValueError("length must be 8, 12, 13 or 14")

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        return normalize_gtin(str(value).strip(), length)

    return apply


# --- lists and objects ----------------------------------------------------------------------------------------


@transform("slice", "list", start=(int, 0), stop=((int, type(None)), None))
def _slice(start: int, stop: int | None) -> Fn:
    """The items of a list from `start` up to, not including, `stop` (none: to the end)."""

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        return value[start:stop] if isinstance(value, list) else value

    return apply


@transform("unique", "list")
def _unique() -> Fn:
    """A list without its empty items and without repeats, in first-seen order."""

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if not isinstance(value, list):
            return value
        kept: list[Any] = []
        seen: set[Any] = set()
        unhashable: list[Any] = []  # objects: compared one by one (a product has few)
        for item in value:
            if item is None or item == "":
                continue
            try:
                if item in seen:
                    continue
                seen.add(item)
            except TypeError:
                if item in unhashable:
                    continue
                unhashable.append(item)
            kept.append(item)
        return kept

    return apply


@transform("keys", "list")
def _keys() -> Fn:
    """The names of an object's entries, in order (e.g. a variant's option names)."""
    return lambda value, _rec: list(value) if isinstance(value, Mapping) else value


@transform("values", "list")
def _values() -> Fn:
    """The values of an object's entries, in order (e.g. a variant's option values)."""
    return lambda value, _rec: list(value.values()) if isinstance(value, Mapping) else value


@transform("pluck", None, key=((str, list), None), index=((int, type(None)), None))
def _pluck(key: str | list[Any] | None, index: int | None) -> Fn:
    """From an object, the entry named `key` (a list of names: the first present; case-insensitive) or the one
    at position `index`; from a list of objects, that entry of each."""
    if (key is None) == (index is None):
        raise ValueError("give exactly one of key or index")
    names = [key] if isinstance(key, str) else key
    if names is not None and (not names or not all(isinstance(n, str) and n for n in names)):
        raise ValueError("key must be a name or a non-empty list of names")
    wanted = [n.casefold() for n in names] if names is not None else []

    def entry(obj: Mapping[str, Any]) -> Any:
        if index is not None:
            values = list(obj.values())
            return values[index] if -len(values) <= index < len(values) else None
        folded = {str(k).casefold(): v for k, v in obj.items()}
        for name in wanted:
            if name in folded:
                return folded[name]
        return None

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if isinstance(value, Mapping):
            return entry(value)
        if isinstance(value, list):
            return [entry(item) if isinstance(item, Mapping) else None for item in value]
        return value

    return apply


@transform("gtin_valid", "text")
def _gtin_valid() -> Fn:
    """The value as it is when it is a valid GTIN (8, 12, 13 or 14 digits, right check digit), else empty."""

    def apply(value: Any, _rec: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        code = _text(value).strip()
        return code if is_valid_gtin(code) else None

    return apply


# --- rows (engine.pipeline.rows): one product, several rows ----------------------------------------------------------

# Product fields every export loads (engine.pipeline.select.ALWAYS), the only ones a transformation may read
# besides the row's own objects: a transformation cannot ask the loader for more.
_ALWAYS_LOADED = ("id", "sku", "ean", "tax_rate", "currency")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _row_getter(path: str) -> Callable[[Mapping[str, Any]], Any]:
    """A getter for `path` when it is a row field (variant.*, image.*, row.*) or an always-loaded product field."""
    try:
        ref = parse_path(path, "field")
    except TemplateError as exc:
        raise ValueError(exc.reason) from None
    if not (ref.is_row_field or (ref.root in _ALWAYS_LOADED and ref.index is None)):
        allowed = ", ".join(("variant.*", "image.*", "row.*", *_ALWAYS_LOADED))
        raise ValueError(f"field {path!r} is not loaded for every row (use one of {allowed})")
    getter = make_getter(ref)
    return lambda rec: getter(rec)  # type: ignore[arg-type]


@transform("or_field", None, field=(str, REQUIRED))
def _or_field(field: str) -> Fn:
    """When the value is empty, the value of `field`: a row field (variant.ean, row.kind...) or one of the
    product fields every export loads (id, sku, ean, tax_rate, currency)."""
    get = _row_getter(field)

    def apply(value: Any, rec: Mapping[str, Any]) -> Any:
        return get(rec) if _empty(value) else value

    return apply


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_FORMAT = 200


@transform("or_format", None, pattern=(str, REQUIRED))
def _or_format(pattern: str) -> Fn:
    """When the value is empty, `pattern` with its {field} placeholders filled (fields as for or_field), e.g.
    "PM-{id}": a stable stand-in key for a product that has none."""
    if not pattern or len(pattern) > MAX_FORMAT:
        raise ValueError(f"pattern must be 1 to {MAX_FORMAT} characters")
    parts: list[str | Callable[[Mapping[str, Any]], Any]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts += [pattern[position : match.start()], _row_getter(match[1])]
        position = match.end()
    parts.append(pattern[position:])

    def render(rec: Mapping[str, Any]) -> str:
        return "".join(p if isinstance(p, str) else ("" if (v := p(rec)) is None else _text(v)) for p in parts)

    def apply(value: Any, rec: Mapping[str, Any]) -> Any:
        return render(rec) if _empty(value) else value

    return apply


@transform("subtract_field", "decimal", field=(str, REQUIRED))
def _subtract_field(field: str) -> Fn:
    """The number minus the number in `field` (fields as for or_field, plus the product's `price` and `weight`,
    which every row mode loads): e.g. a variant's price impact, variant.price minus the product's price."""
    get = (lambda rec: rec.get(field)) if field in ("price", "weight") else _row_getter(field)

    def apply(number: Decimal, rec: Mapping[str, Any]) -> Decimal | None:
        other = _decimal(get(rec))
        return None if other is None else number - other

    return on_number(apply)


@transform("when", None, field=(str, REQUIRED))
def _when(field: str) -> Fn:
    """Keep the value only on rows where `field` (as for or_field, e.g. row.has_variants) is set and true."""
    get = _row_getter(field)

    def apply(value: Any, rec: Mapping[str, Any]) -> Any:
        return value if get(rec) else None

    return apply


@transform("from_variant", None, field=(str, REQUIRED), fallback=(bool, False))
def _from_variant(field: str, fallback: bool) -> Fn:
    """On a row carrying one of the product's own variants (not the stand-in variant of a product without any),
    that variant's `field` instead of the value; with `fallback`, only when the variant's own is not empty."""
    known = ROW_OBJECTS["variant"][0]
    if field not in known:
        raise ValueError(f"unknown variant field {field!r} (known: {', '.join(known)})")

    def apply(value: Any, rec: Mapping[str, Any]) -> Any:
        variant = rec.get("variant")
        if not variant or variant.get("is_default"):
            return value
        own = variant.get(field)
        return value if fallback and _empty(own) else own

    return apply


# --- building ---------------------------------------------------------------------------------------------------


def parse_step(step: Any, column: str) -> tuple[str, dict[str, Any]]:
    """A step is "name" or {"name": ..., <arg>: ...}; returns (name, args)."""
    if isinstance(step, str):
        return step, {}
    if isinstance(step, Mapping) and isinstance(step.get("name"), str):
        return step["name"], {k: v for k, v in step.items() if k != "name"}
    raise TemplateError(f"a transformation must be a name or an object with a name, got {step!r}", column)


def build_step(step: Any, column: str) -> tuple[Fn, ValueKind | None]:
    """Check a step's name and arguments and build its function."""
    name, args = parse_step(step, column)
    spec = REGISTRY.get(name)
    if spec is None:
        raise TemplateError(f"unknown transformation {name!r} (known: {', '.join(sorted(REGISTRY))})", column)
    unknown = set(args) - set(spec.args)
    if unknown:
        raise TemplateError(f"{name}: unknown argument(s) {', '.join(sorted(unknown))}", column)
    kwargs: dict[str, Any] = {}
    for arg, (types, default) in spec.args.items():
        if arg not in args:
            if default is REQUIRED:
                raise TemplateError(f"{name}: argument {arg!r} is required", column)
            kwargs[arg] = default
            continue
        value = args[arg]
        accepted = types if isinstance(types, tuple) else (types,)
        bool_for_number = isinstance(value, bool) and bool not in accepted  # True is an int to Python
        if bool_for_number or not isinstance(value, accepted):
            names = " or ".join(t.__name__ for t in accepted)
            raise TemplateError(f"{name}: argument {arg!r} must be {names}, got {value!r}", column)
        kwargs[arg] = value
    try:
        return spec.build(**kwargs), spec.kind
    except ValueError as exc:
        raise TemplateError(f"{name}: {exc}", column) from None
