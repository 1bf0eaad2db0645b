"""Export benchmark: the real pipeline against a raw floor on the same columns, per format (a report, not a test).

Seeds N demo products into `var/bench/<N>/`, then for each format runs, alternately and each in a fresh
subprocess (so peak RSS is per export), a raw floor (sqlite3 cursor -> csv.writer / xlsxwriter
constant_memory / orjson) and the engine (`resolve_request` + `ExportRun.execute()`: selection, mapping,
writer, publishing, hashing) on the "Standard CSV" template's columns. Prints median rows/s, the ratio to the
floor (median of the per-pair ratios), peak RSS, and OK/MISS against the targets; writes the table as
Markdown (and JSON) to `var/bench/results-<N>.md`. Always exits 0 when it ran, even on a MISS.

    .venv/bin/python bench/bench_export.py --products 100000
    .venv/bin/python bench/bench_export.py --products 1000000 --runs 1 --xlsx-runs 1 --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATE = "Standard CSV"
FORMATS = ("csv", "xlsx", "jsonl")
SPEED_TARGETS = {"csv": 0.5, "xlsx": 0.7, "jsonl": 0.4}  # engine rows/s at least this share of the floor's
RSS_LIMIT_MB = 150.0  # peak RSS of one export, any N up to 1,000,000
RSS_GROWTH_LIMIT = 0.20  # at N > 100,000: at most 20% above the 100,000-product figure
RSS_REFERENCE_N = 100_000

# The Standard CSV template's columns as one SQL query over the catalogue tables (same order, same rows:
# active products by id; "Main image" is images[0], the first image by position; tags are joined in Python).
FLOOR_SQL = """
SELECT p.id, p.sku, p.ean, p.mpn, p.title, p.brand, c.path, p.short_description, p.description,
       p.price, p.compare_at_price, p.cost_price, p.currency, p.tax_rate, p.stock,
       p.weight, p.width, p.height, p.depth, p.status, p.tags,
       (SELECT i.url FROM image AS i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1),
       p.completeness, p.grade, p.created_at, p.updated_at
FROM product AS p
LEFT JOIN category AS c ON c.id = p.category_id
WHERE p.status = 'active'
ORDER BY p.id
"""
TAGS_POSITION = 20
# The sources the query above yields, in order: checked against the template before measuring.
FLOOR_SOURCES = (
    "id", "sku", "ean", "mpn", "title", "brand", "category.path", "short_description", "description", "price",
    "compare_at_price", "cost_price", "currency", "tax_rate", "stock", "weight", "width", "height", "depth",
    "status", "tags", "images[0].url", "completeness", "grade", "created_at", "updated_at",
)  # fmt: skip
TEMPLATE_FILE = Path(__file__).resolve().parents[1] / "engine" / "data" / "templates" / "standard_csv.json"


# ---------------------------------------------------------------------------------------------------------
# Child processes: one export each, reporting one JSON line


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM first: getrusage's ru_maxrss is not reset by exec on Linux, so a child
    started by a big parent would report the parent's RSS at fork time whenever the child stays smaller."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _template_columns() -> list[dict[str, Any]]:
    """The template's columns, from its data file (the floor must not import the engine: it would weigh on RSS)."""
    spec = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))["spec"]
    return list(spec["columns"])


def _floor_rows(con: sqlite3.Connection) -> Any:
    """The floor's rows: a plain cursor, tags JSON -> "|"-joined text."""
    import orjson

    loads = orjson.loads
    for row in con.execute(FLOOR_SQL):
        tags = row[TAGS_POSITION]
        values = list(row)
        values[TAGS_POSITION] = "|".join(loads(tags)) if tags else None
        yield values


