"""The leader dashboard's tables, built from scoring's reports: one model for the page, the
charts' accessible tables and the Excel files, so the three always show the same numbers.

Pure functions of the reports' JSON (no HTTP, no framework): unit-tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from services.web import i18n
from shared.units import name_of

KINDS = ("month", "quarter", "year")
ROMAN = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class Period:
    """A reporting period the leader picked: its kind and any day in it."""

    kind: str
    start: date

    @classmethod
    def of(cls, kind: str, day: date) -> Period:
        if kind == "year":
            return cls(kind, date(day.year, 1, 1))
        if kind == "quarter":
            return cls(kind, date(day.year, 3 * ((day.month - 1) // 3) + 1, 1))
        return cls("month", day.replace(day=1))

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "year": 12}[self.kind]

    def shifted(self, periods: int) -> Period:
        index = self.start.year * 12 + self.start.month - 1 + periods * self.months
        return Period(self.kind, date(index // 12, index % 12 + 1, 1))

    @property
    def last_day(self) -> date:
        return self.shifted(1).start - timedelta(days=1)

    @property
    def label(self) -> str:
        """``Tháng 11/2026``, ``Quý IV/2026``, ``Năm 2026``: as the reports name their period."""
        if self.kind == "year":
            return f"Năm {self.start.year}"
        if self.kind == "quarter":
            return f"Quý {ROMAN[(self.start.month - 1) // 3]}/{self.start.year}"
        return f"Tháng {self.start.month:02d}/{self.start.year}"

    @property
    def span(self) -> str:
        return f"từ ngày {self.start:%d/%m/%Y} đến ngày {self.last_day:%d/%m/%Y}"

    def params(self) -> dict[str, str]:
        return {"period": self.kind, "start": self.start.isoformat()}

    def choices(self, today: date, count: int = 12) -> list[Period]:
        """The periods a leader can pick: the current one and those before it, newest first."""
        current = Period.of(self.kind, today)
        return [current.shifted(-i) for i in range(count)]


@dataclass(frozen=True)
class Column:
    key: str
    vi: str
    en: str
    number: int  # the form's column number, "(3)"


# The progress report's columns (báo cáo tình hình, kết quả giải quyết TTHC), in the form's order.
PROGRESS_COLUMNS: tuple[Column, ...] = (
    Column("received_total", "Tổng số", "Total", 3),
    Column("carried_over", "Số kỳ trước chuyển qua", "Carried over", 4),
    Column("received_online", "Trực tuyến", "Online", 5),
    Column("received_desk", "Trực tiếp", "At the desk", 6),
    Column("received_post", "Qua dịch vụ bưu chính công ích", "By post", 7),
    Column("resolved_total", "Tổng số", "Total", 8),
    Column("resolved_early", "Trả trước hạn", "Early", 9),
    Column("resolved_on_time", "Trả đúng hạn", "On time", 10),
    Column("resolved_late", "Trả quá hạn", "Late", 11),
    Column("in_progress_total", "Tổng số", "Total", 12),
    Column("in_progress_on_time", "Trong hạn", "Not yet due", 13),
    Column("in_progress_overdue", "Quá hạn", "Overdue", 14),
    Column("paused", "Tạm dừng (chờ bổ sung)", "Paused (awaiting supplement)", 15),
    Column("stopped", "Rút, dừng giải quyết", "Withdrawn or stopped", 16),
)
COLUMN_KEYS = tuple(c.key for c in PROGRESS_COLUMNS)


@dataclass(frozen=True)
class HeaderCell:
    """One cell of the form's three header rows: its position and span (rows and columns count
    from 0 and include STT and the unit's column)."""

    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1


# The header of the progress report as the province's form draws it.
PROGRESS_HEADER: tuple[HeaderCell, ...] = (
    HeaderCell(0, 0, "STT", rowspan=3),
    HeaderCell(0, 1, "Đơn vị", rowspan=3),
    HeaderCell(0, 2, "Số hồ sơ nhận giải quyết", colspan=5),
    HeaderCell(0, 7, "Kết quả giải quyết: số hồ sơ đã giải quyết", colspan=4),
    HeaderCell(0, 11, "Số hồ sơ đang giải quyết", colspan=4),
    HeaderCell(0, 15, "Số hồ sơ rút, dừng giải quyết", rowspan=3),
    HeaderCell(1, 2, "Tổng số", rowspan=2),
    HeaderCell(1, 3, "Trong đó: số kỳ trước chuyển qua", rowspan=2),
    HeaderCell(1, 4, "Số mới tiếp nhận", colspan=3),
    HeaderCell(1, 7, "Tổng số", rowspan=2),
    HeaderCell(1, 8, "Trả trước hạn", rowspan=2),
    HeaderCell(1, 9, "Trả đúng hạn", rowspan=2),
    HeaderCell(1, 10, "Trả quá hạn", rowspan=2),
    HeaderCell(1, 11, "Tổng số", rowspan=2),
    HeaderCell(1, 12, "Trong hạn", rowspan=2),
    HeaderCell(1, 13, "Quá hạn", rowspan=2),
    HeaderCell(1, 14, "Tạm dừng (chờ bổ sung)", rowspan=2),
    HeaderCell(2, 4, "Trực tuyến"),
    HeaderCell(2, 5, "Trực tiếp"),
    HeaderCell(2, 6, "Qua dịch vụ bưu chính công ích"),
)
# The form's numbering row under the header: (1) STT, (2) unit, then each column's number.
COLUMN_NUMBERS: tuple[str, ...] = (
    "(1)",
    "(2)",
    "(3)=(4)+(5)+(6)+(7)",
    "(4)",
    "(5)",
    "(6)",
    "(7)",
    "(8)=(9)+(10)+(11)",
    "(9)",
    "(10)",
    "(11)",
    "(12)=(13)+(14)+(15)",
    "(13)",
    "(14)",
    "(15)",
    "(16)",
)


