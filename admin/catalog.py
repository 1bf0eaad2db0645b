"""Catalogue: browse the products (newest first, by status), search them by SKU, EAN or title, and read one with
its completeness and what each template's export does with it (included, excluded by which rule, not selected).
Read-only, for every role."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_admin import expose

from admin.base import ConsoleView, settings
from engine.catalog.models import PRODUCT_STATUSES
from engine.errors import InvalidRequest
from engine.services.browse import (
    MAX_QUERY,
    SEARCH_FIELDS,
    TITLE_SCAN_ROWS,
    ProductPage,
    browse_products,
    product_detail,
    search_products,
)
from engine.services.explain import explain_product

PAGE_SIZE = 25
TEMPLATES_PER_PAGE = 20
MAX_TEMPLATE_NAME = 128


class CatalogView(ConsoleView):
    @expose("/")
    def index(self) -> tuple[str, int]:
        query = request.args.get("q") or ""
        field = request.args.get("field") or "sku"
        status = request.args.get("status") or ""
        token = request.args.get("page") or None
        error = ""
        page = ProductPage([], "")
        try:
            if query.strip():
                page = search_products(field, query, page_size=PAGE_SIZE, page_token=token)
            else:
                page = browse_products(status=status or None, page_size=PAGE_SIZE, page_token=token)
        except InvalidRequest as exc:
            error = str(exc)
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and len(v) <= MAX_QUERY}
        body = self.render(
            "console/catalog.html",
            page=page,
            query=query[:MAX_QUERY],
            field=field if field in SEARCH_FIELDS else "sku",
            fields=SEARCH_FIELDS,
            status=status,
            statuses=PRODUCT_STATUSES,
            max_query=MAX_QUERY,
            page_size=PAGE_SIZE,
            scan_rows=TITLE_SCAN_ROWS,
            searching=bool(query.strip()),
            error=error,
            next_url=url_for(".index", page=page.next_token, **args) if page.next_token else "",
            first_url=url_for(".index", **args) if token else "",
        )
        return body, 400 if error else 200

    @expose("/<int:product_id>")
    def detail(self, product_id: int) -> str:
        product = product_detail(product_id)
        after = (request.args.get("templates_after") or "")[:MAX_TEMPLATE_NAME] or None
        verdicts, next_after = explain_product(settings(), product_id, after=after, limit=TEMPLATES_PER_PAGE)
        here: dict[str, Any] = {"product_id": product_id, "_anchor": "templates"}
        return self.render(
            "console/catalog_product.html",
            product=product,
            fields=product.fields,
            verdicts=verdicts,
            more_templates_url=url_for(".detail", templates_after=next_after, **here) if next_after else "",
            first_templates_url=url_for(".detail", **here) if after else "",
        )
