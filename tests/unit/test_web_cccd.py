"""The CCCD card's QR line as a desk scanner types it: parsed, and its ID's structure checked."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.web.cccd import CccdLineInvalid, parse_cccd_line

LINE = "001190012345|012345678|Trần Thị Bích Ngọc|15031990|Nữ|Số 12 Phố Huế, Hà Nội|01072021"


def test_a_scanned_line_gives_the_applicant() -> None:
    card = parse_cccd_line(LINE + "\n")
    assert card.citizen_id == "001190012345"
    assert card.old_id == "012345678"
    assert card.full_name == "Trần Thị Bích Ngọc"
    assert card.date_of_birth == date(1990, 3, 15)
    assert card.sex == "Nữ"
    assert card.address == "Số 12 Phố Huế, Hà Nội"
    assert card.issued_on == date(2021, 7, 1)


def test_the_old_id_and_the_issue_date_may_be_empty() -> None:
    card = parse_cccd_line("079190001234||Đỗ Thị Mai|01011990|Nữ|3 Lý Thường Kiệt|")
    assert card.old_id is None and card.issued_on is None


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("001190012345|Trần Thị|15031990", "cccd_line_malformed"),
        ("00119001234|x|Tên|15031990|Nam|Địa chỉ|01072021", "cccd_invalid_id"),  # 11 digits
        ("0011900123456|x|Tên|15031990|Nam|Địa chỉ|01072021", "cccd_invalid_id"),  # 13 digits
        ("٠٠١١٩٠٠١٢٣٤٥|x|Tên|15031990|Nam|Địa chỉ|01072021", "cccd_invalid_id"),  # not ASCII digits
        ("000190012345|x|Tên|15031990|Nam|Địa chỉ|01072021", "cccd_invalid_id"),  # no province 000
        ("099190012345|x|Tên|15031990|Nam|Địa chỉ|01072021", "cccd_invalid_id"),  # no province 099
        ("001190012345|x|Tên|31021990|Nam|Địa chỉ|01072021", "cccd_invalid_date"),
        ("001190012345|x|Tên|1990-03-15|Nam|Địa chỉ|01072021", "cccd_invalid_date"),
        ("001190012345|x||15031990|Nam|Địa chỉ|01072021", "cccd_line_malformed"),
        ("001190012345|x|Tên|15031990|Nam|Địa chỉ|" + "1" * 2000, "cccd_line_too_long"),
    ],
)
def test_a_bad_line_is_refused_with_a_reason(line: str, code: str) -> None:
    with pytest.raises(CccdLineInvalid) as refused:
        parse_cccd_line(line)
    assert refused.value.code == code and refused.value.vi and refused.value.en


@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_never_crashes(text: str) -> None:
    with contextlib.suppress(CccdLineInvalid):
        parse_cccd_line(text)
