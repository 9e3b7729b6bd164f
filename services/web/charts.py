"""The dashboard's charts: Vega-Altair specifications rendered to SVG on the server (vl-convert).

No JavaScript reaches the browser: the page gets finished SVG, and beside each chart a table
with the same numbers (the chart is an image to a screen reader; the table is the data).

Rendering runs vl-convert's embedded engine, which is synchronous and takes a few tenths of a
second (seconds for the very first chart of the process), so it runs in one worker thread and
the SVGs are cached by specification: the same numbers are never drawn twice.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.web.dashboard import MonthRow, ProgressTable, RankRow

# Colours with at least 3:1 contrast on white (WCAG 1.4.11), told apart by lightness too.
EARLY, ON_TIME, LATE, PAUSED, NEUTRAL = "#1b5e20", "#4c9a2a", "#b3261e", "#b26a00", "#0b4f9c"
FONT = "Noto Sans, Segoe UI, Roboto, sans-serif"

VI_NUMBERS = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]}

_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
_cache: OrderedDict[str, str] = OrderedDict()
_CACHE_SIZE = 128


def _config() -> dict[str, Any]:
    return {
        "font": FONT,
        "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": "#1a1a1a", "titleColor": "#1a1a1a"},
        "legend": {
            "labelFontSize": 12,
            "titleFontSize": 12,
            "orient": "bottom",
            "labelLimit": 0,
            "columns": 3,
        },
        "view": {"stroke": None},
    }


def _count_axis(title: str, largest: int) -> Any:
    """A count axis: whole numbers only (half a dossier means nothing)."""
    import altair as alt

    return alt.Axis(title=title, format="d", tickCount=max(1, min(largest, 8)))


def months_spec(rows: Sequence[MonthRow]) -> dict[str, Any]:
    """Stacked bars per month: decided early, on time, late."""
    import altair as alt

    kinds = ("Trước hạn", "Đúng hạn", "Quá hạn")
    data = [
        {"thang": m.short, "order": i, "loai": kind, "so_ho_so": n, "k": k}
        for i, m in enumerate(rows)
        for k, (kind, n) in enumerate(zip(kinds, (m.early, m.on_time, m.late), strict=True))
    ]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(
            # the whole year on the axis, months to come left empty: bars keep their width all year
            x=alt.X(
                "thang:N",
                title="Tháng",
                scale=alt.Scale(domain=[f"T{i}" for i in range(1, 13)]),
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y(
                "so_ho_so:Q",
                axis=_count_axis("Số hồ sơ đã giải quyết", max((m.total for m in rows), default=1)),
            ),
            color=alt.Color(
                "loai:N",
                title=None,
                sort=list(kinds),
                scale=alt.Scale(domain=list(kinds), range=[EARLY, ON_TIME, LATE]),
            ),
            order=alt.Order("k:Q"),
        )
        .properties(width=560, height=220)
        .configure(**_config())
    )
    return dict(chart.to_dict())


def ranking_spec(rows: Sequence[RankRow], own: str | None = None) -> dict[str, Any]:
    """Horizontal bars: each ranked unit's share of the 766 points available to it."""
    import altair as alt

    ranked = [r for r in rows if r.rank is not None]
    labels = [f"{r.rank}. {r.name}" for r in ranked]
    data = [
        {"don_vi": label, "ty_le": r.percent, "cua_toi": r.unit == own}
        for label, r in zip(labels, ranked, strict=True)
    ]
    bars = alt.Chart(alt.InlineData(values=data)).encode(
        y=alt.Y("don_vi:N", title=None, sort=labels, axis=alt.Axis(labelLimit=320)),
        x=alt.X("ty_le:Q", title="Tỷ lệ điểm đạt (%)", scale=alt.Scale(domain=[0, 100])),
    )
    chart = (
        alt.layer(
            bars.mark_bar().encode(
                color=alt.condition("datum.cua_toi", alt.value("#08306b"), alt.value(NEUTRAL))
            ),
            bars.mark_text(align="left", dx=4, fontSize=12).encode(text=alt.Text("ty_le:Q", format=".1f")),
        )
        .properties(width=460, height=max(60, 28 * len(data)))
        .configure(**_config())
    )
    return dict(chart.to_dict())


def states_spec(table: ProgressTable) -> dict[str, Any]:
    """Per unit, the dossiers of the period by state: what is done, what is running, what is late."""
    import altair as alt

    states = (
        ("Đã giải quyết đúng hạn", ("resolved_early", "resolved_on_time"), ON_TIME),
        ("Đã giải quyết quá hạn", ("resolved_late",), LATE),
        ("Đang giải quyết trong hạn", ("in_progress_on_time",), NEUTRAL),
        ("Đang giải quyết quá hạn", ("in_progress_overdue",), "#6d0f0a"),
        ("Tạm dừng (chờ bổ sung)", ("paused",), PAUSED),
    )
    data = [
        {"don_vi": r.name, "trang_thai": name, "so_ho_so": sum(r.cells[k] for k in keys), "k": k}
        for r in table.rows
        for k, (name, keys, _) in enumerate(states)
    ]
    names = [s[0] for s in states]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("don_vi:N", title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X(
                "so_ho_so:Q",
                axis=_count_axis("Số hồ sơ", max((r.cells["received_total"] for r in table.rows), default=1)),
            ),
            color=alt.Color(
                "trang_thai:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=[s[2] for s in states]),
            ),
            order=alt.Order("k:Q"),
        )
        .properties(width=460, height=max(60, 28 * len(table.rows)))
        .configure(**_config())
    )
    return dict(chart.to_dict())


def _render(spec_json: str) -> str:
    import vl_convert

    # Vietnamese numbers (decimal comma); no URL may be fetched: the data is inline
    svg: str = vl_convert.vegalite_to_svg(
        json.loads(spec_json), format_locale=VI_NUMBERS, allowed_base_urls=[]
    )
    return svg


async def svg(spec: dict[str, Any], label: str) -> str:
    """The chart as inline SVG, announced as one image named ``label`` (the table beside it
    carries the numbers)."""
    key = json.dumps(spec, sort_keys=True, ensure_ascii=False)
    drawn = _cache.get(key)
    if drawn is None:
        drawn = await asyncio.get_running_loop().run_in_executor(_renderer, _render, key)
        _cache[key] = drawn
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return _labelled(drawn, label)


def _labelled(svg_text: str, label: str) -> str:
    safe = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    # the chart is one image to assistive technology; its marks are not read one by one
    return re.sub(r"<svg\b", f'<svg role="img" aria-label="{safe}" focusable="false"', svg_text, count=1)
