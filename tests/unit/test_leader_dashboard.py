"""The leader dashboard's parts without a server: the progress report's cells (scoring's domain),
the tables built from scoring's JSON, the Excel files, and the pages over a stubbed scoring."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from uuid import uuid4

import httpx
import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.progress import CELLS, TOTALS, cells_of, in_cell, monthly, tabulate
from services.web import excel
from services.web.dashboard import COLUMN_KEYS, Period, month_rows, progress_table, ranking_rows
from tests.web_login import sign_in, web_with_identity

BEGIN = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 5, 10, tzinfo=UTC)


def _facts(**kw: Any) -> DossierFacts:
    base: dict[str, Any] = {
        "dossier_id": uuid4(),
        "dossier_code": f"X-{uuid4().hex[:6]}",
        "outcome": "received",
        "department_code": "STP",
        "receiving_point": "TTPVHCC",
        "channel_kind": "desk",
        "received_at": BEGIN + timedelta(days=3),
        "registered_at": BEGIN + timedelta(days=3),
    }
    return DossierFacts(**{**base, **kw})


def _done(at: datetime, timeliness: str | None = "on_time", kind: str = "decided") -> dict[str, Any]:
    return {"finished_at": at, "finish_kind": kind, "timeliness": timeliness}


@pytest.mark.parametrize(
    ("facts", "cells"),
    [
        (_facts(), ("received_desk", "in_progress_on_time")),
        (_facts(channel_kind="online_full"), ("received_online", "in_progress_on_time")),
        (_facts(channel_kind="post", late=True), ("received_post", "in_progress_overdue")),
        (_facts(paused=True), ("received_desk", "paused")),
        (_facts(paused=True, late=True), ("received_desk", "in_progress_overdue")),  # late shows first
        (_facts(received_at=BEGIN - timedelta(days=9)), ("carried_over", "in_progress_on_time")),
        (
            _facts(received_at=BEGIN - timedelta(days=9), **_done(BEGIN + timedelta(days=1), "late")),
            ("carried_over", "resolved_late"),
        ),
        (_facts(**_done(BEGIN + timedelta(days=5), "early")), ("received_desk", "resolved_early")),
        (_facts(**_done(BEGIN + timedelta(days=5), None, "withdrawn")), ("received_desk", "stopped")),
        # finished after the period: still in progress in this period's report
        (_facts(**_done(END + timedelta(days=5))), ("received_desk", "in_progress_on_time")),
        (_facts(received_at=BEGIN - timedelta(days=9), **_done(BEGIN - timedelta(days=1))), None),
        (_facts(received_at=END + timedelta(days=1)), None),
        (_facts(outcome="refused"), None),
    ],
)
def test_each_dossier_falls_in_one_received_and_one_state_cell(
    facts: DossierFacts, cells: tuple[str, str] | None
) -> None:
    assert cells_of(facts, BEGIN, END, NOW) == cells


def test_a_running_period_is_judged_now_and_the_totals_drill_down_to_their_cells() -> None:
    late_later = _facts(**_done(BEGIN + timedelta(days=20), "late"))
    now = BEGIN + timedelta(days=10)  # the period runs; the dossier is not finished yet at now
    assert cells_of(late_later, BEGIN, END, now) == ("received_desk", "in_progress_on_time")
    assert in_cell(late_later, "in_progress_total", BEGIN, END, now)
    assert in_cell(late_later, "received_total", BEGIN, END, NOW)
    assert in_cell(late_later, "resolved_total", BEGIN, END, NOW)
    assert not in_cell(late_later, "received_online", BEGIN, END, NOW)


_CHANNELS = st.sampled_from(["desk", "online_partial", "online_full", "post", None])
_OFFSETS = st.integers(min_value=-40, max_value=70)


@given(
    st.lists(
        st.tuples(
            _CHANNELS,
            _OFFSETS,
            st.one_of(st.none(), _OFFSETS),
            st.sampled_from(["early", "on_time", "late"]),
            st.booleans(),
            st.booleans(),
        ),
        max_size=25,
    )
)
def test_every_row_balances_and_every_number_drills_down_to_that_many_dossiers(rows: list[Any]) -> None:
    facts = []
    for channel, received, finished, timeliness, late, paused in rows:
        done = (
            {}
            if finished is None or finished < received
            else _done(BEGIN + timedelta(days=finished), timeliness)
        )
        facts.append(
            _facts(
                channel_kind=channel,
                received_at=BEGIN + timedelta(days=received),
                late=late,
                paused=paused,
                **done,
            )
        )
    table = tabulate((("STP", f) for f in facts), BEGIN, END, NOW)
    for row in table.values():
        assert row["received_total"] == row["resolved_total"] + row["stopped"] + row["in_progress_total"]
        for counter in (*CELLS, *TOTALS):
            behind = [f for f in facts if in_cell(f, counter, BEGIN, END, NOW)]
            assert len(behind) == row[counter], counter


def test_monthly_counts_decided_dossiers_in_the_month_they_finished_up_to_now() -> None:
    facts = [
        _facts(**_done(datetime(2026, 1, 15, tzinfo=UTC), "early")),
        _facts(**_done(datetime(2026, 1, 20, tzinfo=UTC), "late")),
        _facts(**_done(datetime(2026, 3, 2, tzinfo=UTC), "on_time")),
        _facts(**_done(datetime(2026, 3, 3, tzinfo=UTC), None, "withdrawn")),  # not decided
        _facts(**_done(datetime(2025, 12, 31, 12, tzinfo=UTC), "late")),  # last year (local time too)
    ]
    rows = monthly(facts, 2026, datetime(2026, 3, 10, tzinfo=UTC))
    assert [r["month"] for r in rows] == ["2026-01-01", "2026-02-01", "2026-03-01"]  # no future months
    assert [(r["early"], r["on_time"], r["late"]) for r in rows] == [(1, 0, 1), (0, 0, 0), (0, 1, 0)]


# -- the web's tables ---------------------------------------------------------------------------


def _row(unit: str, name: str | None, **cells: int) -> dict[str, Any]:
    values = {k: 0 for k in COLUMN_KEYS} | cells
    values["received_total"] = sum(values[k] for k in TOTALS["received_total"])
    values["resolved_total"] = sum(values[k] for k in TOTALS["resolved_total"])
    values["in_progress_total"] = sum(values[k] for k in TOTALS["in_progress_total"])
    return {"unit": unit, "unit_name": name, **values}


PROGRESS = {
    "computed_at": "2026-03-17T03:00:00+00:00",
    "units": [
        _row("STP", "Sở Tư pháp", received_desk=3, carried_over=1, resolved_early=2, in_progress_overdue=2),
        _row("STC", "Sở Tài chính", received_online=2, resolved_late=1, paused=1),
        _row("GONE", None, received_post=1, stopped=1),
    ],
}


def test_the_progress_table_names_units_sums_a_total_and_narrows_to_a_scope() -> None:
    table = progress_table(PROGRESS)
    assert [r.name for r in table.rows] == [
        "GONE (đơn vị không còn trong danh mục)",
        "Sở Tài chính",
        "Sở Tư pháp",
    ]
    assert table.total.cells["received_total"] == 7 and table.total.cells["resolved_total"] == 3
    assert table.on_time_rate == pytest.approx(2 / 3)
    own = progress_table(PROGRESS, scope="STP")
    assert [r.unit for r in own.rows] == ["STP"] and own.total.cells["in_progress_overdue"] == 2


def test_periods_are_named_as_the_reports_name_them() -> None:
    q = Period.of("quarter", date(2026, 11, 17))
    assert (q.label, q.span) == ("Quý IV/2026", "từ ngày 01/10/2026 đến ngày 31/12/2026")
    assert q.shifted(1) == Period("quarter", date(2027, 1, 1))
    assert Period.of("month", date(2026, 2, 9)).last_day == date(2026, 2, 28)
    assert [p.label for p in Period.of("year", date(2026, 5, 1)).choices(date(2026, 5, 1), 3)] == [
        "Năm 2026",
        "Năm 2025",
        "Năm 2024",
    ]


HEAD = excel.Letterhead("Ủy ban nhân dân tỉnh", "Sở Tư pháp", "Sở Tư pháp", datetime(2026, 3, 17, 10, 5))


def _cells(data: bytes) -> tuple[Any, dict[str, tuple[int, int]]]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    where = {str(c.value): (c.row, c.column) for row in ws.iter_rows() for c in row if c.value is not None}
    return ws, where


def test_the_progress_workbook_has_the_forms_letterhead_headers_and_numbers() -> None:
    table = progress_table(PROGRESS)
    ws, where = _cells(excel.progress_workbook(table, Period.of("month", date(2026, 3, 5)), HEAD))
    assert ws["A1"].value == "ỦY BAN NHÂN DÂN TỈNH" and ws["A2"].value == "SỞ TƯ PHÁP"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in where and "Độc lập - Tự do - Hạnh phúc" in where
    assert excel.PROGRESS_TITLE in where
    assert "Kỳ báo cáo: Tháng 03/2026 (từ ngày 01/03/2026 đến ngày 31/03/2026)" in where
    for header in (
        "Số hồ sơ nhận giải quyết",
        "Trong đó: số kỳ trước chuyển qua",
        "Trả trước hạn",
        "Trả quá hạn",
        "Tạm dừng (chờ bổ sung)",
        "Qua dịch vụ bưu chính công ích",
        "(3)=(4)+(5)+(6)+(7)",
    ):
        assert header in where, header
    # the header's group spans its five columns; data rows are numbers under their headers
    top, col = where["Số hồ sơ nhận giải quyết"]
    assert f"{ws.cell(top, col).coordinate}:{ws.cell(top, col + 4).coordinate}" in str(ws.merged_cells)
    stp_row = where["Sở Tư pháp"][0]
    values = [ws.cell(stp_row, c).value for c in range(3, 3 + len(COLUMN_KEYS))]
    assert values == next(r for r in table.rows if r.unit == "STP").values()
    total_row = where["Tổng cộng"][0]
    assert ws.cell(total_row, 3).value == 7 and isinstance(ws.cell(total_row, 3).value, int)
    assert "THỦ TRƯỞNG ĐƠN VỊ" in where and "NGƯỜI LẬP BIỂU" in where
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$9:$12"


RANKING = {
    "computed_at": "2026-03-17T03:00:00+00:00",
    "ranking": [
        {
            "rank": 1,
            "unit": "STP",
            "unit_name": "Sở Tư pháp",
            "points": 42.0,
            "available": 42.0,
            "percent": 100.0,
            "on_time_rate": 1.0,
            "dossiers": 3,
            "indicators": [
                {
                    "key": "progress",
                    "name_vi": "Tiến độ giải quyết",
                    "max_points": 20,
                    "points": 20.0,
                    "numerator": 3,
                    "denominator": 3,
                    "status": "measured",
                },
                {
                    "key": "satisfaction",
                    "name_vi": "Mức độ hài lòng",
                    "max_points": 18,
                    "points": None,
                    "numerator": 0,
                    "denominator": 0,
                    "status": "not_measured",
                    "note": "x",
                },
            ],
        }
    ],
    "not_ranked": [{"unit": "STC", "unit_name": "Sở Tài chính", "reason": "no dossiers", "indicators": []}],
}
MONTHS = {
    "computed_at": "2026-03-17T03:00:00+00:00",
    "year": 2026,
    "months": [
        {"month": "2026-01-01", "early": 2, "on_time": 1, "late": 1},
        {"month": "2026-02-01", "early": 0, "on_time": 0, "late": 0},
        {"month": "2026-03-01", "early": 1, "on_time": 0, "late": 0},
    ],
}


def test_the_ranking_and_monthly_workbooks_carry_the_pages_numbers() -> None:
    ws, where = _cells(
        excel.ranking_workbook(ranking_rows(RANKING), Period.of("month", date(2026, 3, 1)), HEAD)
    )
    row = where["Sở Tư pháp"][0]
    assert [ws.cell(row, c).value for c in (1, 3, 4, 5, 6, 10)] == [1, 42, 42, 100, 20, "Chưa đo được"]
    assert ws.cell(where["Sở Tài chính"][0], 1).value == "Không xếp hạng"
    ws, where = _cells(excel.months_workbook(month_rows(MONTHS), Period.of("year", date(2026, 3, 1)), HEAD))
    january = where["Tháng 1"][0]
    assert [ws.cell(january, c).value for c in range(3, 8)] == [4, 2, 1, 1, 75.0]
    year = where["Cả năm"][0]
    assert [ws.cell(year, c).value for c in range(3, 8)] == [5, 3, 1, 1, 80.0]


# -- the pages, over a stubbed scoring ------------------------------------------------------------

PASSWORD = "mat-khau-thu"
SEEN: list[tuple[str, dict[str, list[str]]]] = []


def _scoring(request: httpx.Request) -> httpx.Response:
    query = parse_qs(request.url.query.decode())
    SEEN.append((request.url.path, query))
    if query.get("period") == ["day"]:
        return httpx.Response(
            422, json={"error": {"code": "unknown_period", "message": {"vi": "v", "en": "e"}}}
        )
    if request.url.path == "/progress":
        return httpx.Response(200, json=PROGRESS)
    if request.url.path == "/progress/months":
        return httpx.Response(200, json=MONTHS)
    if request.url.path == "/ranking":
        return httpx.Response(200, json=RANKING)
    if request.url.path == "/progress/dossiers":
        return httpx.Response(
            200,
            json={
                "dossiers": [
                    json.loads(json.dumps(_facts(dossier_code="D-1").row(), default=str))
                    | {"department_name": "Sở Tư pháp"}
                ],
                "not_shown": 2,
            },
        )
    return httpx.Response(404, json={"error": {"code": "not_found", "message": {"vi": "v", "en": "e"}}})


@pytest.fixture
async def web() -> Any:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "scoring": httpx.MockTransport(_scoring),
    }
    app = web_with_identity(transports, PASSWORD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        SEEN.clear()
        yield client


async def _sign_in(web: httpx.AsyncClient, user: str) -> None:
    signed = await sign_in(web, user, PASSWORD)
    assert signed.status_code == 303, signed.text


async def test_a_department_leader_sees_their_unit_with_charts_tables_and_drill_down_links(
    web: httpx.AsyncClient,
) -> None:
    await _sign_in(web, "lanhdao.stp")
    page = await web.get("/leader", params={"period": "quarter", "start": "2026-02-10"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "Quý I/2026" in html and "Sở Tư pháp" in html
    # the progress table shows the leader's own department only (the ranking shows every unit)
    assert re.findall(r'<tr data-unit="(\w+)">\s*<td>', html) == ["STP"]
    assert ("/progress", {"period": ["quarter"], "start": ["2026-01-01"], "unit": ["STP"]}) in SEEN
    assert ("/ranking", {"period": ["quarter"], "start": ["2026-01-01"]}) in SEEN
    # charts are server-side SVG images with a name, no script anywhere
    assert html.count('<svg role="img" aria-label="') == 3
    scripts = re.findall(r"<script[^>]*>", html)  # htmx on every page, and no charting script
    assert scripts == ['<script src="/static/vendor/htmx-2.0.11.min.js" defer>'], scripts
    link = "/leader/dossiers?counter=in_progress_overdue&amp;period=quarter&amp;start=2026-01-01&amp;unit=STP"
    assert link in html
    # the monthly table beside its chart: January's numbers drill down to January
    assert "/leader/dossiers?counter=resolved_early&amp;period=month&amp;start=2026-01-01" in html


async def test_the_centres_leader_sees_every_department(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "lanhdao.tthcc")
    page = await web.get("/leader")
    assert page.status_code == 200
    assert len(re.findall(r'<tr data-unit="(\w+)">\s*<td>', page.text)) == 3
    assert all("unit" not in q for path, q in SEEN if path == "/progress")


async def test_drill_down_lists_the_dossiers_and_says_how_many_are_not_shown(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "lanhdao.stp")
    page = await web.get("/leader/dossiers", params={"counter": "resolved_early", "period": "month"})
    assert page.status_code == 200, page.text
    assert 'href="/officer/dossiers/D-1"' in page.text and "2 hồ sơ của đơn vị khác" in page.text
    other = await web.get("/leader/dossiers", params={"counter": "resolved_early", "unit": "STC"})
    assert other.status_code == 403 and "other_unit_figures" in other.text


async def test_each_report_downloads_as_an_excel_file(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "lanhdao.tthcc")
    for report in ("progress", "ranking", "months"):
        response = await web.get(
            f"/leader/export/{report}.xlsx", params={"period": "month", "start": "2026-03-09"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == excel.MIME
        assert "attachment" in response.headers["content-disposition"]
        openpyxl.load_workbook(io.BytesIO(response.content))


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/leader", {"period": "week"}, 422, "period_invalid"),
        ("/leader", {"start": "17/03/2026"}, 422, "period_invalid"),
        ("/leader", {"start": "1900-01-01"}, 422, "period_invalid"),
        ("/leader/export/secrets.xlsx", {}, 404, "not_found"),
        ("/leader/dossiers", {}, 422, "invalid_input"),
    ],
)
async def test_bad_dashboard_input_is_a_4xx_page_with_its_code(
    web: httpx.AsyncClient, path: str, params: dict[str, str], status: int, code: str
) -> None:
    await _sign_in(web, "lanhdao.stp")
    response = await web.get(path, params=params)
    assert response.status_code == status and code in response.text


async def test_a_desk_officer_has_no_dashboard(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "tiepnhan")
    assert (await web.get("/leader")).status_code == 403
    assert (await web.get("/leader/export/progress.xlsx")).status_code == 403
