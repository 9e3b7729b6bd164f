"""Processing's HTTP API: commands on a dossier's case, its state, history, forms and work queues."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.processing import commands as c
from services.processing.application import CaseNotFound, ProcessingApplication
from services.processing.domain import Case
from services.processing.forms import FORMS, render_form
from services.processing.queues import QUEUES, work_queue
from services.processing.rules import CaseRuleViolation
from services.processing.views import case_view, history_view
from shared.host.business_time import CommandMeta, business_time
from shared.host.errors import ApiError, not_found
from shared.host.host import ServiceHost


def _meta(body: CommandMeta) -> dict[str, Any]:
    return {
        "occurred_at": business_time(body.occurred_at, body.backdate_reason),
        "backdate_reason": body.backdate_reason,
        "actor": body.actor.model_dump(mode="json"),
    }


def _case_not_found(code: str) -> ApiError:
    return not_found("hồ sơ đang giải quyết", "Case for dossier", code)


def build_router(host: ServiceHost, app: ProcessingApplication) -> APIRouter:
    router = APIRouter(tags=["cases"])

    async def run(code: str, action: Callable[[Case], None]) -> dict[str, Any]:
        try:
            case = await asyncio.to_thread(app.act, code, action)
        except CaseNotFound:
            raise _case_not_found(code) from None
        except CaseRuleViolation as exc:
            raise ApiError(exc.status, exc.code, exc.vi, exc.en, **exc.details) from None
        if host.relay is not None:
            host.relay.wake()
        return case_view(case)

    async def load(code: str) -> Case:
        try:
            return await asyncio.to_thread(app.case, code)
        except CaseNotFound:
            raise _case_not_found(code) from None

    @router.get("/dossiers/{code}", summary="The case, rebuilt from its events, with the clock")
    async def get_case(code: str) -> dict[str, Any]:
        return case_view(await load(code))

    @router.get("/dossiers/{code}/history", summary="Every event: what, who, when, and the clock then")
    async def history(code: str) -> list[dict[str, Any]]:
        events = await asyncio.to_thread(app.history, code)
        if not events:
            raise _case_not_found(code)
        return history_view(events)

    @router.get("/dossiers/{code}/forms/{form}", response_class=HTMLResponse, summary="Biểu mẫu")
    async def form(code: str, form: str) -> HTMLResponse:
        if form not in FORMS:
            raise ApiError(
                404, "unknown_form", f"Không có biểu mẫu {form}", f"No form {form}", known=sorted(FORMS)
            )
        events = await asyncio.to_thread(app.history, code)
        if not events:
            raise _case_not_found(code)
        html = render_form(form, events)
        if html is None:
            raise ApiError(
                409,
                "form_not_applicable",
                f"Hồ sơ chưa có sự kiện để lập biểu mẫu {form}",
                f"The dossier has no event that produces the {form} form yet",
            )
        return HTMLResponse(html)

    @router.get("/queues/{department}/{queue}", tags=["queues"], summary="Work queues")
    async def queue(department: str, queue: str, limit: int = 200) -> list[dict[str, Any]]:
        if queue not in QUEUES:
            raise ApiError(
                404, "unknown_queue", f"Không có hàng đợi {queue}", f"No queue {queue}", known=list(QUEUES)
            )
        return await work_queue(host.pool, department, queue, min(max(limit, 1), 1000))

    @router.post("/dossiers/{code}/assign", summary="Phân công cán bộ")
    async def assign(code: str, body: c.Assign) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.assign(body.officer, **m))

    @router.post("/dossiers/{code}/transfer", summary="Chuyển liên thông to another agency")
    async def transfer(code: str, body: c.Transfer) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.transfer(body.to_department, **m))

    @router.post("/dossiers/{code}/supplement-requests", summary="Yêu cầu bổ sung (the clock stops)")
    async def request_supplement(code: str, body: c.RequestSupplement) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.request_supplement(body.missing_items, body.reason, **m))

    @router.post("/dossiers/{code}/supplement-received", summary="Nhận hồ sơ bổ sung (the clock goes on)")
    async def receive_supplement(code: str, body: c.ReceiveSupplement) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.receive_supplement(**m))

    @router.post("/dossiers/{code}/close-unsupplemented", summary="Dừng: not supplemented in time")
    async def close(code: str, body: c.CloseForNoSupplement) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.close_for_no_supplement(**m))

    @router.post("/dossiers/{code}/leadership-reports", summary="Báo cáo lãnh đạo before a 2nd return")
    async def report(code: str, body: c.ReportToLeadership) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.report_to_leadership(body.reason, **m))

    @router.post("/dossiers/{code}/leadership-acknowledgements", summary="Lãnh đạo xác nhận")
    async def acknowledge(code: str, body: c.AcknowledgeLeadership) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.acknowledge_leadership(body.note, **m))

    @router.post("/dossiers/{code}/apologies", summary="Thư xin lỗi và hẹn lại (at most once)")
    async def apologise(code: str, body: c.IssueApology) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.issue_apology(body.reason, body.new_due_at, **m))

    @router.post("/dossiers/{code}/decision", summary="Quyết định: approve or reject")
    async def decide(code: str, body: c.Decide) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.decide(body.approved, body.reasons, **m))

    @router.post("/dossiers/{code}/result-ready", summary="Có kết quả")
    async def result_ready(code: str, body: c.MakeResultReady) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.make_result_ready(**m))

    @router.post("/dossiers/{code}/result-returned", summary="Trả kết quả")
    async def result_returned(code: str, body: c.ReturnResult) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.return_result(body.via, body.received_by, **m))

    @router.post("/dossiers/{code}/withdrawal", summary="Rút / dừng hồ sơ (before any decision)")
    async def withdraw(code: str, body: c.Withdraw) -> dict[str, Any]:
        m = _meta(body)
        return await run(code, lambda case: case.withdraw(body.kind, body.reason, **m))

    return router
