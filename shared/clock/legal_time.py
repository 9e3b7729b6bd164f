"""Legal processing time of a procedure, as the law states it: working days, working hours, same day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.clock.calendar import WorkingCalendar

Unit = Literal["days", "hours", "same_day"]


@dataclass(frozen=True)
class LegalTime:
    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit == "same_day":
            if self.amount != 0:
                raise ValueError("same_day takes no amount")
        elif self.amount <= 0:
            raise ValueError("legal time must be positive")

    @classmethod
    def days(cls, n: int) -> LegalTime:
        return cls(n, "days")

    @classmethod
    def hours(cls, n: int) -> LegalTime:
        return cls(n, "hours")

    @classmethod
    def same_day(cls) -> LegalTime:
        """Returned by the end of the working day on which the clock starts."""
        return cls(0, "same_day")

    def to_minutes(self, calendar: WorkingCalendar, start: datetime | None = None) -> int:
        """Working minutes of this legal time; ``same_day`` needs the clock's start moment.

        Days convert through the calendar's minutes per day (8 office hours = 1 working day), so
        a legal day is a fixed amount of office time, whatever the session layout of each day.
        """
        if self.unit == "days":
            return self.amount * calendar.minutes_per_day
        if self.unit == "hours":
            return self.amount * 60
        if start is None:
            raise ValueError("same_day legal time needs the start moment")
        end = calendar.end_of_working_day(calendar.to_local(start).date())
        return 0 if end is None else max(0, calendar.working_minutes_between(start, end))

    def describe(self) -> str:
        if self.unit == "same_day":
            return "same working day (trong ngày)"
        noun = "working day" if self.unit == "days" else "working hour"
        return f"{self.amount} {noun}{'' if self.amount == 1 else 's'}"
