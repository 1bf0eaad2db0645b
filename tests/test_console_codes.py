"""The last raw codes of the console in words (issue 12, defect 3): schedules' policies, run triggers and statuses,
attempts counted from 1, notification events and account states read as words in French, with the codes kept in
data-* attributes (and the raw frequency as a small hint); the English console is unchanged; error pages keep the
console's frame for a logged-in user, in their language."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import ClassVar

from flask import Flask
from flask.testing import FlaskClient

import admin.notifications
from engine.models import Notification, Schedule, ScheduleRun
from engine.services import schedules
from engine.settings import Settings
from tests.console_support import console_app, csrf_token, log_in

# The codes that must not reach a French reader as visible text (English words that are not also French ones).
CODES = (
    "skip", "queue", "once", "none", "failure", "always", "warnings", "due", "catch_up", "manual", "retry", "queued",
    "waiting", "skipped", "paused", "succeeded", "failed", "retrying", "disabled", "locked", "export.completed",
    "export.partial", "export.failed", "delivery.failed", "schedule.skipped", "schedule.paused", "weekly", "daily",
)  # fmt: skip
WORD = re.compile(r"[\w.]+")


class VisibleText(HTMLParser):
    """The text a reader sees: no script, no hidden element, no code hint (the raw frequency under its words)."""

    VOID: ClassVar[set[str]] = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.stack: list[bool] = []  # per open element: whether its text is hidden

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        found = dict(attrs)
        hidden = tag in {"script", "title"} or "hidden" in found or "code-hint" in (found.get("class") or "").split()
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.words.extend(WORD.findall(data))


def visible_words(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.words


def codes_shown(html: str) -> set[str]:
    return set(visible_words(html)) & set(CODES)


def _client(console: tuple[Settings, Flask], lang: str, role: str = "admin") -> FlaskClient:
    client = console_app(console[0], admin_locale=lang).test_client()
    log_in(client, role)
    return client


def _schedule_with_history(settings: Settings) -> Schedule:
    """A paused weekly schedule that retried once, skipped a due time and paused itself, with every policy set away
    from its default where one exists."""
    schedules.create_schedule(settings, "Lundi", {"template": "Standard CSV", "frequency": "weekly mon 06:00",
                                                  "timezone": "Europe/Paris", "overlap": "queue", "catch_up": "none",
                                                  "notify": "warnings", "retry_count": 2})  # fmt: skip
    row = Schedule.get(Schedule.name == "Lundi")
    due = dt.datetime(2026, 11, 23, 5, 0)
    ScheduleRun.create(schedule=row.id, due_at=due, trigger="due", status="failed", attempt=0, reason="boom")
    ScheduleRun.create(schedule=row.id, due_at=due, trigger="retry", status="waiting", attempt=1)
    ScheduleRun.create(schedule=row.id, due_at=due, trigger="pause", status="paused", attempt=-1,
                       reason="2 consecutive failed runs")  # fmt: skip
    ScheduleRun.create(schedule=row.id, due_at=due + dt.timedelta(days=7), trigger="catch_up", status="skipped")
    ScheduleRun.create(schedule=row.id, due_at=due + dt.timedelta(days=8), trigger="manual", status="queued")
    Schedule.update(last_status="retrying").where(Schedule.id == row.id).execute()
    schedules.pause_schedule("Lundi", "paused by admin")
    return row


def _run_cells(page: str, trigger: str) -> str:
    return page.split(f'data-trigger="{trigger}"')[1].split("</tr>")[0]


def test_a_schedule_page_in_french_shows_words_and_keeps_the_codes(console: tuple[Settings, Flask]) -> None:
    _schedule_with_history(console[0])
    page = _client(console, "fr").get("/schedules/Lundi").get_data(as_text=True)
    assert 'data-overlap="queue" data-catch-up="none"' in page
    assert "chevauchement : lancer la nouvelle exécution après elle" in page and "rattrapage : ne pas rattraper" in page
    assert 'data-notify="warnings">quand une exécution échoue ou a des avertissements' in page
    words = page.split('data-role="words"')[1].split("</dd>")[0]
    assert words.index("chaque lundi") < words.index('<div class="code-hint"') < words.rindex("weekly mon 06:00")
    first = _run_cells(page, "due")
    assert '<td data-role="trigger">échéance</td>' in first and 'data-attempt="0">tentative 1<' in first
    assert 'data-attempt="1">tentative 2<' in _run_cells(page, "retry")
    retry = _run_cells(page, "retry")
    assert '<td data-role="trigger">relance</td>' in retry and 'data-status="waiting">en attente de son tour<' in retry
    pause = _run_cells(page, "pause")
    assert '<td data-role="trigger">mise en pause</td>' in pause and 'data-attempt="-1">la mise en pause<' in pause
    assert "2 échecs consécutifs" in pause or "consecutive" not in pause
    assert "rattrapage" in _run_cells(page, "catch_up") and 'data-status="skipped">sautée<' in page
    assert "lancée à la main" in _run_cells(page, "manual")
    assert codes_shown(page) == set(), codes_shown(page)


def test_the_schedules_list_and_form_in_french_show_words(console: tuple[Settings, Flask]) -> None:
    _schedule_with_history(console[0])
    client = _client(console, "fr")
    listed = client.get("/schedules/").get_data(as_text=True)
    row = listed.split('data-schedule="Lundi"')[1].split("</tr>")[0]
    assert 'data-frequency="weekly mon 06:00"' in row and 'data-status="retrying">en attente de relance<' in row
    assert codes_shown(listed) == set(), codes_shown(listed)
    form = client.get("/schedules/Lundi/edit").get_data(as_text=True)
    assert '<option value="queue" selected>lancer la nouvelle exécution après elle</option>' in form
    assert '<option value="skip">ne pas lancer la nouvelle exécution</option>' in form
    assert '<option value="none" selected>ne pas rattraper</option>' in form
    assert '<option value="warnings" selected>quand une exécution échoue ou a des avertissements</option>' in form
    assert "avec « Notifier » : quand une exécution échoue ou a des avertissements" in form
    assert codes_shown(form) == set(), codes_shown(form)
    new = client.get("/schedules/new").get_data(as_text=True)
    assert '<option value="failure" selected>quand une exécution échoue</option>' in new
    assert '<option value="once" selected>une seule exécution au redémarrage</option>' in new
    assert codes_shown(new) == set(), codes_shown(new)


def test_a_form_posted_in_french_still_saves_the_codes(console: tuple[Settings, Flask]) -> None:
    client = _client(console, "fr", "manager")
    data = {"name": "Mardi", "template": "Standard CSV", "kind": "daily", "time": "07:00", "timezone": "UTC",
            "overlap": "queue", "catch_up": "none", "notify": "always"}  # fmt: skip
    data["csrf_token"] = csrf_token(client, "/schedules/")
    assert client.post("/schedules/new", data=data).status_code == 302
    row = Schedule.get(Schedule.name == "Mardi")
    assert (row.overlap, row.catch_up) == ("queue", "none")
    page = client.get("/schedules/Mardi").get_data(as_text=True)
    assert 'data-notify="always">après chaque exécution' in page


def test_notification_events_in_french(console: tuple[Settings, Flask]) -> None:
    events = ("export.completed", "export.partial", "export.failed", "delivery.failed", "schedule.skipped",
              "schedule.paused")  # fmt: skip
    for n, event in enumerate(events):
        Notification.create(key=f"k{n}", event=event, template_name="Standard CSV", status="failed",
                            title="Standard CSV", summary={}, policy={}, in_app=True)  # fmt: skip
    page = _client(console, "fr").get("/notifications/").get_data(as_text=True)
    for event, words in [("export.completed", "export terminé"), ("export.partial", "export partiel"),
                         ("export.failed", "export échoué"), ("delivery.failed", "livraison échouée"),
                         ("schedule.skipped", "planification : échéance sautée"),
                         ("schedule.paused", "planification mise en pause d’elle-même")]:  # fmt: skip
        assert f'data-event="{event}">{words}</td>' in page, event
    assert codes_shown(page) == set(), codes_shown(page)
    english = _client(console, "en").get("/notifications/").get_data(as_text=True)
    assert 'data-event="export.partial">export partly done</td>' in english


def test_account_states_in_french(console: tuple[Settings, Flask]) -> None:
    from engine.services.users import create_user, set_disabled

    create_user("ancien", "reader", "another long password")
    set_disabled("ancien", True)
    page = _client(console, "fr").get("/users/").get_data(as_text=True)
    assert re.search(r'data-status="disabled">\s*désactivé\s*<', page)
    assert re.search(r'data-status="active">\s*actif\s*<', page)
    assert codes_shown(page) == set(), codes_shown(page)
    english = _client(console, "en").get("/users/").get_data(as_text=True)
    assert re.search(r'data-status="disabled">\s*disabled\s*<', english)
    assert re.search(r'data-status="active">\s*active\s*<', english)


def test_the_english_schedule_page_reads_as_before(console: tuple[Settings, Flask]) -> None:
    _schedule_with_history(console[0])
    page = _client(console, "en").get("/schedules/Lundi").get_data(as_text=True)
    assert "overlap: queue the new run after it · catch-up: do not catch up" in page
    assert 'data-attempt="0">attempt 1<' in page and 'data-attempt="-1">the pause<' in page
    assert '<td data-role="trigger">due time</td>' in page and '<td data-role="trigger">run now</td>' in page


def test_an_error_page_keeps_the_frame_and_the_language(console: tuple[Settings, Flask]) -> None:
    client = _client(console, "fr", "reader")
    missing = client.get("/schedules/nope")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 404 and 'data-testid="error-page" data-status="404"' in page
    assert 'data-testid="whoami"' in page and 'href="/schedules/"' in page and 'lang="fr"' in page
    assert "Retour au tableau de bord" in page and "Se déconnecter" in page
    refused = client.get("/users/")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and 'data-testid="whoami"' in page and 'data-status="403"' in page
    assert 'href="/users/"' not in page  # the menu a reader sees: no admin page
    assert "this page is for admins" not in page
    anonymous = console_app(console[0], admin_locale="fr").test_client().get("/nowhere")
    page = anonymous.get_data(as_text=True)
    assert anonymous.status_code == 404 and 'data-testid="error-page"' in page and 'data-testid="whoami"' not in page
    assert "Retour au tableau de bord" in page


def test_an_error_page_whose_frame_fails_is_plain(console: tuple[Settings, Flask], monkeypatch) -> None:
    client = _client(console, "en", "reader")

    def broken() -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(admin.notifications, "unread_count", broken)
    answer = client.get("/nowhere")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and 'data-testid="error-message"' in page and 'data-testid="whoami"' not in page
