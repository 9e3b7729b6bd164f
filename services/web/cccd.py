"""The QR code on the back of a chip-based citizen ID card (CCCD), as a desk scanner types it.

One line, fields separated by ``|``: ``ID|old ID|full name|DDMMYYYY birth|sex|address|DDMMYYYY
issue date``. The old (9-digit CMND) ID is often empty. The ID is checked for its structure
only — 12 ASCII digits, whose first three are a province code (001–096) — because the checksum
the Ministry uses is not published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_ID = re.compile(r"^[0-9]{12}$")
_DATE = re.compile(r"^[0-9]{8}$")
MAX_LINE = 1000


class CccdLineInvalid(ValueError):
    def __init__(self, code: str, vi: str, en: str) -> None:
        super().__init__(en)
        self.code = code
        self.vi = vi
        self.en = en


@dataclass(frozen=True)
class CccdCard:
    citizen_id: str
    old_id: str | None
    full_name: str
    date_of_birth: date
    sex: str
    address: str
    issued_on: date | None


def parse_cccd_line(line: str) -> CccdCard:
    text = line.strip()
    if len(text) > MAX_LINE:
        raise CccdLineInvalid("cccd_line_too_long", "Dòng mã QR quá dài", "The QR line is too long")
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 7:
        raise CccdLineInvalid(
            "cccd_line_malformed",
            "Dòng mã QR CCCD phải có 7 trường ngăn cách bởi dấu |",
            "A CCCD QR line has 7 fields separated by |",
        )
    citizen_id, old_id, name, birth, sex, address, issued = parts[:7]
    if not _ID.match(citizen_id) or not 1 <= int(citizen_id[:3]) <= 96:
        raise CccdLineInvalid(
            "cccd_invalid_id",
            "Số CCCD phải gồm 12 chữ số, bắt đầu bằng mã tỉnh (001–096)",
            "The CCCD number must be 12 digits starting with a province code (001–096)",
        )
    if not name or not address:
        raise CccdLineInvalid(
            "cccd_line_malformed", "Thiếu họ tên hoặc nơi thường trú", "The name or the address is missing"
        )
    born = _date(birth, "Ngày sinh", "date of birth")
    if born is None:
        raise CccdLineInvalid("cccd_invalid_date", "Thiếu ngày sinh", "The date of birth is missing")
    return CccdCard(
        citizen_id=citizen_id,
        old_id=old_id or None,
        full_name=name,
        date_of_birth=born,
        sex=sex,
        address=address,
        issued_on=_date(issued, "Ngày cấp", "date of issue"),
    )


def _date(text: str, what_vi: str, what_en: str) -> date | None:
    if not text:
        return None
    if not _DATE.match(text):
        raise CccdLineInvalid(
            "cccd_invalid_date", f"{what_vi} phải có dạng DDMMYYYY", f"The {what_en} must be DDMMYYYY"
        )
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        raise CccdLineInvalid(
            "cccd_invalid_date",
            f"{what_vi} không phải là một ngày có thật",
            f"The {what_en} is not a real date",
        ) from None
