"""A template's mappings as data: catalogue category -> platform category, option name -> platform attribute,
value maps and variation themes; checked when the template is saved, applied to each product before its rules.

A template's `mappings` (all keys optional):

- `categories`: {catalogue category path: platform category} (an Amazon product type, a Google product category,
  an Odoo category path...). A path also covers its sub-categories; the longest matching path wins, the product's
  main category first, then its other categories.
- `attributes`: {option or attribute name: platform attribute} (`Taille` -> `size`), merged over the French and
  English defaults below unless `attribute_defaults` is false. Names are matched case-insensitively.
- `values`: {platform attribute: {catalogue value: platform value}} (`color`: {`Noir`: `Black`}).
- `themes`: {platform attributes joined by `/`, in option order: platform variation theme} (`size/color`:
  `SIZE/COLOR`); a product whose options give no listed combination has no theme.
- `allowed_themes`: {platform product type: [themes it allows]} (Amazon: the product type definition's
  `variation_theme` enum). A product of a listed type gets its theme from `themes` only when the type allows it;
  otherwise it has no theme (excluded as `mapping:theme` naming the product type, its options and the allowed
  themes when a theme is required). Checked on save: each allowed theme is a value of `themes` and each listed
  type is one `categories` maps to.
- `required`: which of `category`, `attributes`, `theme` the platform needs: a product without one is excluded
  with the rule `mapping:<name>` and a message naming the missing mapping.

Each product gets `mapped` = {`category`, `theme`, and one entry per platform attribute from its attributes};
each of its variants gets `mapped` = its options mapped. Columns read them as `mapped.<name>`, the variant's
value first on a variant row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import TemplateError

MAX_CATEGORY_ENTRIES = 5000
MAX_ATTRIBUTE_ENTRIES = 500
MAX_VALUE_ATTRIBUTES = 50
MAX_VALUE_ENTRIES = 5000  # per attribute
MAX_THEME_ENTRIES = 500
MAX_KEY_LENGTH = 500
MAX_VALUE_LENGTH = 500
REQUIRABLE = ("category", "attributes", "theme")
MAPPING_KEYS = {"categories", "attributes", "attribute_defaults", "values", "themes", "allowed_themes", "required"}
MAX_ALLOWED_THEMES = 100  # per product type
PATH_SEPARATOR = " > "
ATTRIBUTE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")

# Option and attribute names of French and English catalogues -> the platform attribute they usually are.
DEFAULT_ATTRIBUTES: dict[str, str] = {
    "taille": "size",
    "size": "size",
    "pointure": "size",
    "shoe size": "size",
    "dimensions": "size",
    "dimension": "size",
    "format": "size",
    "couleur": "color",
    "coloris": "color",
    "color": "color",
    "colour": "color",
    "matière": "material",
    "matiere": "material",
    "material": "material",
    "motif": "pattern",
    "pattern": "pattern",
    "finition": "finish",
    "finish": "finish",
    "contenance": "capacity",
    "capacité": "capacity",
    "capacity": "capacity",
    "volume": "capacity",
    "style": "style",
    "parfum": "scent",
    "scent": "scent",
    "saveur": "flavor",
    "goût": "flavor",
    "flavor": "flavor",
    "flavour": "flavor",
    "genre": "gender",
    "gender": "gender",
    "tranche d'âge": "age_group",
    "age_group": "age_group",
    "age group": "age_group",
}


@dataclass(frozen=True)
class MappingFailure:
    rule_id: str  # mapping:category, mapping:attributes or mapping:theme
    message: str


def _text_table(data: Any, where: str, limit: int, *, attribute_values: bool = False) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise TemplateError("must be an object {name: value}", where)
    if len(data) > limit:
        raise TemplateError(f"at most {limit} entries ({len(data)} given)", where)
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not 1 <= len(key.strip()) <= MAX_KEY_LENGTH:
            raise TemplateError(f"keys are texts of 1 to {MAX_KEY_LENGTH} characters, got {key!r}", where)
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_VALUE_LENGTH:
            raise TemplateError(f"{key!r} must map to a text of 1 to {MAX_VALUE_LENGTH} characters", where)
        if attribute_values and not set(value) <= ATTRIBUTE_NAME_CHARS:
            raise TemplateError(f"{key!r}: platform attribute {value!r} must be lower-case a-z, 0-9 or _", where)
        out[key.strip()] = value.strip()
    return out


def _allowed_themes(data: Any, checked: Mapping[str, Any]) -> dict[str, list[str]]:
    """{product type: [themes]}: each theme one `themes` gives, each type one `categories` maps to."""
    where = "mappings.allowed_themes"
    if not isinstance(data, Mapping) or len(data) > MAX_CATEGORY_ENTRIES:
        raise TemplateError(f"must be an object {{product type: [themes]}} of at most {MAX_CATEGORY_ENTRIES}", where)
    themes = set((checked.get("themes") or {}).values())
    product_types = set((checked.get("categories") or {}).values())
    out: dict[str, list[str]] = {}
    for product_type, allowed in data.items():
        at = f"{where}.{product_type}"
        if not isinstance(product_type, str) or product_type not in product_types:
            raise TemplateError(f"product type {product_type!r} is not one mappings.categories maps to", where)
        if not isinstance(allowed, list) or not 1 <= len(allowed) <= MAX_ALLOWED_THEMES:
            raise TemplateError(f"must be a list of 1 to {MAX_ALLOWED_THEMES} themes", at)
        for theme in allowed:
            if theme not in themes:
                known = ", ".join(sorted(themes)) or "none"
                raise TemplateError(
                    f"theme {theme!r} allowed for {product_type} is not a theme of mappings.themes (known: {known})", at
                )
        out[product_type] = list(dict.fromkeys(allowed))
    return out


def check_mappings(data: Any) -> dict[str, Any]:
    """Check a template's `mappings` and return them normalised; raise TemplateError naming the key."""
    if not isinstance(data, Mapping):
        raise TemplateError("must be an object (categories, attributes, values, themes, required)", "mappings")
    unknown = set(data) - MAPPING_KEYS
    if unknown:
        known = ", ".join(sorted(MAPPING_KEYS))
        raise TemplateError(f"unknown key(s) {', '.join(sorted(unknown))} (known: {known})", "mappings")
    out: dict[str, Any] = {}
    if "categories" in data:
        out["categories"] = _text_table(data["categories"], "mappings.categories", MAX_CATEGORY_ENTRIES)
    if "attributes" in data:
        out["attributes"] = _text_table(
            data["attributes"], "mappings.attributes", MAX_ATTRIBUTE_ENTRIES, attribute_values=True
        )
    if "attribute_defaults" in data:
        if not isinstance(data["attribute_defaults"], bool):
            raise TemplateError("must be true or false", "mappings.attribute_defaults")
        out["attribute_defaults"] = data["attribute_defaults"]
    if "values" in data:
        values = data["values"]
        if not isinstance(values, Mapping) or len(values) > MAX_VALUE_ATTRIBUTES:
            raise TemplateError(f"must be an object of at most {MAX_VALUE_ATTRIBUTES} attributes", "mappings.values")
        out["values"] = {
            str(name): _text_table(table, f"mappings.values.{name}", MAX_VALUE_ENTRIES)
            for name, table in values.items()
        }
    if "themes" in data:
        themes = _text_table(data["themes"], "mappings.themes", MAX_THEME_ENTRIES)
        for key in themes:
            if not all(part and set(part) <= ATTRIBUTE_NAME_CHARS for part in key.split("/")):
                raise TemplateError(f"{key!r} must be platform attributes joined by / (size/color)", "mappings.themes")
        out["themes"] = themes
    if "allowed_themes" in data:
        out["allowed_themes"] = _allowed_themes(data["allowed_themes"], out)
    if "required" in data:
        required = data["required"]
        if not isinstance(required, list) or any(r not in REQUIRABLE for r in required):
            raise TemplateError(f"must be a list of {', '.join(REQUIRABLE)}", "mappings.required")
        if "category" in required and not out.get("categories"):
            raise TemplateError("requires a category mapping but mappings.categories is empty", "mappings.required")
        if "theme" in required and not out.get("themes"):
            raise TemplateError("requires a theme but mappings.themes is empty", "mappings.required")
        out["required"] = list(dict.fromkeys(required))
    return out


