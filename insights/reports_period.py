"""The period and the filters of a report (docs/reports.md, "Period and filters"): days are the
shop's days (SHOPCHAT_TIME_ZONE), turned here into UTC instants for the queries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERIODS = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
MAX_DAYS = 366
# Up to this many days the time series has a point per hour, above it one per day.
HOURLY_UP_TO_DAYS = 2


class PeriodError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def shop_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError("time_zone", f"unknown time zone {name!r} (an IANA name such as Europe/Athens)") from None


@dataclass(frozen=True)
class Period:
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone).astimezone(timezone.utc)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def step(self) -> str:
        return "hour" if self.days <= HOURLY_UP_TO_DAYS else "day"

    def buckets(self) -> list[str]:
        """Every point of the time series, so empty hours and days show as zero."""
        if self.step == "day":
            return [(self.first_day + timedelta(days=i)).isoformat() for i in range(self.days)]
        out, day = [], self.first_day
        while day <= self.last_day:
            out += [f"{day.isoformat()}T{h:02d}:00" for h in range(24)]
            day += timedelta(days=1)
        return out

    def label(self, local: datetime) -> str:
        return local.date().isoformat() if self.step == "day" else local.strftime("%Y-%m-%dT%H:00")


def parse_period(period: str, first: str | None, last: str | None, zone: ZoneInfo,
                 now: datetime) -> Period:
    """`today`, `7d`, `30d`, `90d` (ending today, in the shop's time zone) or `custom` with
    `from` and `to` (YYYY-MM-DD, both included)."""
    today = now.astimezone(zone).date()
    if period in PERIODS:
        return Period(today - timedelta(days=PERIODS[period] - 1), today, zone)
    if period != "custom":
        raise PeriodError("period", f"period must be one of {', '.join([*PERIODS, 'custom'])}")
    days = []
    for field, value in (("from", first), ("to", last)):
        try:
            days.append(date.fromisoformat(value or ""))
        except ValueError:
            raise PeriodError(field, f"'{field}' must be a date YYYY-MM-DD for a custom period") from None
    if days[0] > days[1]:
        raise PeriodError("from", "'from' must not be after 'to'")
    if (days[1] - days[0]).days + 1 > MAX_DAYS:
        raise PeriodError("to", f"a custom period spans at most {MAX_DAYS} days")
    return Period(days[0], days[1], zone)


@dataclass(frozen=True)
class Filters:
    agent_id: int | None = None
    language: str | None = None
    reason: str | None = None
    start_page: str | None = None

    def as_dict(self) -> dict:
        return {"agent": self.agent_id, "language": self.language, "reason": self.reason, "page": self.start_page}
