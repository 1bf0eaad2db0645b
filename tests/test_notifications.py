"""Notifications on real servers (aiosmtpd with STARTTLS, a webhook receiver checking signatures): a failing export
sends one email and one signed `export.failed` event through a notify job, a succeeding one under the default
policy sends nothing, `warnings` fires above its threshold, a failed delivery is notified, an integration
deleted since the template was saved fails the notification and never the job, and the in-app list pages,
filters and is marked read. The queued path goes through RQ's maintenance queue."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue

from engine.catalog.models import utcnow
from engine.errors import ConfigError, EmptySelection, InvalidRequest, TemplateError
from engine.jobs import runner
from engine.jobs.queues import redis_for
from engine.jobs.tasks import run_job, set_runtime_settings
from engine.models import ExportJob, Notification
from engine.pipeline.spec import ExportSpec
from engine.services import integrations, notifications, templates
from engine.services.exports import resolve_request, run_inline
from engine.services.jobs import get_job
from engine.settings import Settings
from tests.servers.fixtures import certificates, smtp_server, webhook_receiver  # noqa: F401
from tests.servers.smtp import SmtpServer
from tests.servers.tls import CertificateFiles
from tests.servers.webhook import WebhookReceiver
from tests.small_catalog import build_small_catalog

COLUMNS = [{"header": "sku", "source": "sku"}, {"header": "title", "source": "title"}]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The test servers listen on loopback: webhooks there are allowed."""
    return Settings.build(var_dir=str(tmp_path / "var"), allow_private_networks=True, delivery_timeout=10)


@pytest.fixture
def channels(
    sqlite_db: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
    certificates: CertificateFiles,  # noqa: F811
) -> Iterator[Settings]:
    """The small catalogue, an smtp integration `mail` and a webhook integration `hook`."""
    build_small_catalog()
    mail = {**smtp_server.settings, "ca_file": str(certificates.ca_file), "from_address": "exports@example.com"}
    integrations.create_integration(sqlite_db, "mail", "smtp", mail, {"password": smtp_server.password})
    hook = {"url": webhook_receiver.url("/hook")}
    integrations.create_integration(sqlite_db, "hook", "webhook", hook, {"signing_secret": webhook_receiver.secret})
    yield sqlite_db


def template(name: str, policy: dict[str, Any] | None, **spec: Any) -> str:
    data = {"format": "csv", "columns": COLUMNS, **spec, **({"notifications": policy} if policy else {})}
    return templates.create_template(name, data).name


EVERYWHERE = {"email": [{"integration": "mail", "to": ["ops@example.com", "pim@example.com"]}], "webhooks": ["hook"]}


def export(settings: Settings, name: str, **overrides: Any) -> int:
    view, _result = run_inline(resolve_request(name, overrides), settings, requested_by="test")
    return view.id


def test_policy_is_validated_with_defaults() -> None:
    spec = ExportSpec.from_dict({"format": "csv", "columns": COLUMNS, "notifications": {"webhooks": ["hook"]}})
    assert spec.notifications == {
        "on": ["failed"],
        "warn_excluded_percent": 5.0,
        "email": [],
        "webhooks": ["hook"],
        "in_app": True,
    }
    assert spec.to_dict()["notifications"] == spec.notifications
    assert "notifications" not in ExportSpec.from_dict({"format": "csv", "columns": COLUMNS}).to_dict()
    bad = [
        ({"on": ["finished"]}, r"notifications\.on: unknown event 'finished'"),
        ({"warn_excluded_percent": 150}, r"notifications\.warn_excluded_percent: must be a number from 0 to 100"),
        ({"email": [{"integration": "m", "to": ["a@b.example", "nope"]}]}, r"notifications\.email\[0\]\.to\[1\]"),
        ({"email": [{"integration": "m", "to": []}]}, r"notifications\.email\[0\]\.to: must list 1 to 50"),
        ({"webhooks": ["h"] * 21}, r"notifications\.webhooks: at most 20"),
        ({"in_app": "yes"}, r"notifications\.in_app: must be true or false"),
        ({"sms": ["+33"]}, r"notifications: unknown key\(s\) sms"),
    ]
    for policy, message in bad:
        with pytest.raises(TemplateError, match=message):
            ExportSpec.from_dict({"format": "csv", "columns": COLUMNS, "notifications": policy})


