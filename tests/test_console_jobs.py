"""The console's jobs pages in the user's language (issue 12): statuses, phases, rules and requesters in words with
the codes kept in data-*, sizes and numbers in the locale, delivery jobs named as such, the report as CSV, an
inverted date range explained, the frame's language and the role's name."""

from __future__ import annotations

import csv
import io

from flask import Flask
from flask.testing import FlaskClient

from engine.models import ExportJob, JobExclusion
from engine.settings import Settings
from tests.console_support import console_app, log_in
from tests.test_console import finished_job


def _french(console: tuple[Settings, Flask]) -> FlaskClient:
    return console_app(console[0], admin_locale="fr").test_client()


def test_a_job_page_speaks_french_and_keeps_the_codes_for_scripts(console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    ExportJob.update(requested_by="console:admin").where(ExportJob.id == job.id).execute()
    JobExclusion.create(job=job.id, product_id=1, sku="S-1", ean="", rule="positive:price", message="price must be > 0")
    client = _french(console)
    log_in(client, "manager")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-status="succeeded">terminée<' in page
    assert 'data-phase="done"></span>' in page and ">finie<" not in page  # the phase only while running
    assert 'title="console:admin" data-role="requested-by">admin<' in page and ">console:admin<" not in page
    assert 'Prix positif <code class="small text-muted">positive:price</code>' in page
    size = job.artifacts.get().size
    assert f'data-size="{size}"' in page and (" ko<" in page or " octets<" in page)
    assert 'data-testid="cancel"' not in page and 'lang="fr"' in page
    assert "gestionnaire" in page.split('data-testid="whoami"')[1].split("</span>")[0]
    listed = client.get("/jobs/?status=succeeded").get_data(as_text=True)
    assert '<option value="succeeded" selected>terminée</option>' in listed
    assert '<td title="console:admin">admin</td>' in listed


def test_a_delivery_job_says_what_it_is_and_links_to_its_export(console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    spec = {"delivery_id": 1, "export_job": job.id, "integration": "depot-local"}
    task = ExportJob.create(kind="deliver", template_name=job.template_name, spec=spec, status="failed",
                            phase="failed", total=1, processed=1, exported=1)  # fmt: skip
    client = _french(console)
    log_in(client, "manager")
    page = client.get(f"/jobs/{task.id}").get_data(as_text=True)
    assert f"Livraison de la tâche n°{job.id} vers depot-local" in page
    assert f'href="/jobs/{job.id}" data-testid="export-job-link"' in page
    assert "Sélectionnés" not in page and 'data-testid="retry"' not in page and "Aucun fichier" not in page
    listed = client.get("/jobs/").get_data(as_text=True)
    row = listed.split(f'data-job-id="{task.id}"')[1].split("</tr>")[0]
    assert f"Livraison de la tâche n°{job.id} vers depot-local" in row and 'data-role="exported"' not in row
    dashboard = client.get("/").get_data(as_text=True)
    assert f"Livraison de la tâche n°{job.id} vers depot-local" in dashboard


def test_the_report_downloads_as_csv_for_readers_too(client: FlaskClient, console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    for product_id in range(1, 131):
        JobExclusion.create(job=job.id, product_id=product_id, sku=f"S-{product_id}", ean="", rule="positive:price",
                            message="price must be greater than 0")  # fmt: skip
    log_in(client, "reader")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'href="/jobs/{job.id}/report.csv" data-testid="report-download"' in page
    answer = client.get(f"/jobs/{job.id}/report.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="job-{job.id}-report.csv"'
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["product_id", "sku", "ean", "outcome", "rule", "message"]
    assert len(rows) == 131 and rows[130][:5] == ["130", "S-130", "", "excluded", "positive:price"]
    assert client.get("/jobs/999999/report.csv").status_code == 404

    french = _french(console)  # in French: what French spreadsheets split on, French headings and words
    log_in(french, "reader")
    text = french.get(f"/jobs/{job.id}/report.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["id produit", "sku", "ean", "résultat", "règle", "message"]
    assert rows[1][3:] == ["exclu", "positive:price", "price doit être supérieur à 0"]


def test_an_inverted_date_range_is_explained_beside_the_filter(console: tuple[Settings, Flask]) -> None:
    finished_job(console[0])
    client = _french(console)
    log_in(client, "reader")
    page = client.get("/jobs/?from=2026-11-29&to=2026-11-27").get_data(as_text=True)
    assert "la date de début 2026-11-29 est après la date de fin 2026-11-27" in page
    assert page.count("is-invalid") == 2 and 'aria-describedby="filter-error"' in page
    assert "data-job-id=" not in page


def test_cancelling_an_ended_job_is_a_message_on_its_page(console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    client = _french(console)
    log_in(client, "manager")
    from tests.console_support import csrf_token

    token = csrf_token(client, f"/jobs/{job.id}")
    answer = client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/jobs/{job.id}"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'class="alert alert-warning' in page and f"{job.id}" in page
