"""Trial 2's defects on the jobs, templates, integrations and queues pages (issue 12, fix2): exclusion rules by name
with the code as a hint and the product linked, a job's times, status words, one heading a page, numbers in the
user's locale, format codes in words, a copy keeping its platform."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from engine.models import JobExclusion, JobWarning
from engine.services.catalog import upsert_products
from engine.settings import Settings
from tests.console_support import console_app, log_in
from tests.test_console import finished_job


def _french(console: tuple[Settings, Flask], username: str = "manager") -> FlaskClient:
    client = console_app(console[0], admin_locale="fr").test_client()
    log_in(client, username)
    return client


def test_excluded_products_show_the_rule_by_name_the_message_once_and_link_the_product(
    console: tuple[Settings, Flask],
) -> None:
    job = finished_job(console[0])
    JobExclusion.create(job=job.id, product_id=7, sku="S-7", ean="", rule="positive:price",
                        message="price must be greater than 0")  # fmt: skip
    JobExclusion.create(job=job.id, product_id=8, sku="S-8", ean="", rule="required:title", message="title is missing")
    JobWarning.create(job=job.id, product_id=9, sku="S-9", ean="", kind="image", message="image too small")
    page = _french(console).get(f"/jobs/{job.id}").get_data(as_text=True)
    table = page.split('data-testid="excluded"')[1].split("</table>")[0]
    price_row = table.split('href="/catalog/7"')[1].split("</tr>")[0]
    assert 'data-rule="positive:price">Prix positif <code class="small text-muted">positive:price</code>' in price_row
    assert price_row.count("supérieur à 0") == 1  # the message once, in its own column
    assert 'data-rule="required:title">Champ requis <code' in table and 'href="/catalog/8"' in table
    warnings = page.split('data-testid="warnings"')[1].split("</table>")[0]
    assert 'href="/catalog/9"' in warnings and 'data-rule="image">Image utilisable <code' in warnings


def test_the_preview_names_the_rules_of_the_excluded_products_and_links_them(console: tuple[Settings, Flask]) -> None:
    finished_job(console[0])
    upsert_products([{"sku": "NOPRICE", "title": "Sans prix", "status": "active"}])
    page = _french(console).get("/templates/edit/Price & Stock?preview=1").get_data(as_text=True)
    counts = page.split("Produits exclus")[1].split("<table")[0]
    assert (
        '<span data-rule="positive:price">Prix positif</span>' in counts and "positive:price</code> : 2<" in counts
    )  # with the small catalogue's own
    table = page.split('data-testid="preview-excluded"')[1].split("</table>")[0]
    assert 'data-rule="positive:price">Prix positif <code' in table and 'data-testid="product-link"' in table
    assert ">positive:price</code></td><td>price doit être supérieur à 0</td>" in table
