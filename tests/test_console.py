"""The admin console through Flask's test client: login, lockout, sessions, CSRF, security headers, roles on every
state-changing route, escaping, job pages, event streams, downloads checked against SHA-256, audit entries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from engine.cli import main
from engine.models import AuditEntry, ExportJob, JobExclusion
from engine.services.audit import list_audit, without_secrets
from engine.services.exports import resolve_request, run_inline
from engine.services.users import MAX_FAILED_LOGINS, authenticate_user, ensure_first_admin
from engine.settings import Settings
from tests.console_support import PASSWORD, console_app, csrf_token, log_in
from tests.small_catalog import build_small_catalog

XSS = "<script>alert(1)</script>"


def finished_job(settings: Settings) -> ExportJob:
    build_small_catalog()
    view, _result = run_inline(resolve_request("Standard CSV"), settings, out_dir=settings.export_dir)
    return ExportJob.get_by_id(view.id)


def test_pages_need_a_login_and_redirect_to_it(client: FlaskClient) -> None:
    for path in ("/", "/jobs/", "/jobs/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login?next=" in response.headers["Location"]


def test_login_opens_a_session_with_safe_cookie_flags_and_logout_ends_it(console: tuple[Settings, Flask]) -> None:
    settings, _app = console
    app = console_app(settings, admin_secure_cookies=True)
    client = app.test_client()
    token = csrf_token(client, "https://localhost/login")
    response = client.post(
        "https://localhost/login",
        data={"username": "reader", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("pmx_console="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie and "Expires=" in cookie
    assert client.get("https://localhost/").status_code == 200
    token = csrf_token(client, "https://localhost/")
    out = client.post("https://localhost/logout", data={"csrf_token": token}, headers={"Referer": "https://localhost/"})
    assert out.status_code == 302
    assert client.get("https://localhost/").status_code == 302


def test_a_wrong_password_says_so_and_repeated_failures_lock_the_account(client: FlaskClient) -> None:
    response = log_in(client, "manager", "not the password")
    assert response.status_code == 200
    assert "wrong username or password" in response.get_data(as_text=True)
    for _ in range(MAX_FAILED_LOGINS - 1):
        response = log_in(client, "manager", "not the password")
    assert "locked for 15 more minutes" in response.get_data(as_text=True)
    locked = log_in(client, "manager", PASSWORD)  # even the right password is refused while locked
    assert "too many failed logins" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_an_unknown_user_and_the_next_parameter_cannot_redirect_elsewhere(client: FlaskClient) -> None:
    assert "wrong username or password" in log_in(client, "nobody").get_data(as_text=True)
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example/x", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_every_response_carries_the_security_headers(client: FlaskClient) -> None:
    for response in (client.get("/login"), client.get("/"), client.get("/no-such-page")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_the_pages_have_no_inline_script(client: FlaskClient, console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    log_in(client, "admin")
    for path in ("/", "/jobs/", f"/jobs/{job.id}", "/login"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "<script type=" not in html
        assert " on" + "click=" not in html and "style=" not in html


def test_a_post_without_its_csrf_token_is_refused(client: FlaskClient) -> None:
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 400
    log_in(client, "admin")
    response = client.post("/jobs/run", data={"template": "Standard CSV"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert ExportJob.select().count() == 0


@pytest.mark.parametrize("route", ["/jobs/run", "/jobs/1/cancel", "/jobs/1/retry"])
def test_a_reader_gets_403_on_every_state_changing_route(client: FlaskClient, route: str) -> None:
    log_in(client, "reader")
    token = csrf_token(client, "/")
    response = client.post(route, data={"template": "Standard CSV", "csrf_token": token})
    assert response.status_code == 403
    assert ExportJob.select().count() == 0


def test_a_reader_sees_no_control_that_changes_anything(client: FlaskClient, console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    ExportJob.update(status="failed").where(ExportJob.id == job.id).execute()
    log_in(client, "reader")
    for path in ("/", f"/jobs/{job.id}"):
        html = client.get(path).get_data(as_text=True)
        assert 'data-testid="export-now"' not in html and 'data-testid="retry"' not in html
    log_in(client, "manager")
    assert 'data-testid="retry"' in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_a_manager_runs_cancels_and_retries_and_each_is_audited(client: FlaskClient) -> None:
    build_small_catalog()
    log_in(client, "manager")
    token = csrf_token(client, "/")
    response = client.post("/jobs/run", data={"template": "Standard CSV", "csrf_token": token})
    assert response.status_code == 302
    job = ExportJob.select().order_by(ExportJob.id.desc()).get()
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert job.status == "queued" and job.requested_by == "console:manager"
    assert client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": token}).status_code == 302
    assert ExportJob.get_by_id(job.id).status == "cancelled"
    assert client.post(f"/jobs/{job.id}/retry", data={"csrf_token": token}).status_code == 302
    entries, _ = list_audit()
    assert [(e.actor, e.action, e.object_name) for e in entries[:3]] == [
        ("console:manager", "retry", str(job.id)),
        ("console:manager", "cancel", str(job.id)),
        ("console:manager", "run", str(job.id)),
    ]
    assert entries[1].before["status"] == "queued" and entries[1].after["status"] == "cancelled"


def test_a_refused_action_comes_back_as_a_message_on_the_page(client: FlaskClient, console) -> None:
    job = finished_job(console[0])
    log_in(client, "manager")
    token = csrf_token(client, f"/jobs/{job.id}")
    response = client.post(
        f"/jobs/{job.id}/cancel", data={"csrf_token": token}, headers={"Referer": f"http://localhost/jobs/{job.id}"}
    )
    assert response.status_code == 302
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f"job {job.id} is already succeeded" in page
    assert client.get("/jobs/999999").status_code == 404


def test_catalogue_and_template_values_are_escaped(client: FlaskClient, console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    ExportJob.update(template_name=XSS, error=XSS, status="failed").where(ExportJob.id == job.id).execute()
    JobExclusion.create(job=job.id, product_id=1, sku=XSS, ean="", rule="price", message=XSS)
    log_in(client, "admin")
    for path in ("/", "/jobs/", f"/jobs/{job.id}"):
        html = client.get(path).get_data(as_text=True)
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_job_list_filters_and_pages_on_the_server(client: FlaskClient, console: tuple[Settings, Flask]) -> None:
    job = finished_job(console[0])
    for _ in range(30):
        ExportJob.create(kind="export", template_name="Other", spec={}, status="failed", phase="failed")
    log_in(client, "reader")
    html = client.get("/jobs/?status=succeeded").get_data(as_text=True)
    assert f'data-job-id="{job.id}"' in html and html.count("data-job-id=") == 1
    first = client.get("/jobs/?template=Other").get_data(as_text=True)
    assert first.count("data-job-id=") == 25 and 'data-testid="next-page"' in first
    bad = client.get("/jobs/?from=yesterday").get_data(as_text=True)
    assert "from: &#39;yesterday&#39; is not a date (YYYY-MM-DD)" in bad


def test_the_event_stream_replays_after_last_event_id_and_ends_with_the_job(client, console) -> None:
    job = finished_job(console[0])
    log_in(client, "reader")
    response = client.get(f"/jobs/{job.id}/events")
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    ids = [int(line[4:]) for line in body.splitlines() if line.startswith("id: ")]
    assert ids and '"status":"succeeded"' in body
    again = client.get(f"/jobs/{job.id}/events", headers={"Last-Event-ID": str(ids[-1])})
    assert again.status_code == 204
    assert client.get(f"/jobs/{job.id}/events", headers={"Last-Event-ID": "x1"}).status_code == 400


def test_a_download_streams_the_file_and_refuses_one_that_changed(client, console: tuple[Settings, Flask]) -> None:
    settings = console[0]
    job = finished_job(settings)
    artifact = job.artifacts.get()
    log_in(client, "reader")
    response = client.get(f"/jobs/{job.id}/files/{artifact.id}")
    assert response.status_code == 200
    assert hashlib.sha256(response.data).hexdigest() == artifact.sha256
    assert "attachment" in response.headers["Content-Disposition"]
    stored = Path(artifact.location)
    if not stored.is_absolute():
        stored = settings.export_dir / artifact.location
    stored.write_bytes(stored.read_bytes().replace(b"CAS-001", b"CAS-002"))
    refused = client.get(f"/jobs/{job.id}/files/{artifact.id}")
    assert refused.status_code == 409
    assert "does not match its SHA-256" in refused.get_data(as_text=True)


def test_the_first_admin_of_a_fresh_install_and_the_users_command(sqlite_db: Settings) -> None:
    created = ensure_first_admin()
    assert created is not None and created[0] == "admin"
    assert authenticate_user("admin", created[1]).role == "admin"
    assert ensure_first_admin() is None
    env = {"PM_EXPORTS_VAR_DIR": str(sqlite_db.var_dir), "DATABASE_URL": ""}
    result = CliRunner().invoke(main, ["users", "create", "ana", "--role", "manager"], env=env)
    assert result.exit_code == 0, result.output
    password = result.output.split("(shown once): ")[1].strip()
    assert authenticate_user("ana", password).role == "manager"
    bad = CliRunner().invoke(main, ["users", "create", "ana", "--role", "manager"], env=env)
    assert bad.exit_code == 2 and "a user named 'ana' already exists" in bad.output
    assert AuditEntry.select().where(AuditEntry.object_name == "ana").count() == 1


def test_the_audit_log_never_stores_a_secret() -> None:
    cleaned = without_secrets({"name": "sftp", "secrets": {"password": "hunter2"}, "settings": {"api_key": "k"}})
    assert "hunter2" not in str(cleaned) and "'k'" not in str(cleaned)
    assert cleaned["name"] == "sftp"


def test_one_address_failing_with_many_usernames_is_held_back() -> None:
    from admin.security import FailedLoginLimiter

    limiter = FailedLoginLimiter(limit=3, window=60, max_addresses=2)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert 0 < limiter.retry_after("10.0.0.1") <= 60
    assert limiter.retry_after("10.0.0.2") == 0
    limiter.failed("10.0.0.2")
    limiter.failed("10.0.0.3")  # a third address: the oldest one is forgotten, memory stays bounded
    assert limiter.retry_after("10.0.0.1") == 0
