"""Trial 2's defects on the jobs, templates, integrations and queues pages (issue 12, fix2): exclusion rules by name
with the code as a hint and the product linked, a job's times, status words, one heading a page, numbers in the
user's locale, format codes in words, a copy keeping its platform."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import Babel
from redis import Redis
from rq import Queue, Worker

from admin.labels import duration, latency
from engine.models import ExportJob, JobExclusion, JobWarning
from engine.services import integrations, schedules, templates
from engine.services.audit import list_audit
from engine.services.catalog import upsert_products
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from tests.console_support import console_app, csrf_token, log_in, make_users
from tests.small_catalog import build_small_catalog
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


def test_a_job_page_shows_when_it_was_created_started_and_ended_and_how_long_it_took(
    console: tuple[Settings, Flask],
) -> None:
    job = finished_job(console[0])
    start = dt.datetime(2026, 11, 30, 5, 0, 0)  # UTC: 06:00 in Paris
    ExportJob.update(created_at=start - dt.timedelta(seconds=3), started_at=start,
                     finished_at=start + dt.timedelta(seconds=72)).where(ExportJob.id == job.id).execute()  # fmt: skip
    page = _french(console).get(f"/jobs/{job.id}").get_data(as_text=True)
    times = page.split('data-role="times"')[1].split("</dl>")[0]
    assert ">Créée<" in times and ">Démarrée<" in times and ">Terminée<" in times and ">Durée<" in times
    assert 'data-role="started">30 nov. 2026, 06:00:00<' in times and "05:59:57" in times
    assert 'data-role="ended">30 nov. 2026, 06:01:12<' in times and 'data-role="duration">1 min 12 s<' in times
    english = console_app(console[0], admin_locale="en").test_client()
    log_in(english, "reader")
    assert 'data-role="duration">1 min 12 s<' in english.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_durations_read_naturally() -> None:
    start = dt.datetime(2026, 1, 1)
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "fr")
    with app.test_request_context():
        assert duration(start, start + dt.timedelta(milliseconds=360)) == "0,4 s"
        assert duration(start, start + dt.timedelta(seconds=42)) == "42 s"
        assert duration(start, start + dt.timedelta(hours=2, minutes=5, seconds=9)) == "2 h 05 min"
        assert duration(start, None) == "" and duration(start, start - dt.timedelta(seconds=5)) == "0,0 s"


def test_object_pages_have_one_heading_not_the_menu_name_above_theirs(console: tuple[Settings, Flask]) -> None:
    settings = console[0]
    build_small_catalog()
    schedules.create_schedule(settings, "Lundi", {"template": "Standard CSV", "frequency": "weekly mon 06:00"})
    depot = integrations.create_integration(settings, "depot", "local", {"folder": str(settings.var_dir)}, {})
    client = _french(console, "admin")
    pages = {
        "/templates/edit/Standard CSV": "Modèles",
        "/templates/versions/Standard CSV": "Modèles",
        "/templates/copy/Standard CSV": "Modèles",
        "/templates/delete/Standard CSV": "Modèles",
        "/schedules/Lundi": "Planifications",
        "/schedules/Lundi/edit": "Planifications",
        f"/integrations/{depot.id}": "Intégrations",
        f"/integrations/{depot.id}/edit": "Intégrations",
        "/integrations/new": "Intégrations",
        "/integrations/new?kind=local": "Intégrations",
    }
    for path, menu in pages.items():
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        body = html.split("</nav>", 1)[1]
        assert f'<h1 class="h4 mb-3">{menu}</h1>' not in body, path
        assert body.count('<h2 class="h4') + body.count("<h1") == 1, path


def test_numbers_and_dates_follow_the_locale_in_the_console_messages(console: tuple[Settings, Flask]) -> None:
    settings = console[0]
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "fr")
    with app.test_request_context():
        assert latency(0.28608400043594884) == "0,3" and latency(1234.4).replace("\u202f", " ") == "1 234"
        assert latency(12.6) == "13" and latency(None) == ""
    depot = integrations.create_integration(settings, "depot", "local", {"folder": str(settings.var_dir)}, {})
    client = _french(console, "admin")
    response = client.post(f"/integrations/{depot.id}/test", data={"csrf_token": csrf_token(client, "/integrations/")})
    assert response.status_code == 302
    page = client.get(f"/integrations/{depot.id}").get_data(as_text=True)
    connected = re.search(r"Connecté en ([^ ]+) ms\.", page)
    assert connected and re.fullmatch(r"\d+(,\d)?|\d{1,3}(\u202f\d{3})*", connected.group(1)), connected
    dates = page.split('data-testid="last-test"')[1].split("</div>")[0]
    shown = re.findall(r"\d\d/\d\d/\d{4} \d\d:\d\d", dates)
    assert len(shown) == 3, dates  # last test, created, changed: one format
    entry = list_audit(object_type="integration", action="test")[0][0]
    assert re.fullmatch(r"ok in \d+\.\d ms: .*", entry.message or ""), entry.message


def test_the_preview_counts_and_the_limits_are_formatted(console: tuple[Settings, Flask]) -> None:
    build_small_catalog()
    upsert_products([{"sku": f"X-{i}", "title": f"Produit {i}", "status": "active", "price": "2"} for i in range(1200)])
    page = _french(console).get("/templates/edit/Standard CSV?preview=1").get_data(as_text=True)
    assert re.search(r"des 1\u202f2\d\d produits sélectionnés", page), "thousands separator"
    assert "Au plus 2\u202f000 caractères." in page


def test_codes_in_words_formats_integration_kinds_and_states_worker_states_and_the_role_refused(
    sqlite_db: Settings, redis_url: str
) -> None:
    settings = sqlite_db.with_(redis_url=redis_url)
    make_users()
    build_small_catalog()
    depot = integrations.create_integration(settings, "depot", "local", {"folder": str(settings.var_dir)}, {})
    client = console_app(settings, admin_locale="fr").test_client()
    log_in(client, "admin")
    listed = client.get("/templates/").get_data(as_text=True)
    assert '<option value="xlsx">Excel (XLSX)</option>' in listed
    assert '<option value="amazon_flat_file">Amazon (fichier plat)</option>' in listed
    assert 'data-format="google_xml">Google Shopping (XML) <code class="small text-muted">google_xml</code>' in listed
    editor = client.get("/templates/edit/Standard CSV").get_data(as_text=True)
    assert '<option value="csv" selected>CSV</option>' in editor and ">odoo_csv</option>" not in editor
    form = client.get("/integrations/new?kind=sftp").get_data(as_text=True)
    assert "Nouvelle intégration" in form and "· Serveur SFTP (SSH)" in form.split("</h2>")[0]
    page = client.get(f"/integrations/{depot.id}").get_data(as_text=True)
    assert 'data-status="active">en service<' in page
    integrations_list = client.get("/integrations/").get_data(as_text=True)
    assert (
        'data-kind="local">Un dossier' in integrations_list and 'data-status="active">en service<' in integrations_list
    )
    redis = Redis.from_url(redis_url)
    worker = Worker([Queue("exports", connection=redis)], connection=redis, name="idle-worker")
    worker.register_birth()
    try:
        worker.set_state("idle")
        queues = client.get("/queues/").get_data(as_text=True)
        assert 'title="idle">inactif</span>' in queues
    finally:
        worker.register_death()
    reader = console_app(settings, admin_locale="fr").test_client()
    log_in(reader, "reader")
    refused = reader.get("/integrations/new?kind=local")
    assert refused.status_code == 403 and "il faut le rôle administrateur" in refused.get_data(as_text=True)
    refused = reader.get("/schedules/new")
    assert refused.status_code == 403 and "il faut le rôle gestionnaire" in refused.get_data(as_text=True)


def test_a_copy_of_price_and_stock_names_its_files_after_itself_and_a_copy_keeps_its_platform(
    console: tuple[Settings, Flask],
) -> None:
    settings = console[0]
    build_small_catalog()
    templates.copy_template("Price & Stock", "Prix livrés")
    templates.copy_template("Shopify Standard", "Mon Shopify")
    view, _result = run_inline(resolve_request("Prix livrés"), settings, out_dir=settings.export_dir)
    (artifact,) = ExportJob.get_by_id(view.id).artifacts
    assert re.fullmatch(r"prix-livres-\d{8}-\d{6}\.csv", artifact.name), artifact.name
    view, _result = run_inline(resolve_request("Price & Stock"), settings, out_dir=settings.export_dir)
    assert ExportJob.get_by_id(view.id).artifacts.get().name.startswith("price-stock-")  # as before for the original
    listed = _french(console).get("/templates/").get_data(as_text=True)
    assert "<td>Shopify</td>" in listed.split('data-template="Mon Shopify"')[1].split("</tr>")[0]
    assert "<td></td>" in listed.split('data-template="Prix livrés"')[1].split("</tr>")[0]