def run_floor(fmt: str, db_path: Path, out: Path) -> dict[str, Any]:
    headers = [column["header"] for column in _template_columns()]
    started, cpu_started = time.perf_counter(), time.process_time()
    con = sqlite3.connect(db_path)
    rows = 0
    if fmt == "csv":
        import csv

        path = out / "floor.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
            writer.writerow(headers)
            writerow = writer.writerow
            for values in _floor_rows(con):
                writerow(values)
                rows += 1
    elif fmt == "xlsx":
        import xlsxwriter

        path = out / "floor.xlsx"
        options = {"constant_memory": True, "strings_to_urls": False, "use_zip64": True, "tmpdir": str(out)}
        workbook = xlsxwriter.Workbook(str(path), options)
        sheet = workbook.add_worksheet("products")
        sheet.write_row(0, 0, headers)
        write_row = sheet.write_row
        for values in _floor_rows(con):
            rows += 1
            write_row(rows, 0, values)
        workbook.close()
    elif fmt == "jsonl":
        import orjson

        path = out / "floor.jsonl"
        dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        with path.open("wb") as fh:
            write = fh.write
            for values in _floor_rows(con):
                write(dumps(dict(zip(headers, values, strict=True)), option=option))
                rows += 1
    else:
        raise SystemExit(f"unknown format {fmt!r}")
    con.close()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows, "files": 1, "bytes": path.stat().st_size}


def run_engine(fmt: str, db_path: Path, out: Path) -> dict[str, Any]:
    from engine.db import open_database
    from engine.pipeline.run import ExportRun
    from engine.services.exports import resolve_request
    from engine.settings import Settings

    settings = Settings.build(var_dir=str(out), database_url=f"sqlite:///{db_path}")
    open_database(settings)
    started, cpu_started = time.perf_counter(), time.process_time()
    request = resolve_request(TEMPLATE, {"format": fmt})
    run = ExportRun(request.spec, settings, template_name=request.template_name, out_dir=out)
    result = run.execute()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": result.exported,
        "files": len(result.files),
        "bytes": sum(f.size for f in result.files),
    }


