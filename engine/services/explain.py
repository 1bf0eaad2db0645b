"""Why a product is in or out of each template's export: the template's selection and rules run on that one product,
through the export source itself (engine.pipeline.source.ExportSource.explain), so the answer is the export's.

Images and delta are left aside: an image that cannot be fetched is a warning, not an exclusion, and a delta
template sends an included product only when its content changed since the template's last run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from peewee import Case, Expression

from engine.catalog.models import PRODUCT_STATUSES, Product
from engine.errors import ExportsError, NotFound
from engine.pipeline.fields import PRODUCT_FIELDS, RELATIONS
from engine.pipeline.select import ProductLoader, category_table, selection_where
from engine.pipeline.source import ExportSource
from engine.pipeline.spec import ExportSpec
from engine.services.templates import list_templates
from engine.services.views import TemplateVerdictView, TemplateView
from engine.settings import Settings

MAX_TEMPLATES = 50  # templates explained per call; the token continues after the last one's name


def _listed(values: list[Any], most: int = 3) -> str:
    shown = ", ".join(str(v) for v in values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


# Selection criteria checked one by one when the selection does not take a product: the keys a criterion reads
# (the explicit ids, SKUs and EANs combine with OR, so they are one criterion) and how to say it failed.
CRITERIA: tuple[tuple[tuple[str, ...], Callable[[Mapping[str, Any]], str]], ...] = (
    (("categories",), lambda s: f"not in the categories {_listed(s['categories'])} (or their sub-categories)"),
    (("suppliers",), lambda s: f"not supplied by {_listed(s['suppliers'])}"),
    (("ids", "skus", "eans"), lambda _s: "not among the products the template names (ids, SKUs, EANs)"),
    (("brands",), lambda s: f"its brand is not {_listed(s['brands'])}"),
    (("tags",), lambda s: f"lacks the tag(s) {_listed(s['tags'])}"),
    (("stock_min",), lambda s: f"stock below {s['stock_min']}"),
    (("stock_max",), lambda s: f"stock above {s['stock_max']}"),
    (("price_min",), lambda s: f"price below {s['price_min']}"),
    (("price_max",), lambda s: f"price above {s['price_max']}"),
    (("has_images",), lambda s: "has no image" if s["has_images"] else "has images"),
    (("has_price",), lambda s: "has no price" if s["has_price"] else "has a price"),
    (("has_ean",), lambda s: "has no EAN" if s["has_ean"] else "has an EAN"),
    (("completeness_min",), lambda s: f"completeness below {s['completeness_min']}"),
    (("updated_since",), lambda s: f"not updated since {s['updated_since']}"),
)


def _takes(where: Expression, product_id: int) -> bool:
    return bool(Product.select(Product.id).where(where & (Product.id == product_id)).exists())


def _not_selected(spec: ExportSpec, product_id: int, status: str) -> tuple[str, str]:
    """(criterion, message) of the first selection criterion that leaves the product out."""
    if status not in spec.statuses:
        return "selection.statuses", f"its status is {status}; the template takes {', '.join(spec.statuses)}"
    for keys, say in CRITERIA:
        part = {k: spec.selection[k] for k in keys if k in spec.selection}
        if part and not _takes(selection_where(part, list(PRODUCT_STATUSES)), product_id):
            return f"selection.{keys[0]}", say(part)
    return "selection", "the selection criteria together leave it out"  # pragma: no cover - each passes alone


@dataclass
class _Compiled:
    template: TemplateView
    spec: ExportSpec
    source: ExportSource


def _compile(
    settings: Settings, template: TemplateView, categories: dict[int, dict[str, Any]]
) -> _Compiled | TemplateVerdictView:
    """The template's export source, or the verdict that it cannot run (an unknown category, a bad rule)."""
    try:
        spec = ExportSpec.from_dict(template.spec)
        return _Compiled(template, spec, ExportSource(spec, settings, sink_relations=set(), categories=categories))
    except ExportsError as exc:
        return TemplateVerdictView(template.name, template.format, "error", message=str(exc))


def _selected(sources: list[ExportSource], product_id: int) -> list[bool]:
    """Whether each source's selection takes the product: one query, a CASE per source."""
    if not sources:
        return []
    cases = [Case(None, [(source.where, 1)], 0).alias(f"t{i}") for i, source in enumerate(sources)]
    row = Product.select(*cases).where(Product.id == product_id).tuples().first()
    return [bool(value) for value in row or [0] * len(sources)]


def _full_record(product_id: int, categories: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The product's record with every column and relation an export can read, loaded once for all templates."""
    loader = ProductLoader(
        Product.id == product_id, set(PRODUCT_FIELDS), set(RELATIONS), chunk_size=1, categories=categories
    )
    return loader.one(product_id)


def explain_product(
    settings: Settings, product_id: int, *, after: str | None = None, limit: int = MAX_TEMPLATES
) -> tuple[list[TemplateVerdictView], str]:
    """Per template (by name, those after `after`, at most `limit`): included, excluded with the rule and its
    message, or not selected with the criterion. Returns the verdicts and the name to continue after ("" at the
    end). The product is read once and each selection checked in one query: the page costs a few queries whatever
    the number of templates."""
    limit = max(1, min(limit, MAX_TEMPLATES))
    categories = category_table()  # read once for all the templates
    record = _full_record(product_id, categories)
    if record is None:
        raise NotFound(f"no product with id {product_id}")
    status = str(record["status"])
    templates = list(islice(list_templates(after), limit + 1))
    next_after = templates[limit - 1].name if len(templates) > limit else ""
    compiled = [_compile(settings, template, categories) for template in templates[:limit]]
    runnable = [c for c in compiled if isinstance(c, _Compiled)]
    taken = dict(zip((id(c) for c in runnable), _selected([c.source for c in runnable], product_id), strict=True))
    verdicts = []
    for item in compiled:
        if isinstance(item, TemplateVerdictView):
            verdicts.append(item)
            continue
        base: dict[str, Any] = {"template": item.template.name, "format": item.template.format}
        base["delta"] = bool(item.spec.delta)
        if not taken[id(item)]:
            rule, message = _not_selected(item.spec, product_id, status)
            verdicts.append(TemplateVerdictView(**base, verdict="not_selected", rule=rule, message=message))
            continue
        failure, rows = item.source.judge(copy.deepcopy(record))
        if failure is not None:
            verdicts.append(TemplateVerdictView(**base, verdict="excluded", rule=failure[0], message=failure[1]))
        else:
            verdicts.append(TemplateVerdictView(**base, verdict="included", rows=len(rows)))
    return verdicts, next_after
