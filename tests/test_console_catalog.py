"""The console's Catalogue (browse, keyset pages, search by SKU / EAN / title, bounded inputs, escaping, a product's
completeness and what each template's export does with it) and its Queues & workers page on a real Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue, SimpleWorker, Worker

from engine.catalog.models import Category, Product
from engine.catalog.store import ensure_category_path
from engine.services import browse
from engine.services.browse import browse_products, product_detail, search_products
from engine.services.catalog import upsert_products
from engine.services.explain import explain_product
from engine.services.queues import queues_overview
from engine.services.templates import create_template
from engine.settings import Settings
from tests.console_support import console_app, log_in, make_users

XSS = "<script>alert(1)</script>"
POST_FORM = re.compile(r"<form[^>]*method=\"post\"[^>]*>", re.IGNORECASE)


def _ean13(body: str) -> str:
    """`body` (12 digits) with its check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def seed(count: int = 60) -> None:
    """`count` active products SKU-0001..., EAN 3760000000xxx, titles "Casserole n°i" / "Poêle n°i" alternately,
    complete enough (price, brand, category, image) to be exported by the plain templates."""
    products = [
        {
            "sku": f"SKU-{i:04d}",
            "ean": _ean13(f"376000000{i:03d}"),
            "title": f"{'Casserole' if i % 2 else 'Poêle'} inox n°{i}",
            "brand": "Chef",
            "status": "active",
            "price": "19.90",
            "stock": i,
            "category": "Maison > Cuisine",
            "images": [{"url": f"https://img.example/{i}.jpg"}],
        }
        for i in range(1, count + 1)
    ]
    ensure_category_path("Maison > Cuisine")
    ensure_category_path("Jardin")
    summary = upsert_products(products)
    assert summary.rejected == 0, summary.rejections


@pytest.fixture
def app(sqlite_db: Settings) -> Flask:
    make_users()
    return console_app(sqlite_db)


@pytest.fixture
def reader(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, "reader").status_code == 302
    return client


# ----------------------------------------------------------------------------------------------- services


def test_browse_is_newest_first_in_keyset_pages(db: Settings) -> None:
    seed(60)
    seen: list[int] = []
    token = None
    pages = 0
    while True:
        page = browse_products(page_size=25, page_token=token)
        seen += [p.id for p in page.products]
        pages += 1
        token = page.next_token
        if not token:
            break
    assert pages == 3 and len(seen) == 60 and seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 60
    Product.update(status="draft").where(Product.sku.in_(["SKU-0001", "SKU-0002"])).execute()
    drafts = browse_products(status="draft")
    assert sorted(p.sku for p in drafts.products) == ["SKU-0001", "SKU-0002"] and drafts.next_token == ""


def test_search_by_sku_and_ean_prefix_and_title_words(db: Settings) -> None:
    seed(60)
    page = search_products("sku", "SKU-001", page_size=5)
    assert [p.sku for p in page.products] == [f"SKU-{i:04d}" for i in range(10, 15)]
    rest = search_products("sku", "SKU-001", page_size=5, page_token=page.next_token)
    assert [p.sku for p in rest.products] == [f"SKU-{i:04d}" for i in range(15, 20)] and rest.next_token == ""
    assert [p.sku for p in search_products("sku", "SKU-0042").products] == ["SKU-0042"]
    assert search_products("sku", "sku-0042").products == []  # SKUs compare exactly
    assert search_products("sku", "SKU-00%").products == []  # wildcards are plain characters
    ean = _ean13("376000000042")
    assert [p.sku for p in search_products("ean", ean).products] == ["SKU-0042"]
    assert len(search_products("ean", "37600000004").products) == 10
    words = search_products("title", "casserole N°1", page_size=50)  # case-insensitive, words in order
    assert sorted(p.sku for p in words.products) == ["SKU-0001", *[f"SKU-{i:04d}" for i in range(11, 20, 2)]]
    assert search_products("title", "100%").products == []


