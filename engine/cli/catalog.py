"""`pm-exports demo seed` and `pm-exports catalog import`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli import AppContext, handle_errors, pass_app

DELIMITERS = {";": ";", ",": ",", "|": "|", "tab": "\t", "\\t": "\t", "\t": "\t", "semicolon": ";", "comma": ","}
SHOWN_REJECTIONS = 50


def register(main: click.Group) -> None:
    """Attach the catalogue commands to the main group."""
    main.add_command(demo)
    main.add_command(catalog)


@click.group()
def demo() -> None:
    """Demo catalogue."""


@demo.command("seed")
@click.option("--products", "-n", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Number of products to generate.")  # fmt: skip
@click.option("--seed", type=int, default=42, show_default=True,
              help="Random seed: the same products and seed always give the same catalogue.")  # fmt: skip
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) when the catalogue already has products.")
@pass_app
@handle_errors
def demo_seed(app: AppContext, products: int, seed: int, if_empty: bool) -> None:
    """Fill an empty database with a realistic, deterministic demo catalogue."""
    from engine.services import catalog as catalog_service

    app.open_db()
    if if_empty and (count := catalog_service.product_count()):
        click.echo(f"the catalogue already has {count} products: demo seed skipped")
        return
    if sys.stdout.isatty():
        with click.progressbar(length=products, label="Seeding the demo catalogue") as bar:
            summary = catalog_service.seed_demo(products, seed, progress=bar.update)
    else:
        summary = catalog_service.seed_demo(products, seed)
    click.echo(
        f"products: {summary.products}\n"
        f"variants: {summary.variants}\n"
        f"images: {summary.images}\n"
        f"supplier links: {summary.supplier_links}\n"
        f"categories: {summary.categories}\n"
        f"suppliers: {summary.suppliers}\n"
        f"brands: {summary.brands}\n"
        f"time: {summary.seconds:.1f} s"
    )


@click.group()
def catalog() -> None:
    """The engine's copy of the catalogue."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
              help="File format (default: from the extension, .csv, .jsonl or .ndjson).")  # fmt: skip
@click.option("--delimiter", default=None,
              help="CSV delimiter: ';', ',', 'tab' or '|' (default: sniffed from the header).")  # fmt: skip
@click.option("--encoding", default=None,
              help="CSV encoding (default: UTF-8, or Windows-1252/ISO-8859-1 when the file is not UTF-8).")  # fmt: skip
@click.option("--create-categories", is_flag=True,
              help="Create missing category paths instead of rejecting the rows.")  # fmt: skip
@click.option("--match-by", type=click.Choice(["sku", "ean"]), default="sku", show_default=True,
              help="sku: the SKU finds the product, a new SKU whose EAN belongs to another product is rejected as "
                   "a conflict; ean: the EAN finds the product first, which then takes the row's SKU.")  # fmt: skip
@pass_app
@handle_errors
def catalog_import(
    app: AppContext,
    file: Path,
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
    create_categories: bool,
    match_by: str,
) -> None:
    """Create or update products from a CSV or JSON Lines FILE (columns: docs/import.md).

    Rejected rows are listed with their line and reason; the others are imported. Exit code 0 when every
    row was imported, 1 when some were rejected, 2 when the file itself is unusable (or has no rows).
    """
    from engine.services import catalog as catalog_service

    if delimiter is not None:
        if delimiter not in DELIMITERS:
            raise click.BadParameter("use ';', ',', 'tab' or '|'", param_hint="--delimiter")
        delimiter = DELIMITERS[delimiter]
    app.open_db()
    report = catalog_service.import_file(
        file, fmt, delimiter=delimiter, encoding=encoding, create_categories=create_categories, match_by=match_by
    )
    summary = f"created: {report.created}, updated: {report.updated}, rejected: {report.rejected}"
    if report.categories_created:
        summary += f", categories created: {report.categories_created}"
    click.echo(summary)
    for rejection in report.rejections[:SHOWN_REJECTIONS]:
        who = f"{rejection.sku or rejection.ean}: " if rejection.sku or rejection.ean else ""
        click.echo(f"line {rejection.line}: {who}{rejection.reason}")
    if report.rejected > SHOWN_REJECTIONS:
        click.echo(f"... and {report.rejected - SHOWN_REJECTIONS} more")
    if report.rejected:
        sys.exit(1)