def header_rows(header: Sequence[HeaderCell]) -> list[list[HeaderCell]]:
    rows: list[list[HeaderCell]] = [[] for _ in range(1 + max(c.row for c in header))]
    for cell in header:
        rows[cell.row].append(cell)
    return [sorted(row, key=lambda c: c.col) for row in rows]


def unit_label(code: str | None, name: str | None = None) -> str:
    """The unit's name (never a bare code unless the unit is no longer in the list)."""
    if name:
        return name
    found = name_of(code)
    return found.name_vi if found else f"{code or '?'} (đơn vị không còn trong danh mục)"


@dataclass(frozen=True)
class ProgressRow:
    number: str  # STT ("" for the total row)
    unit: str | None  # code; None for the total row (drill-down over the whole scope)
    name: str
    cells: dict[str, int]

    def values(self) -> list[int]:
        return [self.cells.get(k, 0) for k in COLUMN_KEYS]


@dataclass(frozen=True)
class ProgressTable:
    rows: list[ProgressRow]
    total: ProgressRow

    @property
    def on_time_rate(self) -> float | None:
        """Share of the dossiers decided in the period that were decided early or on time."""
        t = self.total.cells
        resolved = t.get("resolved_total", 0)
        return (t.get("resolved_early", 0) + t.get("resolved_on_time", 0)) / resolved if resolved else None


def progress_table(report: Mapping[str, Any], scope: str | None = None) -> ProgressTable:
    """The form's rows from scoring's ``/progress``, one per unit by name, and the total row."""
    units = [u for u in report.get("units", ()) if scope is None or u["unit"] == scope]
    units.sort(key=lambda u: unit_label(u["unit"], u.get("unit_name")))
    rows = [
        ProgressRow(str(i), u["unit"], unit_label(u["unit"], u.get("unit_name")), _ints(u))
        for i, u in enumerate(units, 1)
    ]
    total = {k: sum(r.cells[k] for r in rows) for k in COLUMN_KEYS}
    return ProgressTable(rows, ProgressRow("", None, "Tổng cộng", total))


def _ints(row: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(row.get(k) or 0) for k in COLUMN_KEYS}


@dataclass(frozen=True)
class MonthRow:
    month: date
    early: int
    on_time: int
    late: int

    @property
    def label(self) -> str:
        return f"Tháng {self.month.month}"

    @property
    def short(self) -> str:
        return f"T{self.month.month}"

    @property
    def total(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def rate(self) -> float | None:
        return (self.early + self.on_time) / self.total if self.total else None

    def period(self) -> Period:
        return Period("month", self.month)


def month_rows(report: Mapping[str, Any]) -> list[MonthRow]:
    return [
        MonthRow(date.fromisoformat(m["month"]), int(m["early"]), int(m["on_time"]), int(m["late"]))
        for m in report.get("months", ())
    ]


@dataclass(frozen=True)
class IndicatorCell:
    key: str
    name: str
    max_points: float
    points: float | None
    numerator: int
    denominator: int
    status: str
    note: str | None = None


@dataclass(frozen=True)
class RankRow:
    rank: int | None  # None: not ranked (nothing to judge in the period)
    unit: str
    name: str
    points: float | None
    available: float | None
    percent: float | None
    on_time_rate: float | None
    dossiers: int
    indicators: list[IndicatorCell] = field(default_factory=list)
    reason: str | None = None


def _indicators(items: Sequence[Mapping[str, Any]]) -> list[IndicatorCell]:
    return [
        IndicatorCell(
            i["key"],
            i["name_vi"],
            float(i["max_points"]),
            None if i.get("points") is None else float(i["points"]),
            int(i.get("numerator") or 0),
            int(i.get("denominator") or 0),
            str(i.get("status") or "measured"),
            i.get("note"),
        )
        for i in items
    ]


def ranking_rows(report: Mapping[str, Any]) -> list[RankRow]:
    """Scoring's ``/ranking``: the ranked units by rank, then the units not ranked, by name."""
    rows = [
        RankRow(
            int(r["rank"]),
            r["unit"],
            unit_label(r["unit"], r.get("unit_name")),
            float(r["points"]),
            float(r["available"]),
            float(r["percent"]),
            None if r.get("on_time_rate") is None else float(r["on_time_rate"]),
            int(r.get("dossiers") or 0),
            _indicators(r.get("indicators", ())),
        )
        for r in sorted(report.get("ranking", ()), key=lambda r: int(r["rank"]))
    ]
    unranked = [
        RankRow(
            None,
            u["unit"],
            unit_label(u["unit"], u.get("unit_name")),
            None,
            None,
            None,
            None,
            0,
            _indicators(u.get("indicators", ())),
            u.get("reason"),
        )
        for u in report.get("not_ranked", ())
    ]
    return rows + sorted(unranked, key=lambda r: r.name)


def percent(rate: float | None) -> str:
    """``87,5 %`` (``87.5 %`` in English), or an en dash when there is nothing to divide."""
    if rate is None:
        return "–"
    return i18n.number_text(100 * rate, 1) + " %"


def number(value: float | None, digits: int = 2) -> str:
    """Per the page's locale (Babel): ``12,50`` in Vietnamese, ``12.50`` in English."""
    if value is None:
        return "–"
    return i18n.number_text(value, digits)