def child_main(role: str, fmt: str, db_path: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = (run_engine if role == "engine" else run_floor)(fmt, db_path, out)
    report["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(report), flush=True)


# ---------------------------------------------------------------------------------------------------------
# Parent: seed, alternate runs, report


@dataclass
class Sample:
    seconds: float
    rows: int
    peak_rss_mb: float
    files: int
    bytes: int
    cpu_seconds: float = 0.0  # CPU time of the same window: what a loaded machine's waits do not inflate

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.rows / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


@dataclass
class FormatResult:
    fmt: str
    floor: list[Sample] = field(default_factory=list)
    engine: list[Sample] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.engine[0].rows if self.engine else 0

    @property
    def ratio(self) -> float:
        """Median of the per-pair ratios: each engine run against the floor run just before it."""
        return statistics.median(e.rate / f.rate for f, e in zip(self.floor, self.engine, strict=True))

    @property
    def cpu_ratio(self) -> float:
        """The same by CPU time: steadier than wall time when other work shares the machine."""
        return statistics.median(e.cpu_rate / f.cpu_rate for f, e in zip(self.floor, self.engine, strict=True))

    def median_rate(self, role: str) -> float:
        return statistics.median(s.rate for s in getattr(self, role))

    def peak_rss(self, role: str) -> float:
        return max(s.peak_rss_mb for s in getattr(self, role))


def _db_path(bench_dir: Path) -> Path:
    return bench_dir / "pm_exports.db"


def _count_products(db_path: Path) -> int | None:
    if not db_path.is_file():
        return None
    con = sqlite3.connect(db_path)
    try:
        (count,) = con.execute("SELECT COUNT(*) FROM product").fetchone()
        return int(count)
    except sqlite3.Error:
        return None
    finally:
        con.close()


def prepare_database(n: int, bench_dir: Path) -> tuple[Path, str]:
    """Reuse `bench_dir`'s database when it holds exactly n products, else seed a new one. Returns how."""
    from engine.db import open_database
    from engine.services.setup import upgrade
    from engine.settings import Settings

    db_path = _db_path(bench_dir)
    existing = _count_products(db_path)
    reuse = existing == n
    if not reuse and bench_dir.exists():
        shutil.rmtree(bench_dir)
    bench_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.build(var_dir=str(bench_dir), database_url=f"sqlite:///{db_path}")
    db = open_database(settings)
    upgrade(settings)  # idempotent: schema and predefined templates
    if reuse:
        how = f"reused {db_path} ({n:,} products)"
    else:
        from engine.catalog.demo import seed_demo

        done = 0
        step = max(n // 10, 1)

        def progress(count: int) -> None:
            nonlocal done
            before, done = done, done + count
            if done // step != before // step or done == n:
                print(f"  seeded {done:,}/{n:,} products", flush=True)

        print(f"Seeding {n:,} demo products into {db_path} ...", flush=True)
        summary = seed_demo(n, seed=42, progress=progress)
        how = (
            f"seeded {summary.products:,} products ({summary.variants:,} variants, {summary.images:,} images) "
            f"in {summary.seconds:.1f} s"
        )
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return db_path, how


def warm_cache(db_path: Path) -> None:
    """Read the database file once so the first measured run does not pay for cold disk reads."""
    with db_path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def run_child(role: str, fmt: str, db_path: Path, out: Path) -> Sample:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", role, fmt, "--db", str(db_path)]
    cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    shutil.rmtree(out, ignore_errors=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"the {role} {fmt} export failed (exit code {proc.returncode})")
    data = json.loads(lines[-1])
    return Sample(data["seconds"], data["rows"], data["peak_rss_mb"], data["files"], data["bytes"], data["cpu_seconds"])


def _fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def evaluate(result: FormatResult, reference: dict[str, Any] | None, n: int) -> tuple[str, str, list[str]]:
    """(RSS vs the 100k figure, OK/MISS, reasons)."""
    reasons = []
    target = SPEED_TARGETS[result.fmt]
    if result.ratio < target:
        reasons.append(f"speed {result.ratio:.2f}x < {target}x")
    rss = result.peak_rss("engine")
    if rss >= RSS_LIMIT_MB:
        reasons.append(f"RSS {rss:.0f} MB >= {RSS_LIMIT_MB:.0f} MB")
    growth = "-"
    ref_rss = (reference or {}).get(result.fmt, {}).get("engine_peak_rss_mb")
    if n > RSS_REFERENCE_N and ref_rss:
        change = round(rss / ref_rss - 1, 2)
        growth = f"{change:+.0%}" if change else "0%"
        if change > RSS_GROWTH_LIMIT:
            reasons.append(f"RSS {change:+.0%} vs {RSS_REFERENCE_N:,} products")
    return growth, ("MISS" if reasons else "OK"), reasons


HEADERS = ["format", "rows", "engine rows/s", "floor rows/s", "ratio", "target", "engine peak RSS MB",
           "floor peak RSS MB", f"RSS vs {RSS_REFERENCE_N // 1000}k", "OK/MISS"]  # fmt: skip


def table_rows(results: list[FormatResult], reference: dict[str, Any] | None, n: int) -> list[list[str]]:
    rows = []
    for r in results:
        growth, verdict, reasons = evaluate(r, reference, n)
        rows.append([
            r.fmt, f"{r.rows:,}", _fmt_rate(r.median_rate("engine")), _fmt_rate(r.median_rate("floor")),
            f"{r.ratio:.2f}x (CPU {r.cpu_ratio:.2f}x)", f">= {SPEED_TARGETS[r.fmt]}x", f"{r.peak_rss('engine'):.0f}",
            f"{r.peak_rss('floor'):.0f}", growth, verdict + (f" ({'; '.join(reasons)})" if reasons else ""),
        ])  # fmt: skip
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)), line]
    out += ["  ".join(c.rjust(w) if 0 < i < 9 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows]  # fmt: skip
    return "\n".join(out)


def markdown_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" if i in (0, 9) else "---:" for i in range(10)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def parent_main(args: argparse.Namespace) -> None:
    n = args.products
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise SystemExit(f"--formats: choose among {', '.join(FORMATS)}")
    sources = [column.get("source") for column in _template_columns()]
    if sources != list(FLOOR_SOURCES):
        print(f"WARNING: the {TEMPLATE!r} columns changed; the floor query no longer matches them: {sources}")
    var = Path(args.var)
    bench_dir = var / str(n)
    print(f"PM Exports export benchmark: {n:,} products, template {TEMPLATE!r}, formats {', '.join(formats)}")
    print(f"Machine: {machine()}")
    seed_started = time.perf_counter()
    db_path, how = prepare_database(n, bench_dir)
    print(f"Database: {how} (ready in {time.perf_counter() - seed_started:.1f} s)")
    warm_cache(db_path)

    results = []
    for fmt in formats:
        runs = args.xlsx_runs if fmt == "xlsx" else args.runs
        result = FormatResult(fmt)
        for i in range(1, runs + 1):
            out = bench_dir / "out"
            floor = run_child("floor", fmt, db_path, out / f"floor-{fmt}-{i}")
            engine = run_child("engine", fmt, db_path, out / f"engine-{fmt}-{i}")
            result.floor.append(floor)
            result.engine.append(engine)
            print(
                f"  {fmt:5} run {i}/{runs}: floor {_fmt_rate(floor.rate):>8} rows/s {floor.peak_rss_mb:5.0f} MB"
                f" | engine {_fmt_rate(engine.rate):>8} rows/s {engine.peak_rss_mb:5.0f} MB"
                f" ({engine.files} file(s), {engine.bytes / 1e6:,.0f} MB) | ratio {engine.rate / floor.rate:.2f}x"
                f" (CPU time {engine.cpu_rate / floor.cpu_rate:.2f}x)",
                flush=True,
            )  # fmt: skip
            if floor.rows != engine.rows:
                warning = f"WARNING: {fmt} run {i}: the floor wrote {floor.rows:,} rows, the engine {engine.rows:,}"
                result.warnings.append(warning)
                print("  " + warning, flush=True)
        results.append(result)

    reference_path = var / f"results-{RSS_REFERENCE_N}.json"
    reference = json.loads(reference_path.read_text()) if n > RSS_REFERENCE_N and reference_path.is_file() else None
    rows = table_rows(results, reference, n)
    print()
    print(f"N = {n:,} products; medians over runs (ratio: median of per-pair engine/floor ratios of wall time;")
    print("CPU: the same by CPU time, steadier when other work shares the machine; the targets apply to wall time)")
    print(text_table(rows))
    warnings = [w for r in results for w in r.warnings]
    for warning in warnings:
        print(warning)
    if n > RSS_REFERENCE_N and reference is None:
        print(f"(no {reference_path}: run --products {RSS_REFERENCE_N} first for the RSS growth check)")
    misses = [r[0] for r in rows if r[-1].startswith("MISS")]
    print(f"MISS: {', '.join(misses)}" if misses else "All targets met.")

    var.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    runs_text = ", ".join(f"{r.fmt} {len(r.engine)}" for r in results)
    md = [
        f'Export benchmark, {n:,} products, template "{TEMPLATE}" ({stamp}; {machine()}; runs: {runs_text};',
        "medians; ratio = median of per-pair engine/floor ratios of wall time, CPU = the same by CPU time;",
        "RSS = peak over runs)",
        "",
        markdown_table(rows),
        *(["", *warnings] if warnings else []),
        "",
    ]
    (var / f"results-{n}.md").write_text("\n".join(md), encoding="utf-8")
    summary = {
        r.fmt: {
            "rows": r.rows,
            "engine_rows_per_s": r.median_rate("engine"),
            "floor_rows_per_s": r.median_rate("floor"),
            "ratio": r.ratio,
            "cpu_ratio": r.cpu_ratio,
            "engine_peak_rss_mb": r.peak_rss("engine"),
            "floor_peak_rss_mb": r.peak_rss("floor"),
            "engine_seconds": [s.seconds for s in r.engine],
            "floor_seconds": [s.seconds for s in r.floor],
        }
        for r in results
    }
    (var / f"results-{n}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"Written: {var / f'results-{n}.md'}")
    if not args.keep:
        shutil.rmtree(bench_dir, ignore_errors=True)
    else:
        shutil.rmtree(bench_dir / "out", ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000, help="products to seed (default 100000)")
    parser.add_argument("--runs", type=int, default=5, help="floor/engine pairs for csv and jsonl (default 5)")
    parser.add_argument("--xlsx-runs", type=int, default=3, help="floor/engine pairs for xlsx (default 3)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated (default csv,xlsx,jsonl)")
    parser.add_argument("--var", default="var/bench", help="working folder (default var/bench)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded database in VAR/<N>/ afterwards; a later run holding N products reuses it",
    )
    parser.add_argument("--child", nargs=2, metavar=("ROLE", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        role, fmt = args.child
        child_main(role, fmt, Path(args.db), Path(args.out))
        return
    if args.products < 1 or args.runs < 1 or args.xlsx_runs < 1:
        parser.error("--products, --runs and --xlsx-runs must be at least 1")
    parent_main(args)


if __name__ == "__main__":
    main()
