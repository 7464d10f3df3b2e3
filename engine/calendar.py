"""Working-day calendar (工作日): weekends off, plus configurable public holidays and 调休 make-up days.

Deadlines in the regulations are counted in working days from the day after the triggering
event; the deadline is the end of the Nth working day in the bureau's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.models import CalendarDay

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the bureau's zone: every package and page counts days in it


def local_date(when: datetime | date) -> date:
    """The bureau's calendar day of an instant (a date is already one)."""
    return when.astimezone(SHANGHAI).date() if isinstance(when, datetime) else when


class WorkingCalendar:
    def __init__(self, holidays: Iterable[date] = (), makeup_days: Iterable[date] = (), tz: ZoneInfo = SHANGHAI):
        self.holidays = frozenset(holidays)
        self.makeup_days = frozenset(makeup_days)
        self.tz = tz

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End (23:59:59 local) of the `days`-th working day after `start`'s local date."""
        day = start.astimezone(self.tz).date()
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return datetime.combine(day, time(23, 59, 59), self.tz)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days elapsed after `start`'s date up to and including `end`'s date."""
        d0, d1 = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        count, day = 0, d0
        while day < d1:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


async def load_calendar(tz: ZoneInfo = SHANGHAI) -> WorkingCalendar:
    rows = await CalendarDay.all()
    return WorkingCalendar([r.day for r in rows if not r.is_working], [r.day for r in rows if r.is_working], tz)
