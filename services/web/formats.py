"""How the pages write times, dates, durations and QR codes (Vietnamese conventions)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import segno

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def parse_instant(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def form_time(value: str | datetime | None) -> str:
    """The forms' wording (Circular 03/2025 Annex I): ``08 giờ 05 phút, ngày 17/03/2026``."""
    moment = parse_instant(value)
    if moment is None:
        return ""
    local = moment.astimezone(LOCAL)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def short_time(value: str | datetime | None) -> str:
    """``08:05 17/03/2026`` in local time, for tables."""
    moment = parse_instant(value)
    if moment is None:
        return ""
    return f"{moment.astimezone(LOCAL):%H:%M %d/%m/%Y}"


def local_date(value: str | datetime | None) -> date:
    """The local calendar day of a moment (today for none): the forms' "ngày ... tháng ... năm"."""
    moment = parse_instant(value)
    return (moment or datetime.now(LOCAL)).astimezone(LOCAL).date()


def clock_time(value: str | datetime | None) -> str:
    """``08:05:09`` in local time: when a table that refreshes itself was read."""
    moment = parse_instant(value)
    if moment is None:
        return ""
    return f"{moment.astimezone(LOCAL):%H:%M:%S}"


def day(value: date | None) -> str:
    return "" if value is None else f"{value:%d/%m/%Y}"


def qr_svg(text: str, title: str) -> str:
    """An inline SVG QR code (no image file, no network), its content repeated as its title; the
    quiet zone is the standard 4 modules, which phone cameras need."""
    qr = segno.make(text, error="m")
    svg: str = qr.svg_inline(scale=4, border=4, title=title, svgclass="qr", lineclass=None)
    return svg