def _path_key(path: str) -> tuple[str, ...]:
    return tuple(part.strip().casefold() for part in path.split(">") if part.strip())


@dataclass
class CompiledMappings:
    """The mappings of a template ready to apply to product records."""

    categories: dict[tuple[str, ...], str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # casefolded name -> platform attribute
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # attribute -> casefolded value -> value
    themes: dict[str, str] = field(default_factory=dict)
    allowed_themes: dict[str, frozenset[str]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    product_columns: frozenset[str] = frozenset({"attributes"})
    relations: frozenset[str] = frozenset({"categories", "variants"})

    def category_for(self, record: Mapping[str, Any]) -> str | None:
        """The platform category of the longest mapped path covering one of the product's categories."""
        for category in record.get("categories") or ([record["category"]] if record.get("category") else []):
            key = _path_key(str(category.get("path") or ""))
            for length in range(len(key), 0, -1):
                found = self.categories.get(key[:length])
                if found is not None:
                    return found
        return None

    def attribute_for(self, name: str) -> str | None:
        return self.attributes.get(name.strip().casefold())

    def value_for(self, attribute: str, value: Any) -> Any:
        table = self.values.get(attribute)
        if table is None or not isinstance(value, str):
            return value
        return table.get(value.strip().casefold(), value)

    def _mapped(self, entries: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """(platform attribute -> value, the names that have no platform attribute)."""
        out: dict[str, Any] = {}
        unmapped: list[str] = []
        for name, value in entries.items():
            attribute = self.attribute_for(str(name))
            if attribute is None:
                unmapped.append(str(name))
            elif value is not None and value != "" and attribute not in out:
                out[attribute] = self.value_for(attribute, value)
        return out, unmapped

    def apply(self, record: dict[str, Any]) -> MappingFailure | None:
        """Fill `mapped` on the product and its variants; the first required mapping missing, if any."""
        attributes = record.get("attributes")
        mapped, _ignored = self._mapped(attributes if isinstance(attributes, Mapping) else {})
        mapped["category"] = self.category_for(record)
        variants = record.get("variants") or []
        option_names: list[str] = []
        unmapped: list[str] = []
        for variant in variants:
            options = variant.get("options") or {}
            variant["mapped"], missing = self._mapped(options)
            option_names.extend(n for n in options if n not in option_names)
            unmapped.extend(n for n in missing if n not in unmapped)
        theme_attributes = [a for n in option_names if (a := self.attribute_for(n)) is not None]
        theme_key = "/".join(dict.fromkeys(theme_attributes)) if not unmapped else ""
        theme = self.themes.get(theme_key) if theme_key else None
        allowed = self.allowed_themes.get(mapped["category"] or "")
        mapped["theme"] = theme if allowed is None or theme in allowed else None
        record["mapped"] = mapped
        if "category" in self.required and mapped["category"] is None:
            paths = [c.get("path") for c in record.get("categories") or [] if c]
            where = f"its categories ({', '.join(map(str, paths))})" if paths else "it has no category"
            message = f"no platform category is mapped for {where}: add one to mappings.categories"
            return MappingFailure("mapping:category", message)
        if "attributes" in self.required and unmapped:
            message = f"option(s) {', '.join(unmapped)} have no platform attribute: add them to mappings.attributes"
            return MappingFailure("mapping:attributes", message)
        if "theme" in self.required and variants and mapped["theme"] is None:
            listed = theme_key or "none"
            if allowed is not None:
                message = (
                    f"product type {mapped['category']} allows the variation themes {', '.join(sorted(allowed))}; "
                    f"the options {', '.join(option_names)} (platform attributes {listed}) give "
                    f"{theme or 'no theme'}: map the options to attributes of an allowed theme "
                    "(mappings.attributes) or the category to another product type"
                )
            else:
                message = (
                    f"no variation theme for the options {', '.join(option_names)} (platform attributes {listed}): "
                    "add one to mappings.themes"
                )
            return MappingFailure("mapping:theme", message)
        return None


def compile_mappings(mappings: Mapping[str, Any] | None) -> CompiledMappings:
    """Compile checked mappings (see check_mappings); the attribute defaults apply unless turned off."""
    mappings = mappings or {}
    attributes = dict(DEFAULT_ATTRIBUTES) if mappings.get("attribute_defaults", True) else {}
    attributes.update({k.casefold(): v for k, v in (mappings.get("attributes") or {}).items()})
    return CompiledMappings(
        categories={_path_key(k): v for k, v in (mappings.get("categories") or {}).items()},
        attributes=attributes,
        values={a: {k.casefold(): v for k, v in t.items()} for a, t in (mappings.get("values") or {}).items()},
        themes={k.casefold(): v for k, v in (mappings.get("themes") or {}).items()},
        allowed_themes={k: frozenset(v) for k, v in (mappings.get("allowed_themes") or {}).items()},
        required=tuple(mappings.get("required") or ()),
    )
