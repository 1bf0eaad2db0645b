"""A schedule's frequency in words, in English or French: "every Monday at 06:00, Europe/Paris" / "chaque lundi à
06:00, Europe/Paris". Every kind of recurrence.py is worded, cron expressions too (from croniter's expansion of
their fields); a cron the words cannot say plainly is given field by field, never wrongly simplified."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from croniter import croniter

from engine.jobs.recurrence import Frequency, parse_frequency

LANGUAGES = ("en", "fr")
MAX_LISTED_TIMES = 6  # a cron firing at more times of day than this is worded by minutes and hours


@dataclass(frozen=True)
class _Words:
    days: tuple[str, ...]  # Monday first
    months: tuple[str, ...]  # January first
    and_: str
    or_: str
    daily: str
    weekly: str
    weekly_range: str
    day_range: str
    month_day: str
    month_last: str
    month_short: str  # said of day 29-31: months without that day fire on their last day
    every_minutes: str
    every_hour: str
    every_hours: str
    at: str
    at_minute_every_hour: str
    minutes_past_hours: str
    minutes_every_hours: str
    on_days_of_month: str
    on_last_day: str
    on_week_days: str
    on_week_range: str
    nth_week_day: str
    in_months: str
    every_minute: str
    every_day: str
    ordinals: tuple[str, ...]  # 1st .. 5th (cron's day#n)

    def ordinal_day(self, day: int) -> str:
        if self is FRENCH:
            return "1er" if day == 1 else str(day)
        suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"{day}{suffix}"

    def listing(self, items: Sequence[str], joiner: str | None = None) -> str:
        items = list(items)
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {joiner or self.and_} {items[-1]}"


ENGLISH = _Words(
    days=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    and_="and",
    or_="or",
    daily="every day at {time}",
    weekly="every {days} at {time}",
    weekly_range="every {days} at {time}",
    day_range="{first} to {last}",
    month_day="on the {day} of every month at {time}",
    month_last="on the last day of every month at {time}",
    month_short=" (the last day of shorter months)",
    every_minutes="every {n} minutes",
    every_hour="every hour",
    every_hours="every {n} hours",
    at="at {times}",
    at_minute_every_hour="at minute {minutes} of every hour",
    minutes_past_hours="at minute {minutes} past hour {hours}",
    minutes_every_hours="every {n} hours at minute {minutes}",
    on_days_of_month="on day {days} of the month",
    on_last_day="on the last day of the month",
    on_week_days="on {days}",
    on_week_range="{days}",
    nth_week_day="on the {nth} {day} of the month",
    in_months="in {months}",
    every_minute="every minute",
    every_day="every day",
    ordinals=("first", "second", "third", "fourth", "fifth"),
)
FRENCH = _Words(
    days=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    months=(
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    and_="et",
    or_="ou",
    daily="tous les jours à {time}",
    weekly="chaque {days} à {time}",
    weekly_range="{days} à {time}",
    day_range="du {first} au {last}",
    month_day="le {day} de chaque mois à {time}",
    month_last="le dernier jour de chaque mois à {time}",
    month_short=" (le dernier jour des mois plus courts)",
    every_minutes="toutes les {n} minutes",
    every_hour="toutes les heures",
    every_hours="toutes les {n} heures",
    at="à {times}",
    at_minute_every_hour="à la minute {minutes} de chaque heure",
    minutes_past_hours="à la minute {minutes} des heures {hours}",
    minutes_every_hours="toutes les {n} heures à la minute {minutes}",
    on_days_of_month="le {days} du mois",
    on_last_day="le dernier jour du mois",
    on_week_days="le {days}",
    on_week_range="{days}",
    nth_week_day="le {nth} {day} du mois",
    in_months="en {months}",
    every_minute="toutes les minutes",
    every_day="tous les jours",
    ordinals=("premier", "deuxième", "troisième", "quatrième", "cinquième"),
)
_WORDS = {"en": ENGLISH, "fr": FRENCH}


def _numbers(values: Sequence[int]) -> list[str]:
    """Consecutive runs of 3 or more as ranges: [1, 2, 3, 4, 5, 7] -> ["1-5", "7"]."""
    out: list[str] = []
    start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        out.append(f"{start}-{previous}" if previous - start >= 2 else ", ".join(map(str, range(start, previous + 1))))
        if value is not None:
            start = previous = value
    return out


def _step(values: Sequence[int], low: int, high: int) -> int | None:
    """The step n when `values` is exactly low, low+n, ... up to high (a `*/n` field), else None."""
    if len(values) < 2 or values[0] != low:
        return None
    step = values[1] - values[0]
    return step if list(values) == list(range(low, high + 1, step)) else None


def _cron_words(expression: str, w: _Words) -> str:
    fields, nth = croniter.expand(expression)
    minutes, hours, month_days, months, week_days = fields
    parts: list[str] = []
    any_minute, any_hour = minutes == ["*"], hours == ["*"]
    listed_times = False
    minute_step = None if any_minute else _step(minutes, 0, 59)
    if any_minute and any_hour:
        parts.append(w.every_minute)
    elif any_hour and minute_step:
        parts.append(w.every_minutes.format(n=minute_step))
    elif any_hour:
        parts.append(w.at_minute_every_hour.format(minutes=w.listing(_numbers(minutes))))
    elif not any_minute and (hour_step := _step(hours, 0, 23)):
        parts.append(w.minutes_every_hours.format(n=hour_step, minutes=w.listing(_numbers(minutes))))
    elif not any_minute and len(minutes) * len(hours) <= MAX_LISTED_TIMES:
        times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
        listed_times = True
        parts.append(w.at.format(times=w.listing(times)))
    else:
        shown = "*" if any_minute else w.listing(_numbers(minutes))
        parts.append(w.minutes_past_hours.format(minutes=shown, hours=w.listing(_numbers(hours))))
    days: list[str] = []
    if month_days == ["l"]:
        days.append(w.on_last_day)
    elif month_days != ["*"]:
        numbers = [int(d) for d in month_days if str(d).isdigit()]
        named = w.listing(_numbers(numbers)) if numbers else ""
        days.append(w.on_days_of_month.format(days=named))
        if "l" in month_days:
            days.append(w.on_last_day)
    if week_days != ["*"]:
        if nth:
            for day, counts in sorted(nth.items()):
                for n in sorted(counts):
                    days.append(w.nth_week_day.format(nth=w.ordinals[n - 1], day=w.days[(int(day) - 1) % 7]))
        else:
            ordered = sorted({(int(d) - 1) % 7 for d in week_days})  # cron's 0 and 7 are Sunday
            names, is_range = _day_names(ordered, w)
            days.append((w.on_week_range if is_range else w.on_week_days).format(days=names))
    if days:
        parts.append(w.listing(days, w.or_))  # cron fires on a day of the month OR a day of the week
    elif listed_times and months == ["*"]:
        parts.append(w.every_day)
    if months != ["*"]:
        parts.append(w.in_months.format(months=w.listing([w.months[int(m) - 1] for m in months])))
    return ", ".join(parts)


def _day_names(days: Sequence[int], w: _Words) -> tuple[str, bool]:
    """Monday=0 .. Sunday=6, and whether they were said as a range (3 or more days in a row: "Monday to Friday")."""
    if len(days) >= 3 and list(days) == list(range(days[0], days[-1] + 1)):
        return w.day_range.format(first=w.days[days[0]], last=w.days[days[-1]]), True
    return w.listing([w.days[d] for d in days]), False


def frequency_words(frequency: str | Frequency, timezone: str | None = None, lang: str = "en") -> str:
    """The frequency said in `lang` (en or fr), with the time zone its wall times are in; InvalidRequest for a
    frequency recurrence.py refuses. An interval (`every N minutes`) runs on elapsed time: no zone is said."""
    parsed = frequency if isinstance(frequency, Frequency) else parse_frequency(frequency)
    w = _WORDS.get(lang, ENGLISH)
    time = f"{parsed.at:%H:%M}" if parsed.at is not None else ""
    if parsed.kind == "every":
        if parsed.minutes % 60 == 0 and parsed.text.endswith("hours"):
            hours = parsed.minutes // 60
            return w.every_hour if hours == 1 else w.every_hours.format(n=hours)
        return w.every_minutes.format(n=parsed.minutes)
    if parsed.kind == "daily" or (parsed.kind == "weekly" and len(parsed.days) == 7):
        text = w.daily.format(time=time)
    elif parsed.kind == "weekly":
        names, is_range = _day_names(parsed.days, w)
        text = (w.weekly_range if is_range else w.weekly).format(days=names, time=time)
    elif parsed.kind == "monthly" and parsed.day is None:
        text = w.month_last.format(time=time)
    elif parsed.kind == "monthly":
        assert parsed.day is not None
        text = w.month_day.format(day=w.ordinal_day(parsed.day), time=time)
        if parsed.day >= 29:
            text += w.month_short
    else:
        text = _cron_words(parsed.cron, w)
    return f"{text}, {timezone}" if timezone else text
