"""Processing's HTTP API: decide a dossier and make its result ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from services.processing.application import CaseNotFound, ProcessingApplication
from services.processing.domain import Case, InvalidTransition
from shared.host.business_time import CommandMeta, business_time
from shared.host.errors import ApiError, not_found
from shared.host.host import ServiceHost


class DecideRequest(CommandMeta):
    approved: bool
    reasons: str | None = Field(default=None, max_length=4000)


class ResultReadyRequest(CommandMeta):
    pass


def case_view(case: Case) -> dict[str, Any]:
    return {
        "dossier_code": case.dossier_code,
        "dossier_id": str(case.dossier_id),
        "department_code": case.department_code,
        "state": case.state,
        "due_at": case.due_at.isoformat(),
        "approved": case.approved,
        "reasons": case.reasons,
        "postal_return": case.postal_return,
        "result_ready_at": case.result_ready_at.isoformat() if case.result_ready_at else None,
        "allowed_actions": case.allowed_actions(),
        "version": case.version,
    }


async def _run(host: ServiceHost, command: Callable[[], Case]) -> dict[str, Any]:
    try:
        case = await asyncio.to_thread(command)
    except CaseNotFound as exc:
        raise not_found("hồ sơ đang giải quyết", "Case for dossier", str(exc)) from None
    except InvalidTransition as exc:
        raise ApiError(
            409,
            "invalid_transition",
            f"Không thể thực hiện '{exc.action}' khi hồ sơ ở trạng thái '{exc.state}'",
            f"Cannot {exc.action} while the dossier is {exc.state}",
            state=exc.state,
            allowed_actions=exc.allowed,
        ) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_command", "Yêu cầu không hợp lệ", str(exc)) from None
    if host.relay is not None:
        host.relay.wake()
    return case_view(case)


def build_router(host: ServiceHost, app: ProcessingApplication) -> APIRouter:
    router = APIRouter(tags=["cases"])

    @router.get("/dossiers/{code}", summary="The case for a dossier, rebuilt from its events")
    async def get_case(code: str) -> dict[str, Any]:
        try:
            return case_view(await asyncio.to_thread(app.case, code))
        except CaseNotFound:
            raise not_found("hồ sơ đang giải quyết", "Case for dossier", code) from None

    @router.post("/dossiers/{code}/decision", summary="Quyết định: approve or reject")
    async def decide(code: str, body: DecideRequest) -> dict[str, Any]:
        at = business_time(body.occurred_at, body.backdate_reason)
        return await _run(
            host,
            lambda: app.decide(
                code,
                approved=body.approved,
                reasons=body.reasons,
                occurred_at=at,
                backdate_reason=body.backdate_reason,
                actor=body.actor.model_dump(mode="json"),
            ),
        )

    @router.post("/dossiers/{code}/result-ready", summary="Có kết quả: the result is ready")
    async def result_ready(code: str, body: ResultReadyRequest) -> dict[str, Any]:
        at = business_time(body.occurred_at, body.backdate_reason)
        return await _run(
            host,
            lambda: app.make_result_ready(
                code,
                occurred_at=at,
                backdate_reason=body.backdate_reason,
                actor=body.actor.model_dump(mode="json"),
            ),
        )

    return router
