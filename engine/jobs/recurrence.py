"""Fire times of a schedule: its frequency parsed from one line of text, and the next instants it fires, computed on
wall-clock time in an IANA zone (zoneinfo) and returned in UTC; cron expressions are croniter's.

Frequencies: `daily HH:MM`, `weekly mon,thu HH:MM`, `monthly N HH:MM` (1-31; a month without day N fires on its
last day), `monthly last HH:MM`, `every N minutes|hours` (elapsed time from the Unix epoch: DST changes neither
double nor skip a run; at least 5 minutes), `cron M H DoM Mon DoW` (5 fields, evaluated in the zone).
A wall time that does not exist (spring forward) fires once at the first valid instant after it; a wall time that
exists twice (fall back) fires once, at its first occurrence. The machine's local zone is never used.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

from engine.errors import InvalidRequest

UTC = dt.UTC
MIN_INTERVAL_MINUTES = 5
MAX_INTERVAL_MINUTES = 31 * 24 * 60
MAX_FREQUENCY_TEXT = 200
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_MAX_CANDIDATES = 5000  # wall-clock candidates tried for one next fire time (a cron that never fires stops here)


@dataclass(frozen=True)
class Frequency:
    """A parsed frequency; `text` is its normalised form (what is stored and shown)."""

    kind: str  # daily, weekly, monthly, every, cron
    text: str
    at: dt.time | None = None
    days: tuple[int, ...] = ()  # weekly: 0 = Monday
    day: int | None = None  # monthly: 1-31, None for the last day
    minutes: int = 0  # every
    cron: str = ""


def _time(text: str, field: str) -> dt.time:
    match = _TIME.match(text)
    if not match:
        raise InvalidRequest(f"invalid time {text!r}: expected HH:MM (00:00 to 23:59)", field)
    return dt.time(int(match[1]), int(match[2]))


def _cron_error(expression: str, field: str) -> InvalidRequest:
    """The first of the 5 fields croniter refuses, named with its range."""
    parts = expression.split()
    if len(parts) != 5:
        return InvalidRequest(f"invalid cron expression {expression!r}: expected 5 fields, got {len(parts)}", field)
    for n, (name, low, high) in enumerate(CRON_FIELDS):
        probe = ["*"] * 5
        probe[n] = parts[n]
        if not croniter.is_valid(" ".join(probe)):
            return InvalidRequest(f"invalid cron expression {expression!r}: {name} must be {low}-{high}", field)
    return InvalidRequest(f"invalid cron expression {expression!r}", field)


@lru_cache(maxsize=4096)
def parse_frequency(text: str, field: str = "frequency") -> Frequency:
    """Parse and validate a frequency (cached: the scheduler parses the same few texts again and again);
    InvalidRequest names the field and what is wrong."""
    words = str(text or "").strip().split()
    if not words:
        raise InvalidRequest("is required (daily HH:MM, weekly DAYS HH:MM, monthly N|last HH:MM, every N minutes|"
                             "hours, cron EXPR)", field)  # fmt: skip
    if len(str(text)) > MAX_FREQUENCY_TEXT:
        raise InvalidRequest(f"at most {MAX_FREQUENCY_TEXT} characters", field)
    kind, args = words[0].lower(), words[1:]
    if kind == "daily" and len(args) == 1:
        at = _time(args[0], field)
        return Frequency("daily", f"daily {at:%H:%M}", at=at)
    if kind == "weekly" and len(args) == 2:
        names = [d.strip().lower()[:3] for d in args[0].split(",") if d.strip()]
        unknown = [d for d in names if d not in DAY_NAMES]
        if not names or unknown:
            raise InvalidRequest(f"invalid days {args[0]!r}: use mon,tue,wed,thu,fri,sat,sun", field)
        days = tuple(sorted({DAY_NAMES.index(d) for d in names}))
        at = _time(args[1], field)
        return Frequency("weekly", f"weekly {','.join(DAY_NAMES[d] for d in days)} {at:%H:%M}", at=at, days=days)
    if kind == "monthly" and len(args) == 2:
        at = _time(args[1], field)
        if args[0].lower() == "last":
            return Frequency("monthly", f"monthly last {at:%H:%M}", at=at)
        if not args[0].isdigit() or not 1 <= int(args[0]) <= 31:
            raise InvalidRequest(f"invalid day of month {args[0]!r}: must be 1-31 or last", field)
        return Frequency("monthly", f"monthly {int(args[0])} {at:%H:%M}", at=at, day=int(args[0]))
    if kind == "every" and len(args) == 2:
        unit = args[1].lower().rstrip("s")
        if not args[0].isdigit() or unit not in {"minute", "hour"}:
            raise InvalidRequest(f"invalid interval {' '.join(args)!r}: expected N minutes or N hours", field)
        minutes = int(args[0]) * (60 if unit == "hour" else 1)
        if not MIN_INTERVAL_MINUTES <= minutes <= MAX_INTERVAL_MINUTES:
            raise InvalidRequest(
                f"interval of {minutes} minutes: must be between {MIN_INTERVAL_MINUTES} minutes and 31 days", field
            )
        label = f"every {minutes // 60} hours" if unit == "hour" else f"every {minutes} minutes"
        return Frequency("every", label, minutes=minutes)
    if kind == "cron":
        expression = " ".join(args)
        if len(args) != 5 or not croniter.is_valid(expression):
            raise _cron_error(expression, field)
        frequency = Frequency("cron", f"cron {expression}", cron=expression)
        try:
            next_fire(frequency, ZoneInfo("UTC"), dt.datetime(2000, 1, 1, tzinfo=UTC))
        except ValueError:
            raise InvalidRequest(f"cron expression {expression!r} never fires", field) from None
        return frequency
    raise InvalidRequest(
        f"invalid frequency {str(text)!r}: expected daily HH:MM, weekly DAYS HH:MM, monthly N|last HH:MM, "
        "every N minutes|hours or cron EXPR",
        field,
    )


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA zone of that name; InvalidRequest for an unknown one (never the machine's local zone)."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name or name not in _zone_names():
        raise InvalidRequest(f"unknown time zone {name!r} (an IANA name such as Europe/Paris)", field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown time zone {name!r} (an IANA name such as Europe/Paris)", field) from None


_zone_cache: frozenset[str] = frozenset()


def _zone_names() -> frozenset[str]:
    global _zone_cache
    if not _zone_cache:
        _zone_cache = frozenset(available_timezones()) | {"UTC"}
    return _zone_cache


def resolve_wall_time(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of a naive wall time in `tz`: its first occurrence when it exists twice, the first valid
    instant after it when it does not exist."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # a gap: the zone's clocks jump over `wall`; the transition lies between the two readings of it
    low, high = wall.replace(tzinfo=tz, fold=1).astimezone(UTC), first
    low, high = min(low, high), max(low, high)
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _wall_candidates(frequency: Frequency, start: dt.datetime) -> Iterator[dt.datetime]:
    """Naive wall times of `frequency` at or after `start`, ascending."""
    if frequency.kind == "cron":
        runner = croniter(frequency.cron, start - dt.timedelta(minutes=1))
        while True:
            yield runner.get_next(dt.datetime)
    assert frequency.at is not None
    day = start.date()
    while True:
        if frequency.kind == "daily" or (frequency.kind == "weekly" and day.weekday() in frequency.days):
            yield dt.datetime.combine(day, frequency.at)
        elif frequency.kind == "monthly":
            last = calendar.monthrange(day.year, day.month)[1]
            if day.day == min(frequency.day or last, last):
                yield dt.datetime.combine(day, frequency.at)
        day += dt.timedelta(days=1)


def next_fire(frequency: Frequency, tz: ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The first fire time strictly after `after` (aware), as an aware UTC datetime. ValueError if none is found."""
    after = after.astimezone(UTC)
    if frequency.kind == "every":
        step = frequency.minutes * 60
        seconds = int(after.timestamp()) // step * step + step
        return dt.datetime.fromtimestamp(seconds, UTC)
    # a wall time before `after`'s own never resolves after it (a gap's wall times all lie after the instants
    # before the gap), so the candidates start at `after`'s minute
    start = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    try:
        for n, wall in enumerate(_wall_candidates(frequency, start)):
            instant = resolve_wall_time(wall, tz)
            if instant > after:
                return instant
            if n > _MAX_CANDIDATES:
                break
    except (KeyError, ValueError) as exc:  # croniter gives up on impossible dates
        raise ValueError(f"{frequency.text} never fires") from exc
    raise ValueError(f"{frequency.text} never fires")


def fire_times(frequency: Frequency, tz: ZoneInfo, after: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` fire times after `after`, aware UTC."""
    times: list[dt.datetime] = []
    for _ in range(count):
        after = next_fire(frequency, tz, after)
        times.append(after)
    return times
