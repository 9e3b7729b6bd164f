"""The dashboard's reports as Excel workbooks in the layout a province sends upward.

Each sheet opens like the paper form: the superior body and the reporting unit on the left, the
national motto on the right, the report's title, its period and the moment its figures were
read, the form's header rows with its column numbers, one row per unit by name, a total row,
then the place, date and signature blocks. Numbers are numbers (not text), so the receiving
office can add them up.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.web.dashboard import (
    COLUMN_NUMBERS,
    PROGRESS_HEADER,
    HeaderCell,
    MonthRow,
    Period,
    ProgressTable,
    RankRow,
)

FONT = "Times New Roman"
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Letterhead:
    """Who reports: the superior body (``ỦY BAN NHÂN DÂN TỈNH``) and the reporting unit."""

    superior: str
    unit: str
    scope: str  # what the figures cover: a department's name, or all departments
    read_at: datetime  # when scoring computed the figures (local time)


def _font(bold: bool = False, size: float = 12, italic: bool = False) -> Font:
    return Font(name=FONT, bold=bold, size=size, italic=italic)


def _put(ws: Worksheet, row: int, col: int, value: object, **style: object) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    for name, v in style.items():
        setattr(cell, name, v)


def _merged(ws: Worksheet, row: int, first: int, last: int, value: object, font: Font) -> None:
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    _put(ws, row, first, value, font=font, alignment=CENTER)


def _letterhead(ws: Worksheet, head: Letterhead, width: int, title: str, period: Period) -> int:
    """Writes the top of the form; returns the first free row."""
    left_end = max(2, width // 3)
    _merged(ws, 1, 1, left_end, head.superior.upper(), _font(size=12))
    _merged(ws, 1, left_end + 1, width, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", _font(bold=True))
    _merged(ws, 2, 1, left_end, head.unit.upper(), _font(bold=True))
    _merged(ws, 2, left_end + 1, width, "Độc lập - Tự do - Hạnh phúc", _font(bold=True))
    _merged(ws, 4, 1, width, title, _font(bold=True, size=14))
    _merged(ws, 5, 1, width, f"Kỳ báo cáo: {period.label} ({period.span})", _font(italic=True))
    _merged(ws, 6, 1, width, f"Phạm vi: {head.scope}", _font(italic=True))
    _merged(
        ws,
        7,
        1,
        width,
        f"Số liệu tính đến {head.read_at:%H} giờ {head.read_at:%M} phút, ngày {head.read_at:%d/%m/%Y}",
        _font(italic=True, size=11),
    )
    return 9


def _signatures(ws: Worksheet, row: int, width: int, head: Letterhead) -> None:
    left_end = max(2, width // 3)
    day = head.read_at
    _merged(
        ws, row, left_end + 1, width, f"……, ngày {day:%d} tháng {day:%m} năm {day:%Y}", _font(italic=True)
    )
    _merged(ws, row + 1, 1, left_end, "NGƯỜI LẬP BIỂU", _font(bold=True))
    _merged(ws, row + 1, left_end + 1, width, "THỦ TRƯỞNG ĐƠN VỊ", _font(bold=True))
    _merged(ws, row + 2, 1, left_end, "(Ký, ghi rõ họ tên)", _font(italic=True, size=11))
    _merged(ws, row + 2, left_end + 1, width, "(Ký, ghi rõ họ tên, đóng dấu)", _font(italic=True, size=11))


def _header(ws: Worksheet, top: int, cells: Sequence[HeaderCell], numbers: Sequence[str]) -> int:
    """The form's header rows and its column-number row; returns the first data row."""
    depth = 1 + max(c.row for c in cells)
    for c in cells:
        r, col = top + c.row, 1 + c.col
        if c.rowspan > 1 or c.colspan > 1:
            ws.merge_cells(
                start_row=r, start_column=col, end_row=r + c.rowspan - 1, end_column=col + c.colspan - 1
            )
        _put(ws, r, col, c.text, font=_font(bold=True, size=11), alignment=CENTER, fill=HEAD_FILL)
        for rr in range(r, r + c.rowspan):
            for cc in range(col, col + c.colspan):
                ws.cell(row=rr, column=cc).border = BOX
    for i, text in enumerate(numbers, 1):
        _put(ws, top + depth, i, text, font=_font(italic=True, size=10), alignment=CENTER, border=BOX)
    return top + depth + 1


def _data_row(ws: Worksheet, row: int, values: Sequence[object], bold: bool = False) -> None:
    for i, value in enumerate(values, 1):
        align = LEFT if isinstance(value, str) and i == 2 else CENTER
        _put(ws, row, i, value, font=_font(bold=bold, size=11), alignment=align, border=BOX)


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _landscape(ws: Worksheet, header_top: int, first_data_row: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_top}:{first_data_row - 1}"  # the header on every printed page
    ws.freeze_panes = ws.cell(row=first_data_row, column=3)


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


PROGRESS_TITLE = "BÁO CÁO TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"


