"""How the pages write times, dates, numbers and QR codes: Vietnamese conventions on Vietnamese
pages (and always on the printed forms), English ones on English pages, through Babel."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import segno
from babel.dates import format_date

from services.web import i18n

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
    return i18n.moment_text(moment, "long")


def short_time(value: str | datetime | None) -> str:
    """``08:05 17/03/2026`` (``17 Mar 2026, 08:05``) in local time, for tables."""
    moment = parse_instant(value)
    if moment is None:
        return ""
    return i18n.moment_text(moment, "short")


def local_date(value: str | datetime | None) -> date:
    """The local calendar day of a moment (today for none): the forms' "ngày ... tháng ... năm"."""
    moment = parse_instant(value)
    return (moment or datetime.now(LOCAL)).astimezone(LOCAL).date()


def clock_time(value: str | datetime | None) -> str:
    """``08:05:09`` in local time: when a table that refreshes itself was read."""
    moment = parse_instant(value)
    if moment is None:
        return ""
    return i18n.moment_text(moment, "clock")


def day(value: date | None) -> str:
    """``17/03/2026`` (``17 Mar 2026``)."""
    if value is None:
        return ""
    return format_date(value, i18n.DAY_PATTERNS[i18n.current()], locale=i18n.current())


def number(value: float | None, digits: int = 0) -> str:
    """``1.234,5`` on Vietnamese pages, ``1,234.5`` on English ones; an en dash for nothing."""
    return "–" if value is None else i18n.number_text(value, digits)


def qr_svg(text: str, title: str) -> str:
    """An inline SVG QR code (no image file, no network), its content repeated as its title; the
    quiet zone is the standard 4 modules, which phone cameras need."""
    qr = segno.make(text, error="m")
    svg: str = qr.svg_inline(scale=4, border=4, title=title, svgclass="qr", lineclass=None)
    return svg
