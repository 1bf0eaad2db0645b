"""A schedule's frequency in words, in English and French, for every kind of frequency (cron included), and the
services the console's schedule pages read: the live preview of an unsaved frequency, the next runs across the
active schedules, the schedules a page at a time."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.errors import InvalidRequest
from engine.jobs.frequency_words import frequency_words
from engine.services import schedules
from engine.settings import Settings
from tests.small_catalog import build_small_catalog


@pytest.mark.parametrize(
    ("frequency", "english", "french"),
    [
        ("daily 06:00", "every day at 06:00, Europe/Paris", "tous les jours à 06:00, Europe/Paris"),
        ("weekly mon 06:00", "every Monday at 06:00, Europe/Paris", "chaque lundi à 06:00, Europe/Paris"),
        ("weekly thu,mon 18:30", "every Monday and Thursday at 18:30, Europe/Paris",
         "chaque lundi et jeudi à 18:30, Europe/Paris"),
        ("weekly mon,wed,fri 07:00", "every Monday, Wednesday and Friday at 07:00, Europe/Paris",
         "chaque lundi, mercredi et vendredi à 07:00, Europe/Paris"),
        ("weekly mon,tue,wed,thu,fri 07:30", "every Monday to Friday at 07:30, Europe/Paris",
         "du lundi au vendredi à 07:30, Europe/Paris"),
        ("weekly mon,tue,wed,thu,fri,sat,sun 01:00", "every day at 01:00, Europe/Paris",
         "tous les jours à 01:00, Europe/Paris"),
        ("monthly 1 06:00", "on the 1st of every month at 06:00, Europe/Paris",
         "le 1er de chaque mois à 06:00, Europe/Paris"),
        ("monthly 22 06:00", "on the 22nd of every month at 06:00, Europe/Paris",
         "le 22 de chaque mois à 06:00, Europe/Paris"),
        ("monthly 31 06:00", "on the 31st of every month at 06:00 (the last day of shorter months), Europe/Paris",
         "le 31 de chaque mois à 06:00 (le dernier jour des mois plus courts), Europe/Paris"),
        ("monthly last 23:00", "on the last day of every month at 23:00, Europe/Paris",
         "le dernier jour de chaque mois à 23:00, Europe/Paris"),
        ("every 15 minutes", "every 15 minutes", "toutes les 15 minutes"),
        ("every 1 hours", "every hour", "toutes les heures"),
        ("every 6 hours", "every 6 hours", "toutes les 6 heures"),
        ("cron 0 6 * * 1-5", "at 06:00, Monday to Friday, Europe/Paris", "à 06:00, du lundi au vendredi, Europe/Paris"),
        ("cron 0 6 * * *", "at 06:00, every day, Europe/Paris", "à 06:00, tous les jours, Europe/Paris"),
        ("cron */15 * * * *", "every 15 minutes, Europe/Paris", "toutes les 15 minutes, Europe/Paris"),
        ("cron 5 * * * *", "at minute 5 of every hour, Europe/Paris", "à la minute 5 de chaque heure, Europe/Paris"),
        ("cron 0 */2 * * *", "every 2 hours at minute 0, Europe/Paris",
         "toutes les 2 heures à la minute 0, Europe/Paris"),
        ("cron 0 6,18 1,15 * *", "at 06:00 and 18:00, on day 1 and 15 of the month, Europe/Paris",
         "à 06:00 et 18:00, le 1 et 15 du mois, Europe/Paris"),
        ("cron 0 0 * jan,jul sun", "at 00:00, on Sunday, in January and July, Europe/Paris",
         "à 00:00, le dimanche, en janvier et juillet, Europe/Paris"),
        ("cron 30 2 L * *", "at 02:30, on the last day of the month, Europe/Paris",
         "à 02:30, le dernier jour du mois, Europe/Paris"),
        ("cron 0 6 * * mon#1", "at 06:00, on the first Monday of the month, Europe/Paris",
         "à 06:00, le premier lundi du mois, Europe/Paris"),
        ("cron 0 6 1 * 1", "at 06:00, on day 1 of the month or on Monday, Europe/Paris",
         "à 06:00, le 1 du mois ou le lundi, Europe/Paris"),
        ("cron 0,30 8-18 * * 1-5", "at minute 0 and 30 past hour 8-18, Monday to Friday, Europe/Paris",
         "à la minute 0 et 30 des heures 8-18, du lundi au vendredi, Europe/Paris"),
        ("cron * * * * *", "every minute, Europe/Paris", "toutes les minutes, Europe/Paris"),
    ],
)  # fmt: skip
def test_every_frequency_is_said_in_english_and_french(frequency: str, english: str, french: str) -> None:
    assert frequency_words(frequency, "Europe/Paris") == english
    assert frequency_words(frequency, "Europe/Paris", "fr") == french


def test_a_frequency_the_scheduler_refuses_is_refused_with_its_reason() -> None:
    with pytest.raises(InvalidRequest, match="minute must be 0-59") as caught:
        frequency_words("cron 61 * * * *", "UTC")
    assert caught.value.field == "frequency"


def test_the_preview_of_an_unsaved_frequency_crosses_the_paris_spring_change() -> None:
    after = dt.datetime(2027, 3, 26, 12, 0)
    runs = schedules.preview_frequency("daily 06:00", "Europe/Paris", 5, after=after)
    assert [r.local.strftime("%Y-%m-%d %H:%M %Z") for r in runs] == [
        "2027-03-27 06:00 CET", "2027-03-28 06:00 CEST", "2027-03-29 06:00 CEST", "2027-03-30 06:00 CEST",
        "2027-03-31 06:00 CEST",
    ]  # fmt: skip
    assert [r.utc.hour for r in runs] == [5, 4, 4, 4, 4]
    with pytest.raises(InvalidRequest) as caught:
        schedules.preview_frequency("daily 06:00", "Mars/Olympus", 5)
    assert caught.value.field == "timezone"
    with pytest.raises(InvalidRequest) as caught:
        schedules.preview_frequency("daily 06:00", "UTC", 101)
    assert caught.value.field == "count"


def test_the_next_runs_across_schedules_are_the_soonest_whatever_their_number(sqlite_db: Settings) -> None:
    build_small_catalog()
    now = dt.datetime(2027, 1, 4, 0, 0)  # a Monday
    schedules.create_schedule(sqlite_db, "often", {"template": "Standard CSV", "frequency": "every 2 hours",
                                                   "timezone": "UTC"}, now=now)  # fmt: skip
    schedules.create_schedule(sqlite_db, "weekly", {"template": "Standard CSV", "frequency": "weekly mon 03:00",
                                                    "timezone": "Europe/Paris"}, now=now)  # fmt: skip
    schedules.create_schedule(sqlite_db, "paused", {"template": "Standard CSV", "frequency": "daily 00:30",
                                                    "timezone": "UTC"}, now=now)  # fmt: skip
    schedules.pause_schedule("paused")
    runs = schedules.upcoming_runs(5, now=now)
    assert [(r.schedule, r.utc.strftime("%H:%M")) for r in runs] == [
        ("often", "02:00"), ("weekly", "02:00"), ("often", "04:00"), ("often", "06:00"), ("often", "08:00"),
    ]  # fmt: skip
    assert runs[1].local.strftime("%H:%M") == "03:00" and runs[1].timezone == "Europe/Paris"
    assert len(schedules.upcoming_runs(1)) == 1
    page, token = schedules.page_schedules(page_size=2)
    assert [s.name for s in page] == ["paused", "weekly"] and token
    rest, last = schedules.page_schedules(page_size=2, page_token=token)
    assert [s.name for s in rest] == ["often"] and last == ""
