"""Console page benchmark: every list page of the admin console on a 1,000,000-product catalogue (a report, not a
test; issue 12: "pages load in under 300 ms with 1,000,000 products in the database").

Seeds N demo products into `var/bench/console-<N>/` (or reuses them: bench_export's fast seeding, the same
database when it already holds N products), adds JOBS finished jobs, then GETs each page through Flask's test
client as a logged-in reader, RUNS times each after two warm-up calls, pages interleaved run by run so that
machine noise spreads evenly. Prints p50 / p95 per page beside two baselines measured in the same run (the
login page, and a bare route doing one `SELECT 1` on the same database), flags every page whose p95 is over
300 ms, and writes the table as Markdown to `var/bench/console-results-<N>.md`. Pages that another part of the
console adds (templates, schedules, integrations) are measured when the app has them.

    .venv/bin/python bench/bench_console.py                       # 1,000,000 products, SQLite
    .venv/bin/python bench/bench_console.py --products 100000 --keep
    .venv/bin/python bench/bench_console.py --database-url postgresql://postgres@127.0.0.1/bench

PostgreSQL: the database must be empty or hold exactly N products (it is seeded once, then reused). Redis is the
one REDIS_URL names (default redis://127.0.0.1:6379/0); without it the queues page is timed showing its
"Redis does not answer" message. Always exits 0 when it ran.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LIMIT_MS = 300.0
JOBS = 10_000
NEXT_PAGE = re.compile(r'href="([^"]+)" data-testid="next-page"')
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
OPTIONAL_PAGES = (
    ("templates list", "/templates/"),
    ("schedules list", "/schedules/"),
    ("integrations", "/integrations/"),
)


@dataclass
class Page:
    name: str
    path: str
    baseline: bool = False
    times: list[float] = field(default_factory=list)  # ms
    statuses: set[int] = field(default_factory=set)

    def pct(self, q: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def prepare_sqlite(n: int, bench_dir: Path) -> tuple[Any, str]:
    from bench_export import prepare_database

    from engine.settings import Settings

    db_path, how = prepare_database(n, bench_dir)
    return Settings.build(var_dir=str(bench_dir), database_url=f"sqlite:///{db_path}"), how


def prepare_postgres(n: int, url: str, var: Path) -> tuple[Any, str]:
    from engine.catalog.demo import seed_demo
    from engine.db import current_database, open_database
    from engine.services.catalog import product_count
    from engine.services.setup import upgrade
    from engine.settings import Settings

    settings = Settings.build(var_dir=str(var), database_url=url)
    open_database(settings)
    upgrade(settings)
    count = product_count()
    if count == n:
        return settings, f"reused {n:,} products in PostgreSQL"
    if count:
        raise SystemExit(f"the PostgreSQL database holds {count:,} products, not {n:,}: give an empty one")
    print(f"Seeding {n:,} demo products into PostgreSQL ...", flush=True)
    summary = seed_demo(n, seed=42)
    current_database().execute_sql("ANALYZE")  # the planner's statistics, as autovacuum would gather them later
    return settings, f"seeded {summary.products:,} products in PostgreSQL in {summary.seconds:.1f} s (analyzed)"


def seed_jobs(count: int) -> None:
    """`count` finished export jobs in the jobs table (once), for the dashboard and the jobs list."""
    from engine.catalog.models import utcnow
    from engine.db import current_database
    from engine.models import ExportJob

    have = ExportJob.select().count()
    if have >= count:
        return
    now = utcnow()
    rows = [
        {
            "template_name": "Standard CSV",
            "spec": {},
            "status": "failed" if i % 17 == 0 else "succeeded",
            "phase": "done",
            "requested_by": "bench",
            "total": 1000,
            "processed": 1000,
            "exported": 990,
            "excluded": 10,
            "created_at": now - dt.timedelta(minutes=count - i),
            "finished_at": now - dt.timedelta(minutes=count - i - 1),
        }
        for i in range(have, count)
    ]
    with current_database().atomic():
        for start in range(0, len(rows), 500):
            ExportJob.insert_many(rows[start : start + 500]).execute()


def build_client(settings: Any) -> tuple[Any, Any]:
    """The console app on the open database with a bench route doing SELECT 1, and a reader logged in."""
    from admin import create_app
    from engine.db import current_database
    from engine.services.users import create_user

    user = f"bench-{secrets.token_hex(4)}"  # a reader of this run (a reused database keeps the earlier ones)
    password, _view = create_user(user, "reader")
    app = create_app(
        settings.with_(admin_secure_cookies=False, admin_session_key="bench", admin_locale="en"), open_db=False
    )
    app.add_url_rule(
        "/bench-select-1", "bench_select_1", lambda: str(current_database().execute_sql("SELECT 1").fetchone()[0])
    )
    client = app.test_client()
    match = CSRF.search(client.get("/login").get_data(as_text=True))
    assert match, "no CSRF token on the login page"
    answer = client.post("/login", data={"username": user, "password": password, "csrf_token": match.group(1)})
    assert answer.status_code == 302, f"logging in failed ({answer.status_code})"
    return app, client


def pick_pages(app: Any, client: Any) -> list[Page]:
    """The pages, with real SKUs, EANs and words of the seeded catalogue, and real page tokens."""
    from engine.catalog.models import Product

    newest = Product.select(Product.id).order_by(Product.id.desc()).scalar()
    middle = Product.select(Product.id, Product.sku, Product.ean).where(Product.id >= newest // 2).first()
    with_variants = Product.select(Product.id).where(Product.id >= newest // 2).order_by(Product.id).limit(1).scalar()
    pages = [
        Page("baseline: /login", "/login", baseline=True),
        Page("baseline: SELECT 1", "/bench-select-1", baseline=True),
        Page("dashboard", "/"),
        Page("jobs list", "/jobs/"),
    ]
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    pages += [Page(name, path) for name, path in OPTIONAL_PAGES if path in rules]
    pages.append(Page("catalogue, first page", "/catalog/"))
    path = "/catalog/"
    for _ in range(20):  # 20 pages in: the token of the 21st
        found = NEXT_PAGE.search(client.get(path).get_data(as_text=True))
        assert found, f"no next page on {path}"
        path = found.group(1).replace("&amp;", "&")
    pages.append(Page("catalogue, page 21 (token)", path))
    pages.append(Page("catalogue, status=draft", "/catalog/?status=draft"))
    pages.append(Page("search SKU, exact", f"/catalog/?field=sku&q={middle.sku}"))
    pages.append(Page("search SKU, prefix", f"/catalog/?field=sku&q={middle.sku[:-3]}"))
    pages.append(Page("search EAN, exact", f"/catalog/?field=ean&q={middle.ean}"))
    pages.append(Page("search EAN, prefix", f"/catalog/?field=ean&q={middle.ean[:8]}"))
    pages.append(Page("search title, common words", "/catalog/?field=title&q=acier+inoxydable"))
    pages.append(Page("search title, no match (whole window)", "/catalog/?field=title&q=zzzq"))
    pages.append(Page("product detail (12+ templates)", f"/catalog/{with_variants or middle.id}"))
    pages.append(Page("queues & workers", "/queues/"))
    return pages


def measure(client: Any, pages: list[Page], runs: int) -> None:
    for page in pages:  # warm-up: imports, template compilation, the database's page cache
        for _ in range(2):
            client.get(page.path)
    for _ in range(runs):
        for page in pages:
            start = time.perf_counter()
            answer = client.get(page.path)
            answer.get_data()
            page.times.append((time.perf_counter() - start) * 1000)
            page.statuses.add(answer.status_code)


def table(pages: list[Page]) -> list[list[str]]:
    rows = [["page", "p50 ms", "p95 ms", "status", "verdict"]]
    for page in pages:
        p95 = page.pct(0.95)
        verdict = "baseline" if page.baseline else ("OVER 300 ms" if p95 > LIMIT_MS else "ok")
        status = ",".join(str(s) for s in sorted(page.statuses))
        rows.append([page.name, f"{page.pct(0.5):.1f}", f"{p95:.1f}", status, verdict])
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1_000_000, help="products in the catalogue (default 1000000)")
    parser.add_argument("--runs", type=int, default=20, help="timed GETs per page (default 20)")
    parser.add_argument("--var", default="var/bench", help="working folder (default var/bench)")
    parser.add_argument("--database-url", default="", help="postgresql://... (default: a SQLite file under --var)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database for the next run")
    args = parser.parse_args(argv)
    from engine.db import current_database

    var = Path(args.var).resolve()
    bench_dir = var / f"console-{args.products}"
    started = time.monotonic()
    if args.database_url:
        settings, how = prepare_postgres(args.products, args.database_url, bench_dir)
    else:
        settings, how = prepare_sqlite(args.products, bench_dir)
        from engine.db import open_database

        open_database(settings)
    settings = settings.with_(redis_url=os.environ.get("REDIS_URL", settings.redis_url))
    print(how, flush=True)
    seed_jobs(JOBS)
    app, client = build_client(settings)
    pages = pick_pages(app, client)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"Timing {len(pages)} pages x {args.runs} runs ({backend}, {args.products:,} products, {JOBS:,} jobs) ...")
    measure(client, pages, args.runs)
    current_database().close()
    rows = table(pages)
    print(text_table(rows))
    over = [p.name for p in pages if not p.baseline and p.pct(0.95) > LIMIT_MS]
    bad = [p.name for p in pages if p.statuses - {200} and p.name != "queues & workers"]
    print(f"\n{len(over)} page(s) over {LIMIT_MS:.0f} ms at p95" + (f": {', '.join(over)}" if over else ""))
    if bad:
        print(f"pages that did not answer 200: {', '.join(bad)}")
    out = var / f"console-results-{args.products}{'-postgres' if args.database_url else ''}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f"Console pages, {backend}, {args.products:,} products, {args.runs} runs each "
        f"({dt.date.today().isoformat()}):\n\n{markdown_table(rows)}\n",
        encoding="utf-8",
    )
    print(f"written {out} in {time.monotonic() - started:.0f} s")
    if not args.keep and not args.database_url:
        shutil.rmtree(bench_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
