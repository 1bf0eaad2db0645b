"""The console's schedules, notifications and job deliveries through Flask's test client: permissions per role
(a reader gets 403 on every state-changing route, by direct POST too), CSRF, the frequency in words, the next 5 fire
times across a Paris DST change, a bad cron shown beside its field with nothing saved, pause/resume/run now/delete
audited with before and after, the run history, delivery retry and release, the notifications list and badge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.models import AuditEntry, Delivery, ExportJob, Notification, Schedule
from engine.services import schedules
from engine.services.audit import list_audit
from engine.services.exports import resolve_request, run_inline
from engine.services.integrations import create_integration
from engine.settings import Settings
from tests.console_support import console_app, csrf_token, log_in, make_users
from tests.small_catalog import build_small_catalog

XSS = "<script>alert(1)</script>"
MONDAY_FORM = {
    "name": "Monday feed", "template": "Standard CSV", "kind": "weekly", "time": "06:00", "days": ["mon"],
    "timezone": "Europe/Paris", "overlap": "skip", "catch_up": "once", "retry_count": "1", "retry_backoff": "60",
    "max_failures": "5", "notify": "failure", "warn_excluded_percent": "0", "enabled": "1",
}  # fmt: skip


@pytest.fixture
def console(sqlite_db: Settings, redis_url: str) -> Iterator[tuple[Settings, Flask]]:
    settings = sqlite_db.with_(redis_url=redis_url)
    make_users()
    build_small_catalog()
    yield settings, console_app(settings)


@pytest.fixture
def client(console: tuple[Settings, Flask]) -> FlaskClient:
    return console[1].test_client()


def nightly(settings: Settings, name: str = "nightly") -> None:
    schedules.create_schedule(settings, name, {"template": "Standard CSV", "frequency": "daily 02:30",
                                               "timezone": "Europe/Paris"})  # fmt: skip


def post(client: FlaskClient, path: str, data: dict | None = None) -> object:
    token = csrf_token(client, "/schedules/")
    return client.post(path, data={**(data or {}), "csrf_token": token})


STATE_CHANGING = [
    "/schedules/new", "/schedules/nightly/edit", "/schedules/nightly/pause", "/schedules/nightly/resume",
    "/schedules/nightly/run", "/schedules/nightly/delete", "/jobs/1/deliveries/1/retry", "/jobs/1/deliveries/1/release",
    "/jobs/1/redeliver",
]  # fmt: skip


@pytest.mark.parametrize("route", STATE_CHANGING)
def test_a_reader_gets_403_on_every_state_changing_route(client, console, route: str) -> None:
    nightly(console[0])
    log_in(client, "reader")
    response = post(client, route, {**MONDAY_FORM, "name": "sneaky"})
    assert response.status_code == 403
    assert Schedule.select().count() == 1 and Schedule.get().enabled
    assert ExportJob.select().count() == 0
    assert AuditEntry.select().where(AuditEntry.object_type == "schedule").count() == 0


def test_a_reader_sees_the_pages_without_any_edit_control(client, console) -> None:
    nightly(console[0])
    log_in(client, "reader")
    for path in ("/schedules/", "/schedules/nightly", "/notifications/"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert 'data-testid="pause"' not in html and 'data-testid="run-now"' not in html
        assert 'data-testid="new-schedule"' not in html
    assert client.get("/schedules/new").status_code == 403


def test_a_post_without_its_csrf_token_saves_nothing(client) -> None:
    log_in(client, "manager")
    response = client.post("/schedules/new", data=MONDAY_FORM)
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True)
    assert Schedule.select().count() == 0


def test_a_manager_creates_a_schedule_and_sees_it_in_words_with_its_next_5_runs(client) -> None:
    log_in(client, "manager")
    response = post(client, "/schedules/new", MONDAY_FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/schedules/Monday%20feed"
    row = Schedule.get(Schedule.name == "Monday feed")
    assert row.frequency == "weekly mon 06:00" and row.timezone == "Europe/Paris" and row.retry_count == 1
    listing = client.get("/schedules/").get_data(as_text=True)
    assert "every Monday at 06:00, Europe/Paris" in listing
    detail = client.get("/schedules/Monday%20feed").get_data(as_text=True)
    assert "every Monday at 06:00, Europe/Paris" in detail
    assert "0 runs: 0 succeeded, 0 failed" in listing and "0 runs: 0 succeeded, 0 failed" in detail
    assert detail.count('data-role="fire-time"') == 5
    assert detail.count("Monday") >= 6 and "6:00:00" in detail  # each run on a Monday at 06:00, Paris time
    (entry,) = [e for e in list_audit()[0] if e.object_type == "schedule"]
    assert (entry.actor, entry.action, entry.object_name) == ("console:manager", "create", "Monday feed")
    assert entry.after["frequency"] == "weekly mon 06:00"


def test_the_schedule_pages_speak_french(console) -> None:
    settings = console[0]
    nightly(settings)
    client = console_app(settings, admin_locale="fr").test_client()
    log_in(client, "manager")
    html = client.get("/schedules/").get_data(as_text=True)
    assert "tous les jours à 02:30, Europe/Paris" in html and "Planifications" in html
    assert "0 exécution : 0 réussie, 0 en échec" in html  # French uses the singular for 0 and 1


def test_the_live_preview_gives_5_runs_across_the_paris_spring_change(client) -> None:
    log_in(client, "manager")
    query = "kind=daily&time=06:00&timezone=Europe/Paris&after=2027-03-26"
    answer = client.get(f"/schedules/preview?{query}").get_json()
    assert answer["words"] == "every day at 06:00, Europe/Paris"
    assert [r["utc"] for r in answer["runs"]] == [
        "2027-03-26 05:00 UTC", "2027-03-27 05:00 UTC", "2027-03-28 04:00 UTC", "2027-03-29 04:00 UTC",
        "2027-03-30 04:00 UTC",
    ]  # fmt: skip
    assert [r["iso"][11:] for r in answer["runs"]] == ["06:00:00+01:00"] * 2 + ["06:00:00+02:00"] * 3
    bad = client.get("/schedules/preview?kind=cron&cron=61+*+*+*+*&timezone=Europe/Paris").get_json()
    assert bad["field"] == "frequency" and "minute must be 0-59" in bad["error"]


def test_a_bad_cron_is_shown_beside_its_field_and_nothing_is_saved(client) -> None:
    log_in(client, "manager")
    form = {**MONDAY_FORM, "kind": "cron", "cron": "0 25 * * *"}
    response = post(client, "/schedules/new", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-error-for="frequency"' in html and "hour must be 0-23" in html
    assert 'value="0 25 * * *"' in html  # what was typed is kept
    assert Schedule.select().count() == 0
    bad_zone = post(client, "/schedules/new", {**MONDAY_FORM, "timezone": "Mars/Olympus"})
    assert 'data-error-for="timezone"' in bad_zone.get_data(as_text=True)
    no_day = post(client, "/schedules/new", {**MONDAY_FORM, "days": []})
    assert "choose at least one day of the week" in no_day.get_data(as_text=True)
    bad_number = post(client, "/schedules/new", {**MONDAY_FORM, "retry_count": "many"})
    assert 'data-error-for="retry_count"' in bad_number.get_data(as_text=True)
    assert Schedule.select().count() == 0


def test_edit_keeps_the_name_and_is_audited_with_before_and_after(client, console) -> None:
    nightly(console[0])
    log_in(client, "manager")
    form = client.get("/schedules/nightly/edit").get_data(as_text=True)
    assert 'value="02:30"' in form and "readonly" in form
    changed = {**MONDAY_FORM, "name": "ignored", "kind": "monthly", "month_day": "last", "time": "23:00"}
    assert post(client, "/schedules/nightly/edit", changed).status_code == 302
    assert Schedule.get(Schedule.name == "nightly").frequency == "monthly last 23:00"
    entry = list_audit()[0][0]
    assert entry.action == "update" and entry.before["frequency"] == "daily 02:30"
    assert entry.after["frequency"] == "monthly last 23:00"


def test_pause_resume_run_now_and_delete_are_audited_and_the_run_shows_in_the_history(client, console) -> None:
    nightly(console[0])
    log_in(client, "manager")
    assert post(client, "/schedules/nightly/pause").status_code == 302
    paused = client.get("/schedules/nightly").get_data(as_text=True)
    assert 'data-state="paused"' in paused and "paused by manager" in paused and 'data-testid="resume"' in paused
    assert post(client, "/schedules/nightly/resume").status_code == 302
    assert Schedule.get().enabled and Schedule.get().next_run_at is not None
    response = post(client, "/schedules/nightly/run")
    job = ExportJob.select().order_by(ExportJob.id.desc()).get()
    assert response.headers["Location"] == f"/jobs/{job.id}"
    history = client.get("/schedules/nightly").get_data(as_text=True)
    assert 'data-trigger="manual"' in history and f'href="/jobs/{job.id}"' in history
    job_page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-role="schedule"' in job_page and "nightly" in job_page
    assert f'data-job-id="{job.id}"' in client.get("/jobs/?schedule=nightly").get_data(as_text=True)
    assert post(client, "/schedules/nightly/delete").status_code == 302
    assert Schedule.select().count() == 0
    actions = [(e.action, e.object_name) for e in list_audit()[0] if e.object_type == "schedule"]
    assert actions == [("delete", "nightly"), ("run", "nightly"), ("resume", "nightly"), ("pause", "nightly")]
    entries = {e.action: e for e in list_audit()[0] if e.object_type == "schedule"}
    assert entries["pause"].before["enabled"] is True and entries["pause"].after["enabled"] is False
    assert entries["run"].after["job_id"] == job.id
    assert client.get("/schedules/nightly").status_code == 404


def test_names_and_reasons_are_escaped(client, console) -> None:
    nightly(console[0], XSS)
    schedules.pause_schedule(XSS, XSS)
    log_in(client, "manager")
    for path in ("/schedules/", f"/schedules/{XSS}", f"/schedules/{XSS}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert XSS not in html, path
        assert "&lt;script&gt;" in html
        assert "style=" not in html and "<script>" not in html


def finished_job(settings: Settings) -> ExportJob:
    view, _result = run_inline(resolve_request("Standard CSV"), settings, out_dir=settings.export_dir)
    return ExportJob.get_by_id(view.id)


def test_a_job_shows_its_deliveries_receipts_and_a_manager_retries_or_releases_them(client, console) -> None:
    settings = console[0]
    job = finished_job(settings)
    folder = settings.var_dir / "delivered"

    folder.mkdir(parents=True)
    create_integration(settings, "drop", "local", {"folder": str(folder)}, {})
    failed = Delivery.create(job=job.id, integration_name="drop", target="", status="failed", attempts=3,
                             last_error="connection refused")  # fmt: skip
    held = Delivery.create(job=job.id, integration_name="drop", target="", status="held", attempts=0,
                           held_reason="42 % excluded, above the gate's 10 %")  # fmt: skip
    done = Delivery.create(job=job.id, integration_name="drop", target="", status="succeeded", attempts=1,
                           receipts=[{"remote": "/srv/feed.csv", "size": 1234, "checksum": "ab" * 32,
                                      "url": "javascript:alert(1)", "detail": "ok"}])  # fmt: skip
    log_in(client, "reader")
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "/srv/feed.csv" in html and "ab" * 32 in html and "1.2 kB" in html and 'title="1,234 bytes"' in html
    assert "javascript:" not in html  # a receipt's link is shown only when it is http(s)
    assert "connection refused" in html and "42 % excluded" in html
    assert 'data-testid="release"' not in html and 'data-testid="retry-delivery"' not in html
    log_in(client, "manager")
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-testid="release"' in html and 'data-testid="redeliver"' in html
    assert post(client, f"/jobs/{job.id}/deliveries/{failed.id}/retry").status_code == 302
    assert post(client, f"/jobs/{job.id}/deliveries/{held.id}/release").status_code == 302
    assert Delivery.get_by_id(failed.id).status != "failed" and Delivery.get_by_id(held.id).status != "held"
    refused = client.post(
        f"/jobs/{job.id}/deliveries/{done.id}/release",
        data={"csrf_token": csrf_token(client, "/")},
        headers={"Referer": f"http://localhost/jobs/{job.id}"},
    )
    assert refused.status_code == 302  # back to the page with the reason
    assert "not held: only a held delivery is released" in client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert (
        client.post(f"/jobs/{job.id}/deliveries/999/retry", data={"csrf_token": csrf_token(client, "/")}).status_code
        == 404
    )
    entries = [e for e in list_audit()[0] if e.object_type == "delivery"]
    assert [(e.action, e.object_name) for e in entries] == [("release", str(held.id)), ("retry", str(failed.id))]
    assert entries[0].before["status"] == "held" and entries[1].before["status"] == "failed"


def test_notifications_list_badge_and_marking_read_by_a_reader(client, console) -> None:
    job = finished_job(console[0])
    for n in range(3):
        Notification.create(key=f"k{n}", event="export.failed", job=job.id, template_name="Standard CSV",
                            status="failed", title=f"export {n} {XSS}", summary={}, policy={}, in_app=True)  # fmt: skip
    log_in(client, "reader")
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="notifications-badge"' in home and "3 unread" in home
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count('data-read="no"') == 3 and f'href="/jobs/{job.id}"' in page and XSS not in page
    first = Notification.select().order_by(Notification.id).first()
    assert post(client, "/notifications/read", {"id": str(first.id)}).status_code == 302
    assert "2 unread" in client.get("/").get_data(as_text=True)
    assert client.get("/notifications/?unread=1").get_data(as_text=True).count("data-notification-id=") == 2
    assert post(client, "/notifications/read", {"id": "x"}).status_code == 400
    assert post(client, "/notifications/read", {"all": "1"}).status_code == 302
    assert 'data-testid="notifications-badge"' not in client.get("/").get_data(as_text=True)
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400  # no CSRF token


def test_the_dashboard_lists_the_next_scheduled_runs(client, console) -> None:
    nightly(console[0])
    schedules.create_schedule(console[0], "paused one", {"template": "Standard CSV", "frequency": "every 5 minutes"})
    schedules.pause_schedule("paused one")
    log_in(client, "reader")
    html = client.get("/").get_data(as_text=True)
    assert html.count('data-role="next-run"') == 10 and html.count('data-schedule="nightly"') == 10
    assert "paused one" not in html
