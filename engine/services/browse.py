"""The catalogue for people: browse the products newest first, search them by SKU, EAN or title, read one with
its completeness. Every page is a bounded amount of work on a 1,000,000-product catalogue:

- browse: keyset on the primary key, newest first;
- SKU and EAN: prefix search over their unique indexes (a range `key >= q AND key < q'`, sorted by that key,
  keyset on it); on PostgreSQL compared in the "C" collation, bytewise like SQLite, over migration 13's indexes;
- title: words anywhere in the title (case-insensitive: ILIKE on PostgreSQL, LIKE on SQLite, which folds ASCII
  only), found by a bounded scan: one page reads at most TITLE_SCAN_ROWS products by id, newest first, and its
  token continues the scan where it stopped. A title index would only serve prefixes, and merchants search the
  words of a title (the demo's titles start with the product kind; real ones with the brand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import SQL, Expression, NodeList, Value, fn

from engine.catalog.completeness import WEIGHTS, criteria_met
from engine.catalog.models import PRODUCT_STATUSES, Product
from engine.db import is_postgres
from engine.errors import InvalidRequest
from engine.services.catalog import get_product
from engine.services.paging import decode_after, decode_token, encode_after, encode_token
from engine.services.views import CriterionView, ProductDetailView, ProductRowView

SEARCH_FIELDS = ("sku", "ean", "title")
MAX_QUERY = 100  # characters of a search: SKUs hold 64, EANs 14; a title search needs a few words
MAX_TOKEN = 512  # characters of a page token
MAX_PAGE_SIZE = 200
TITLE_SCAN_ROWS = 50_000  # products one title-search page reads at most

ROW_FIELDS = (
    Product.id,
    Product.sku,
    Product.ean,
    Product.title,
    Product.brand,
    Product.status,
    Product.price,
    Product.currency,
    Product.stock,
    Product.completeness,
    Product.grade,
    Product.updated_at,
)


@dataclass(frozen=True)
class ProductPage:
    products: list[ProductRowView]
    next_token: str  # "" on the last page
    scanned_to: int | None = None  # title search: the scan reached the products with ids below this one


def _page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"must be between 1 and {MAX_PAGE_SIZE}", "page_size")
    return page_size


def _token(token: str | None) -> str | None:
    if token is not None and len(token) > MAX_TOKEN:
        raise InvalidRequest(f"is {len(token):,} characters long (at most {MAX_TOKEN})", "page_token")
    return token or None


def _rows(query: Any) -> list[ProductRowView]:
    return [ProductRowView(*row) for row in query.tuples()]


def browse_products(*, status: str | None = None, page_size: int = 25, page_token: str | None = None) -> ProductPage:
    """Products newest first (by id), optionally of one status."""
    size, token = _page_size(page_size), _token(page_token)
    query = Product.select(*ROW_FIELDS).order_by(Product.id.desc()).limit(size + 1)
    if status:
        if status not in PRODUCT_STATUSES:
            raise InvalidRequest(f"unknown status {status!r} (known: {', '.join(PRODUCT_STATUSES)})", "status")
        query = query.where(Product.status == status)
    if token is not None:
        query = query.where(Product.id < decode_token(token))
    rows = _rows(query)
    more = len(rows) > size
    rows = rows[:size]
    return ProductPage(rows, encode_token(rows[-1].id) if more else "")


def _bytewise(column: Any) -> Any:
    """`column` compared bytewise: SQLite's default; PostgreSQL's "C" collation (migration 13 indexes it so)."""
    return NodeList((column, SQL('COLLATE "C"'))) if is_postgres() else column


def prefix_query(column: Any, prefix: str, size: int, token: str | None = None) -> Any:
    """The query of the products whose `column` starts with `prefix`, sorted by it: a range over its index."""
    key = _bytewise(column)
    where: Expression = key >= prefix
    if ord(prefix[-1]) < 0x10FFFF:
        where &= key < prefix[:-1] + chr(ord(prefix[-1]) + 1)
    else:  # pragma: no cover - a search ending with the last code point
        where &= fn.SUBSTR(column, 1, len(prefix)) == prefix
    if token is not None:
        where &= key > decode_after(token)
    return Product.select(*ROW_FIELDS).where(where).order_by(key).limit(size + 1)


def _prefix_page(column: Any, prefix: str, size: int, token: str | None) -> ProductPage:
    rows = _rows(prefix_query(column, prefix, size, token))
    more = len(rows) > size
    rows = rows[:size]
    return ProductPage(rows, encode_after(getattr(rows[-1], column.name)) if more else "")


def _like_pattern(words: str) -> str:
    """A LIKE pattern matching `words` anywhere, in that order ('\\' escapes the wildcards typed by the user)."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + "%".join(escaped.split()) + "%"


def _title_page(words: str, size: int, token: str | None) -> ProductPage:
    """Products whose title holds `words` (in order, case-insensitive), newest first, reading at most
    TITLE_SCAN_ROWS products: the token continues from where the scan stopped, matched or not."""
    newest = None if token is not None else Product.select(fn.MAX(Product.id)).scalar()
    upper = decode_token(token) if token is not None else (newest or 0) + 1
    lower = max(upper - TITLE_SCAN_ROWS, 0)
    operator = SQL("ILIKE" if is_postgres() else "LIKE")  # SQLite's LIKE ignores ASCII case
    matches = NodeList((Product.title, operator, Value(_like_pattern(words)), SQL("ESCAPE '\\'")))
    query = (
        Product.select(*ROW_FIELDS)
        .where((Product.id < upper) & (Product.id >= lower) & matches)
        .order_by(Product.id.desc())
        .limit(size + 1)
    )
    rows = _rows(query)
    if len(rows) > size:
        rows = rows[:size]
        return ProductPage(rows, encode_token(rows[-1].id), scanned_to=rows[-1].id)
    more = lower > 0 and Product.select().where(Product.id < lower).exists()
    return ProductPage(rows, encode_token(lower) if more else "", scanned_to=lower)


def search_products(field: str, query: str, *, page_size: int = 25, page_token: str | None = None) -> ProductPage:
    """Products whose SKU or EAN starts with `query`, or whose title holds its words (see the module's doc)."""
    size, token = _page_size(page_size), _token(page_token)
    if field not in SEARCH_FIELDS:
        raise InvalidRequest(f"search by one of {', '.join(SEARCH_FIELDS)}, not {field!r}", "field")
    if len(query) > MAX_QUERY:
        raise InvalidRequest(f"the search is {len(query):,} characters long (at most {MAX_QUERY})", "q")
    text = query.strip()
    if not text:
        raise InvalidRequest("type what to search for", "q")
    if field == "sku":
        return _prefix_page(Product.sku, text, size, token)
    if field == "ean":
        if not text.isdigit() or not text.isascii():
            raise InvalidRequest(f"an EAN is digits only, not {text[:20]!r}", "q")
        return _prefix_page(Product.ean, text, size, token)
    return _title_page(text, size, token)


def product_detail(product_id: int) -> ProductDetailView:
    """One product, everything it holds, with each completeness criterion met or missing (heaviest first)."""
    data = get_product(id=product_id)
    met = criteria_met(data, image_count=len(data["images"]), supplier_count=len(data["suppliers"]))
    criteria = sorted(
        (CriterionView(name, WEIGHTS[name], ok) for name, ok in met.items()), key=lambda c: (-c.weight, c.name)
    )
    return ProductDetailView(data["id"], data, int(data["completeness"]), str(data["grade"]), criteria)