def test_saving_a_template_checks_the_integrations(channels: Settings) -> None:
    with pytest.raises(InvalidRequest, match=r"notifications\.webhooks\[0\]: no integration named 'nowhere'"):
        template("T1", {"webhooks": ["nowhere"]})
    with pytest.raises(
        InvalidRequest, match=r"notifications\.email\[0\]\.integration: .*'hook' is of kind webhook, not smtp"
    ):
        template("T1", {"email": [{"integration": "hook", "to": ["ops@example.com"]}]})
    template("T1", EVERYWHERE)
    with pytest.raises(InvalidRequest, match=r"notifications\.webhooks\[0\]: .*'mail' is of kind smtp, not webhook"):
        templates.update_template(
            "T1", spec={"format": "csv", "columns": COLUMNS, "notifications": {"webhooks": ["mail"]}}
        )
    with pytest.raises(InvalidRequest, match=r"notifications\.webhooks\[0\]: no integration named 'x'"):
        resolve_request("T1", {"notifications": {"webhooks": ["x"]}})


def test_a_failing_export_sends_one_email_and_one_signed_failed_event(
    channels: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    template("Google feed", EVERYWHERE, deliveries=[{"integration": "hook"}])  # a failed export delivers nothing
    with pytest.raises(EmptySelection):
        export(channels, "Google feed", selection={"skus": ["NO-SUCH-SKU"]})
    job = ExportJob.select().where(ExportJob.kind == "export").get()
    assert job.status == "failed"

    (mail,) = smtp_server.received
    assert mail.message["Subject"] == "[PM Exports] Google feed: failed"
    assert sorted(mail.rcpt_tos) == ["ops@example.com", "pim@example.com"]
    body = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Job {job.id} (Google feed): failed" in body and f"Error: {job.error}" in body

    (event,) = webhook_receiver.log
    assert event.signature_valid and event.headers["x-pm-event"] == "export.failed"
    payload = event.event
    assert payload["event"] == "export.failed" and payload["webhook_id"].startswith("evt_")
    data = payload["data"]
    assert data["job_id"] == job.id and data["status"] == "failed" and data["error"] == job.error
    assert data["title"] == "[PM Exports] Google feed: failed"

    (notification,) = Notification.select()
    assert notification.event == "export.failed" and notification.job_id == job.id
    assert [c["status"] for c in notification.channels] == ["sent", "sent"]
    task = ExportJob.get_by_id(notification.task_id)
    assert task.kind == "notify" and task.status == "succeeded"
    assert get_job(job.id).status == "failed"


def test_a_succeeding_export_under_the_default_policy_sends_nothing(
    channels: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    template("Quiet", EVERYWHERE)  # on: failed (the default)
    job_id = export(channels, "Quiet")
    assert get_job(job_id).status == "succeeded"
    assert smtp_server.received == [] and webhook_receiver.log == []
    assert Notification.select().count() == 0
    assert ExportJob.select().where(ExportJob.kind == "notify").count() == 0


def test_warnings_fire_above_the_threshold_only(
    channels: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    rules = [{"rule": "required", "field": "ean"}]
    template("Strict", {**EVERYWHERE, "on": ["warnings"], "warn_excluded_percent": 1}, rules=rules)
    template("Lenient", {**EVERYWHERE, "on": ["warnings"], "warn_excluded_percent": 99}, rules=rules)
    lenient = get_job(export(channels, "Lenient"))
    assert lenient.status == "succeeded" and lenient.excluded > 0
    assert smtp_server.received == [] and webhook_receiver.log == []

    strict = get_job(export(channels, "Strict"))
    percent = round(100 * strict.excluded / strict.total, 2)
    (mail,) = smtp_server.received
    assert mail.message["Subject"] == f"[PM Exports] Strict: completed with warnings ({percent:g}% excluded)"
    body = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Excluded by rule:" in body and f"- required:ean: {strict.excluded}" in body
    (artifact,) = strict.artifacts
    assert f"- {artifact.name} (" in body
    (event,) = webhook_receiver.log
    data = event.event["data"]
    assert event.event["event"] == "export.completed" and data["excluded_percent"] == percent
    assert data["excluded_by_rule"] == {"required:ean": strict.excluded}
    assert data["files"][0]["name"] == artifact.name and data["files"][0]["size"] == artifact.size


def test_a_failed_delivery_is_notified(
    channels: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    gone = {"url": webhook_receiver.url("/gone")}
    integrations.create_integration(channels, "partner", "webhook", gone, {"signing_secret": "s3cret-partner"})
    template("Feed", {**EVERYWHERE, "on": ["failed", "partial"]}, deliveries=[{"integration": "partner"}])
    job = get_job(export(channels, "Feed"))
    assert job.status == "partial"
    subjects = sorted(m.message["Subject"] for m in smtp_server.received)
    assert subjects == [
        "[PM Exports] Feed: delivery to partner failed",
        "[PM Exports] Feed: partial (1 delivery failed)",
    ]
    events = {d.event["event"]: d.event["data"] for d in webhook_receiver.log if d.path == "/hook"}
    assert set(events) == {"delivery.failed", "export.partial"}
    assert events["delivery.failed"]["delivery"]["integration"] == "partner"
    assert "410 Gone" in events["delivery.failed"]["delivery"]["error"]
    (failed,) = events["export.partial"]["deliveries"]
    assert failed["status"] == "failed" and "410 Gone" in failed["error"]


def test_a_deleted_integration_fails_the_notification_not_the_job(
    channels: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    template("Fragile", {**EVERYWHERE, "on": ["completed"]})
    integrations.delete_integration("hook")
    job = get_job(export(channels, "Fragile"))
    assert job.status == "succeeded" and job.error is None
    (mail,) = smtp_server.received
    assert mail.message["Subject"].startswith("[PM Exports] Fragile: completed (")
    assert webhook_receiver.log == []
    (notification,) = Notification.select()
    email, webhook = notification.channels
    assert email["status"] == "sent" and webhook["status"] == "failed"
    assert webhook["detail"] == "webhook via hook: no integration named 'hook'"
    task = ExportJob.get_by_id(notification.task_id)
    assert task.status == "failed" and "no integration named 'hook'" in (task.error or "")
    assert get_job(job.id).status == "succeeded" and get_job(job.id).error is None


def test_in_app_list_pages_filters_and_marks_read(channels: Settings) -> None:
    template("Inbox", {"on": ["completed"]})  # in-app only: no notify job
    template("Hidden", {"on": ["completed"], "in_app": False})
    job_ids = [export(channels, "Inbox") for _ in range(3)]
    export(channels, "Hidden")
    assert ExportJob.select().where(ExportJob.kind == "notify").count() == 0
    first, token = notifications.list_notifications(page_size=2)
    rest, last_token = notifications.list_notifications(page_size=2, page_token=token)
    assert [n.job_id for n in first + rest] == job_ids[::-1] and last_token == ""
    assert all(n.event == "export.completed" and not n.read for n in first + rest)
    assert notifications.unread_count() == 3

    assert notifications.mark_read([first[0].id, first[0].id]) == 1
    unread, _ = notifications.list_notifications(unread_only=True)
    assert [n.id for n in unread] == [first[1].id, rest[0].id]
    assert notifications.mark_read(everything=True) == 2
    assert notifications.list_notifications(unread_only=True) == ([], "")
    assert notifications.unread_count() == 0
    with pytest.raises(InvalidRequest, match="page_size: must be between 1 and 200"):
        notifications.list_notifications(page_size=0)
    with pytest.raises(InvalidRequest, match="ids: name the notifications"):
        notifications.mark_read([])
    with pytest.raises(InvalidRequest, match="page_token: malformed"):
        notifications.list_notifications(page_token="garbage")


def test_a_queued_notification_runs_on_the_maintenance_queue(
    channels: Settings,
    redis_url: str,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    settings = Settings.build(var_dir=str(channels.var_dir), redis_url=redis_url, allow_private_networks=True)
    template("Queued", {**EVERYWHERE, "on": ["completed"]})
    job = resolve_request("Queued").new_job(settings, status="queued", phase="queued", requested_by="test")
    assert runner.execute(job.id, settings).status == "succeeded"
    (notification,) = Notification.select()
    task = ExportJob.get_by_id(notification.task_id)
    assert task.kind == "notify" and task.status == "queued"
    assert smtp_server.received == [] and webhook_receiver.log == []  # not sent by the export's own process
    (rq_job,) = Queue("maintenance", connection=redis_for(settings)).get_jobs()
    assert rq_job.args == (task.id,)

    set_runtime_settings(settings)
    assert run_job(task.id) == "succeeded"
    assert len(smtp_server.received) == 1 and len(webhook_receiver.log) == 1
    assert webhook_receiver.log[0].signature_valid


def test_the_cli_lists_and_marks_read(channels: Settings) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    env = {
        "DATABASE_URL": channels.effective_database_url,
        "PM_EXPORTS_VAR_DIR": str(channels.var_dir),
        "PM_EXPORTS_LOG_FORMAT": "text",
    }

    def cli(*args: str) -> str:
        result = CliRunner().invoke(main, ["notifications", *args], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert cli().strip() == "no notifications"
    template("Cli", {"on": ["completed"]})
    job_id = export(channels, "Cli")
    (line, count) = cli("--unread").splitlines()
    assert line.startswith("* ") and f"job {job_id}" in line and "[PM Exports] Cli: completed (" in line
    assert count == "1 unread"
    assert cli("--read-all").splitlines()[-1] == "1 notification(s) marked read"
    assert cli("--unread").strip() == "no notifications"
    (listed,) = cli("--json").splitlines()
    assert '"event":"export.completed"' in listed and '"read_at":"' in listed


def test_the_email_has_an_escaped_html_table_beside_its_text(
    channels: Settings,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    name = 'Feed <script>alert("x")</script> & co'
    template(name, {"email": EVERYWHERE["email"], "on": ["completed"]})
    job_id = export(channels, name)
    (mail,) = smtp_server.received
    assert mail.message.get_content_type() == "multipart/alternative"
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"Job {job_id} ({name}): succeeded" in text  # the text part is unchanged
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert f"<td>{job_id} (Feed &lt;script&gt;" in page and "<table" in page and "<h3>Files</h3>" in page
    (artifact,) = get_job(job_id).artifacts
    assert f"<td>{html.escape(artifact.name)}</td>" in page  # a local store gives no link: the name alone
    assert f"<td>{artifact.rows:,}</td>" in page


def test_the_html_body_escapes_every_value_and_links_only_http() -> None:
    from engine.jobs.notices import summary_html
    from engine.services.views import NotificationView

    hostile = "<img src=x onerror=alert(1)>"
    summary = {
        "job_id": 7, "template": hostile, "status": "partial", "error": f"boom {hostile}", "total": 3,
        "exported": 2, "excluded": 1, "excluded_percent": 33.33, "failed": 0, "warnings": 0,
        "excluded_by_rule": {hostile: 1},
        "files": [
            {"name": f"a{hostile}.csv", "size": 10, "rows": 2, "url": "javascript:alert(1)"},
            {"name": "b.csv", "size": 2048, "rows": 1, "url": 'https://s3.example/b.csv?x=1&y="2"'},
        ],
        "deliveries": [{"integration": hostile, "status": "failed", "error": hostile, "held_reason": None}],
    }  # fmt: skip
    view = NotificationView(7, "export.partial", 7, hostile, "partial", f"[PM Exports] {hostile}: partial",
                            summary, (), dt.datetime(2026, 1, 1), None)  # fmt: skip
    page = summary_html(view)
    assert "<img" not in page and "javascript:" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 7  # title, job, error, rule, file, delivery x2
    assert '<a href="https://s3.example/b.csv?x=1&amp;y=&quot;2&quot;">b.csv</a>' in page
    assert "<td>2.0 kB</td>" in page


def test_the_daily_maintenance_purges_notifications_past_their_retention(channels: Settings) -> None:
    from engine.jobs import tasks
    from engine.jobs.notices import purge_old_notifications

    template("Kept", {"on": ["completed"]})
    old, recent, today = (export(channels, "Kept") for _ in range(3))
    now = utcnow()
    for job_id, age in ((old, 91), (recent, 89)):
        Notification.update(created_at=now - dt.timedelta(days=age)).where(Notification.job == job_id).execute()
    assert purge_old_notifications(channels.with_(notification_retention_days=100), now) == 0
    tasks.set_runtime_settings(channels)  # the default retention: 90 days
    tasks.daily_maintenance()
    assert sorted(n.job_id for n in Notification.select()) == [recent, today]
    assert purge_old_notifications(channels.with_(notification_retention_days=1), now) == 1
    assert [n.job_id for n in Notification.select()] == [today]
    with pytest.raises(ConfigError, match="PM_EXPORTS_NOTIFICATION_RETENTION_DAYS must be between 1 and 3650"):
        Settings.build(notification_retention_days=0)