def progress_workbook(table: ProgressTable, period: Period, head: Letterhead) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has its first sheet
    ws.title = "Tiến độ giải quyết"
    width = len(COLUMN_NUMBERS)
    top = _letterhead(ws, head, width, PROGRESS_TITLE, period)
    row = _header(ws, top, PROGRESS_HEADER, COLUMN_NUMBERS)
    first = row
    for r in table.rows:
        _data_row(ws, row, [int(r.number), r.name, *r.values()])
        row += 1
    _data_row(ws, row, ["", table.total.name, *table.total.values()], bold=True)
    _widths(ws, [6, 34, *([11] * (width - 2))])
    ws.row_dimensions[top + 1].height = 45
    ws.row_dimensions[top + 2].height = 45
    _landscape(ws, top, first)
    _signatures(ws, row + 2, width, head)
    return _save(wb)


RANKING_HEADER: tuple[HeaderCell, ...] = (
    HeaderCell(0, 0, "Xếp hạng", rowspan=2),
    HeaderCell(0, 1, "Đơn vị", rowspan=2),
    HeaderCell(0, 2, "Điểm đạt", rowspan=2),
    HeaderCell(0, 3, "Điểm tối đa có thể đạt", rowspan=2),
    HeaderCell(0, 4, "Tỷ lệ điểm (%)", rowspan=2),
    HeaderCell(0, 5, "Điểm theo nhóm chỉ tiêu (Quyết định 766/QĐ-TTg)", colspan=5),
    HeaderCell(0, 10, "Số hồ sơ được đánh giá", rowspan=2),
    HeaderCell(1, 5, "Tiến độ giải quyết (20)"),
    HeaderCell(1, 6, "Dịch vụ trực tuyến (12)"),
    HeaderCell(1, 7, "Thanh toán trực tuyến (10)"),
    HeaderCell(1, 8, "Số hóa hồ sơ (22)"),
    HeaderCell(1, 9, "Mức độ hài lòng (18)"),
)
RANKING_NUMBERS = tuple(f"({i})" for i in range(1, 12))


def ranking_workbook(rows: Sequence[RankRow], period: Period, head: Letterhead) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Chỉ số 766"
    width = len(RANKING_NUMBERS)
    top = _letterhead(ws, head, width, "KẾT QUẢ ĐÁNH GIÁ CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP", period)
    row = _header(ws, top, RANKING_HEADER, RANKING_NUMBERS)
    first = row
    for r in rows:
        points = {
            i.key: (i.points if i.status == "measured" else _status_text(i.status)) for i in r.indicators
        }
        _data_row(
            ws,
            row,
            [
                r.rank if r.rank is not None else "Không xếp hạng",
                r.name,
                r.points,
                r.available,
                r.percent,
                *(
                    points.get(k)
                    for k in (
                        "progress",
                        "online_submission",
                        "online_payment",
                        "digitisation",
                        "satisfaction",
                    )
                ),
                r.dossiers,
            ],
        )
        row += 1
    _widths(ws, [10, 34, 10, 12, 10, 13, 13, 13, 13, 13, 12])
    ws.row_dimensions[top + 1].height = 45
    _landscape(ws, top, first)
    _merged(
        ws,
        row + 1,
        1,
        width,
        "Ghi chú: chỉ tiêu không có hồ sơ trong kỳ hoặc chưa đo được không tính vào điểm tối đa.",
        _font(italic=True, size=10),
    )
    _signatures(ws, row + 3, width, head)
    return _save(wb)


def _status_text(status: str) -> str:
    return {"not_applicable": "Không có hồ sơ", "not_measured": "Chưa đo được"}.get(status, status)


MONTHS_HEADER: tuple[HeaderCell, ...] = (
    HeaderCell(0, 0, "STT", rowspan=2),
    HeaderCell(0, 1, "Tháng", rowspan=2),
    HeaderCell(0, 2, "Số hồ sơ đã giải quyết", colspan=4),
    HeaderCell(0, 6, "Tỷ lệ đúng hạn (%)", rowspan=2),
    HeaderCell(1, 2, "Tổng số"),
    HeaderCell(1, 3, "Trả trước hạn"),
    HeaderCell(1, 4, "Trả đúng hạn"),
    HeaderCell(1, 5, "Trả quá hạn"),
)
MONTHS_NUMBERS = ("(1)", "(2)", "(3)=(4)+(5)+(6)", "(4)", "(5)", "(6)", "(7)=((4)+(5))/(3)")


def months_workbook(rows: Sequence[MonthRow], year: Period, head: Letterhead) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"Theo tháng {year.start.year}"
    width = len(MONTHS_NUMBERS)
    top = _letterhead(ws, head, width, "KẾT QUẢ GIẢI QUYẾT HỒ SƠ ĐÚNG HẠN, QUÁ HẠN THEO THÁNG", year)
    row = _header(ws, top, MONTHS_HEADER, MONTHS_NUMBERS)
    first = row
    for i, m in enumerate(rows, 1):
        rate = None if m.rate is None else round(100 * m.rate, 1)
        _data_row(ws, row, [i, m.label, m.total, m.early, m.on_time, m.late, rate])
        row += 1
    total = (sum(m.early for m in rows), sum(m.on_time for m in rows), sum(m.late for m in rows))
    decided = sum(total)
    rate = round(100 * (total[0] + total[1]) / decided, 1) if decided else None
    _data_row(ws, row, ["", "Cả năm", decided, *total, rate], bold=True)
    _widths(ws, [6, 14, 11, 11, 11, 11, 14])
    _landscape(ws, top, first)
    _signatures(ws, row + 2, width, head)
    return _save(wb)