def test_title_search_reads_a_bounded_window_and_continues(db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(60)
    monkeypatch.setattr(browse, "TITLE_SCAN_ROWS", 20)
    ids = sorted(p.id for p in Product.select(Product.id))
    page = search_products("title", "Casserole", page_size=25)
    # the newest 20 ids were read: their 10 casseroles, and the token goes on below them
    assert len(page.products) == 10 and page.scanned_to == ids[-1] + 1 - 20 and page.next_token
    found = [p.id for p in page.products]
    while page.next_token:
        page = search_products("title", "Casserole", page_size=25, page_token=page.next_token)
        found += [p.id for p in page.products]
    assert sorted(found) == sorted(p.id for p in Product.select().where(Product.title.startswith("Casserole")))


def test_sku_and_ean_searches_read_an_index(db: Settings) -> None:
    from engine.db import current_database, is_postgres

    seed(3)
    database = current_database()
    for column, index in ((Product.sku, "sku"), (Product.ean, "ean")):
        sql, params = browse.prefix_query(column, "37" if index == "ean" else "SKU-", 25).sql()
        if is_postgres():
            with database.atomic():
                database.execute_sql("SET LOCAL enable_seqscan = off")  # a 3-row table is otherwise scanned
                plan = " ".join(row[0] for row in database.execute_sql("EXPLAIN " + sql, params))
            assert f"product_{index}_c" in plan, plan
        else:
            plan = " ".join(str(row[-1]) for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert f"USING INDEX product_{index}" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize(
    ("field", "query", "token", "says"),
    [
        ("title", "x" * 10_240, None, "10,240 characters long (at most 100)"),
        ("sku", "A", "y" * 600, "at most 512"),
        ("sku", "A", "bm90LWpzb24=", "malformed page token"),
        ("ean", "37a", None, "digits only"),
        ("price", "1", None, "search by one of sku, ean, title"),
        ("sku", "   ", None, "type what to search for"),
    ],
)
def test_bad_searches_are_refused_with_a_reason(
    sqlite_db: Settings, field: str, query: str, token: str | None, says: str
) -> None:
    from engine.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match=re.escape(says)):
        search_products(field, query, page_token=token)


def test_product_detail_lists_completeness_criteria_met_and_missing(db: Settings) -> None:
    seed(1)
    detail = product_detail(Product.get(Product.sku == "SKU-0001").id)
    met = {c.name: c.met for c in detail.criteria}
    assert met["title"] and met["price"] and met["image"] and met["category"] and met["gtin"]
    assert "description" in detail.missing and "supplier" in detail.missing
    assert detail.score == sum(c.weight for c in detail.criteria if c.met)
    assert detail.criteria[0].weight >= detail.criteria[-1].weight


def test_explain_says_included_excluded_by_rule_or_not_selected(db: Settings) -> None:
    seed(3)
    upsert_products([{"sku": "NOPRICE", "title": "Sans prix", "status": "active", "category": "Maison > Cuisine"}])
    upsert_products([{"sku": "DRAFT", "title": "Brouillon", "status": "draft", "price": "5"}])
    create_template(
        "Jardin only",
        {"format": "csv", "columns": [{"header": "SKU", "source": "sku"}], "selection": {"categories": ["Maison"]}},
    )
    upsert_products([{"sku": "JARDIN", "title": "Tondeuse", "status": "active", "category": "Jardin", "price": "9"}])

    def verdicts(sku: str) -> dict[str, tuple[str, str, str]]:
        found, more = explain_product(db, Product.get(Product.sku == sku).id)
        assert more == ""
        return {v.template: (v.verdict, v.rule, v.message) for v in found}

    complete = verdicts("SKU-0001")
    assert complete["Standard CSV"][0] == "included" and complete["Price & Stock"][0] == "included"
    assert complete["Jardin only"][0] == "included"  # Maison > Cuisine is under Maison
    no_price = verdicts("NOPRICE")
    assert no_price["Price & Stock"] == ("excluded", "positive:price", "price must be greater than 0")
    assert no_price["Standard CSV"][0] == "included"
    assert no_price["Google Shopping"][0] == "excluded" and no_price["Google Shopping"][2]
    draft = verdicts("DRAFT")
    assert draft["Standard CSV"] == (
        "not_selected",
        "selection.statuses",
        "its status is draft; the template takes active",
    )
    assert draft["Full catalogue XLSX"][0] == "included"  # it takes drafts too
    jardin = verdicts("JARDIN")
    assert jardin["Jardin only"] == (
        "not_selected",
        "selection.categories",
        "not in the categories Maison (or their sub-categories)",
    )
    create_template(
        "Garden only",
        {"format": "csv", "columns": [{"header": "SKU", "source": "sku"}], "selection": {"categories": ["Jardin"]}},
    )
    Category.delete().where(Category.name == "Jardin").execute()  # the template now names a category that is gone
    gone = verdicts("SKU-0001")["Garden only"]
    assert gone[0] == "error" and "unknown category 'Jardin'" in gone[2]
    first, after = explain_product(db, Product.get(Product.sku == "JARDIN").id, limit=2)
    assert len(first) == 2 and after == first[-1].template
    rest, _ = explain_product(db, Product.get(Product.sku == "JARDIN").id, after=after)
    assert {v.template for v in rest}.isdisjoint({v.template for v in first})


# ----------------------------------------------------------------------------------------------- console pages


def _no_edit_controls(html: str) -> None:
    """A reader's page carries no state-changing form (log out and language are data-safe)."""
    assert [form for form in POST_FORM.findall(html) if "data-safe" not in form] == []


def test_the_pages_need_a_login_and_speak_french_by_default(sqlite_db: Settings) -> None:
    make_users()
    seed(3)
    client = console_app(sqlite_db, admin_locale="fr").test_client()
    for path in ("/catalog/", f"/catalog/{Product.get(Product.sku == 'SKU-0001').id}", "/queues/"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"], path
    log_in(client, "reader")
    assert "Rechercher par" in client.get("/catalog/").get_data(as_text=True)
    detail = client.get(f"/catalog/{Product.get(Product.sku == 'SKU-0001').id}").get_data(as_text=True)
    assert "Complétude" in detail and ">inclus<" in detail
    assert client.post("/catalog/", data={}).status_code in {400, 405}  # nothing to post to (no CSRF token: 400)


def test_reader_browses_pages_and_opens_a_product(app: Flask, reader: FlaskClient) -> None:
    seed(60)
    first = reader.get("/catalog/")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and html.count("data-product-id=") == 25 and "SKU-0060" in html
    _no_edit_controls(html)
    next_url = re.search(r'href="([^"]+)" data-testid="next-page"', html)
    assert next_url is not None
    second = reader.get(next_url.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "SKU-0035" in second and "SKU-0060" not in second and 'data-testid="first-page"' in second
    product_id = Product.get(Product.sku == "SKU-0007").id
    page = reader.get(f"/catalog/{product_id}")
    detail = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-criterion="description" data-met="no"' in detail
    assert 'data-template="Standard CSV" data-verdict="included"' in detail
    assert "https://img.example/7.jpg" in detail
    _no_edit_controls(detail)
    assert reader.get("/catalog/999999").status_code == 404


def test_console_searches_each_kind(app: Flask, reader: FlaskClient) -> None:
    seed(30)
    by_sku = reader.get("/catalog/?field=sku&q=SKU-002").get_data(as_text=True)
    assert by_sku.count("data-product-id=") == 10
    by_ean = reader.get(f"/catalog/?field=ean&q={_ean13('376000000007')}").get_data(as_text=True)
    assert by_ean.count("data-product-id=") == 1 and 'data-sku="SKU-0007"' in by_ean
    by_title = reader.get("/catalog/?field=title&q=po%C3%AAle+n%C2%B02").get_data(as_text=True)
    assert 'data-sku="SKU-0002"' in by_title and 'data-sku="SKU-0001"' not in by_title
    none = reader.get("/catalog/?field=sku&q=NOPE").get_data(as_text=True)
    assert 'data-testid="no-products"' in none


def test_console_refuses_a_10kb_search_with_a_clear_error(app: Flask, reader: FlaskClient) -> None:
    seed(3)
    answer = reader.get("/catalog/", query_string={"field": "title", "q": "x" * 10_240})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "10,240 characters long (at most 100)" in html and 'maxlength="100"' in html
    bad = reader.get("/catalog/?field=ean&q=abc")
    assert bad.status_code == 400 and "digits only" in bad.get_data(as_text=True)
    token = reader.get("/catalog/?page=%%%")
    assert token.status_code == 400 and "malformed page token" in token.get_data(as_text=True)


def test_a_script_in_a_product_renders_as_text(app: Flask, reader: FlaskClient) -> None:
    upsert_products(
        [
            {
                "sku": "XSS-1",
                "title": XSS,
                "brand": XSS,
                "status": "active",
                "description": f"<p>{XSS}</p>",
                "images": [{"url": "https://img.example/x.jpg", "alt": XSS}],
                "attributes": {"color": XSS},
            }
        ]
    )
    product_id = Product.get(Product.sku == "XSS-1").id
    for path in ("/catalog/", "/catalog/?field=title&q=script", f"/catalog/{product_id}"):
        html = reader.get(path).get_data(as_text=True)
        assert XSS not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


# ----------------------------------------------------------------------------------------------- queues


@pytest.fixture
def queues_app(sqlite_db: Settings, redis_url: str) -> Iterator[tuple[Settings, Flask, Redis]]:
    settings = sqlite_db.with_(redis_url=redis_url)
    make_users()
    yield settings, console_app(settings), Redis.from_url(redis_url)


def test_queues_page_shows_counts_workers_and_failed_tasks(queues_app: tuple[Settings, Flask, Redis]) -> None:
    settings, app, redis = queues_app
    queue = Queue("maintenance", connection=redis)
    queue.enqueue("builtins.int", "not a number", job_id="pmx-test-job-7-1", description="export job 7")
    SimpleWorker([queue], connection=redis).work(burst=True)  # the task fails: int('not a number')
    Queue("exports", connection=redis).enqueue("builtins.len", "abc")  # waits: no worker on exports
    idle = Worker([Queue("exports", connection=redis)], connection=redis, name="idle-worker")
    idle.register_birth()
    try:
        overview = queues_overview(settings)
        counts = {q.name: q for q in overview.queues}
        assert counts["exports"].queued == 1 and counts["maintenance"].failed == 1
        assert [w.name for w in overview.workers] == ["idle-worker"]
        assert overview.failed[0].job_id == 7 and "ValueError" in overview.failed[0].error

        client = app.test_client()
        log_in(client, "reader")
        page = client.get("/queues/")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert re.search(r'data-queue="exports">.*?data-role="queued">1<', html, re.S)
        assert re.search(r'data-queue="maintenance">.*?data-role="failed">1<', html, re.S)
        assert 'data-worker="idle-worker"' in html and "invalid literal for int()" in html
        assert 'href="/jobs/7"' in html
        _no_edit_controls(html)
    finally:
        idle.register_death()


def test_queues_page_says_redis_is_down_without_a_500(sqlite_db: Settings) -> None:
    make_users()
    app = console_app(sqlite_db.with_(redis_url="redis://:s3cret@127.0.0.1:9/0"))  # nothing listens on port 9
    client = app.test_client()
    log_in(client, "reader")
    page = client.get("/queues/")
    html = page.get_data(as_text=True)
    assert page.status_code == 503
    assert "Redis at 127.0.0.1:9/0 does not answer" in html and 'data-testid="redis-down"' in html
    assert "s3cret" not in html and "Traceback" not in html
