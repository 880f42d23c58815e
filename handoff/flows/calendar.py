"""Working days and humane send times: 09:00 in the reader's zone, on working days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

SEND_HOUR = 9


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    """The named time zone, UTC when unknown or empty."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class WorkCalendar:
    """Monday to Friday, less the public holidays of one country (none when empty)."""

    country: str = ""
    extra_holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """True for a weekday that is no public holiday."""
        if day.weekday() >= 5 or day in self.extra_holidays:
            return False
        return not (self.country and day in _holidays(self.country, day.year))

    def next_working_day(self, day: date) -> date:
        """The day itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The working day `count` working days after `day` (before it, when negative)."""
        day = self.next_working_day(day)
        for _ in range(count):
            day = self.next_working_day(day + timedelta(days=1))
        for _ in range(-count):
            day -= timedelta(days=1)
            while not self.is_working_day(day):
                day -= timedelta(days=1)
        return day

    def send_time(self, day: date, tz: str | None) -> datetime:
        """09:00 on the first working day from `day`, in zone `tz`, as UTC."""
        local = datetime.combine(self.next_working_day(day), time(SEND_HOUR), tzinfo=zone(tz))
        return local.astimezone(UTC)


def local_today(now: datetime, tz: str | None) -> date:
    """The calendar day it is in zone `tz` at instant `now`."""
    return now.astimezone(zone(tz)).date()
