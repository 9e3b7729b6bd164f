"""``/ops``: consumer lag, dead letters of every service, re-driving one after a fix, and replays
of scoring's projection with their progress."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from services.scoring import operations
from services.scoring.replays import ReplayRunning, Replays
from shared.auth.guard import acting_caller
from shared.host.errors import ApiError, not_found
from shared.host.host import ServiceHost
from shared.host.openapi_errors import errors
from shared.host.outages import RETRY_AFTER_S, dependency_unavailable

log = logging.getLogger(__name__)


def build_ops_router(host: ServiceHost) -> APIRouter:
    router = APIRouter(prefix="/ops", tags=["ops"])
    replays = Replays(host.settings.database_url, lambda: host.pool)
    host.background.append(replays.keep)

    def js() -> Any:
        return host.broker.config.connection_state.stream

    @router.get(
        "/lag",
        summary="Per consumer: NATS lag, and what it processed against what PostgreSQL holds",
        description="`consumers`: stream last seq vs ack floor, pending, redeliveries. `relays`: per"
        " service, events published from its PostgreSQL store, checkpoint, self-healing (heals)."
        " `store`: per consumer, events published vs processed; `behind_store` flags a consumer at"
        " lag 0 on NATS that missed events (JetStream lost them), with cause and cure.",
    )
    async def lag() -> dict[str, Any]:
        async with host.pool.acquire() as conn:
            try:
                return await operations.lag(js(), conn)
            except (asyncpg.PostgresError, asyncpg.InterfaceError):
                raise  # the database's outage, answered as such by the host
            except Exception as exc:
                # Every figure here is read from JetStream: without it there is no lag to tell.
                log.warning("/ops/lag: NATS unavailable: %r", exc)
                raise dependency_unavailable("nats") from exc

    @router.get("/dead-letters", summary="Dead letters of every service")
    async def dead_letters(include_redriven: bool = False) -> list[dict[str, Any]]:
        async with host.pool.acquire() as conn:
            return await operations.dead_letters(conn, include_redriven)

    @router.post(
        "/dead-letters/{schema}/{letter_id}/redrive",
        summary="Run a dead letter again through the one consumer that failed on it",
        responses=errors(409, s409="The consumer still rejects it: left as it was"),
    )
    async def redrive(
        letter_id: int, schema: str = Path(json_schema_extra={"enum": list(operations.SCHEMAS)})
    ) -> dict[str, Any]:
        if schema not in operations.SCHEMAS:
            raise ApiError(
                422,
                "unknown_schema",
                "Dịch vụ không tồn tại",
                "Unknown service schema",
                allowed=list(operations.SCHEMAS),
            )
        if not -(2**63) <= letter_id < 2**63:
            raise not_found("thư lỗi", "Dead letter", f"{schema}/{letter_id}")
        try:
            async with host.pool.acquire() as conn:
                return await operations.redrive(conn, host.nats, schema, letter_id)
        except operations.UnknownDeadLetter as exc:
            raise not_found("thư lỗi", "Dead letter", f"{schema}/{letter_id}") from exc
        except operations.RedriveFailed as exc:
            raise _redrive_error(exc) from exc

    @router.post(
        "/replays",
        status_code=202,
        summary="Rebuild scoring's tables from the event stores, in the background (poll its progress)",
    )
    async def start_replay() -> JSONResponse:
        caller = acting_caller()
        try:
            replay = await replays.start(caller.principal.user_id)
        except ReplayRunning as exc:
            raise ApiError(
                409,
                "replay_running",
                "Đang có một lần dựng lại chạy; chờ lần đó xong",
                "A replay is already running; wait for it to finish",
                running=exc.running,
            ) from exc
        return JSONResponse(replay.view(), status_code=202, headers={"Location": f"/ops/replays/{replay.id}"})

    @router.get("/replays", summary="The latest replays of this process, newest first")
    async def list_replays() -> list[dict[str, Any]]:
        return [replay.view() for replay in replays.recent()]

    @router.get("/replays/{replay_id}", summary="One replay: phases with counts, rate and time left")
    async def replay_progress(replay_id: str) -> dict[str, Any]:
        replay = replays.get(replay_id)
        if replay is None:
            raise not_found("lần dựng lại", "Replay", replay_id[:40])
        return replay.view()

    return router


def _redrive_error(exc: operations.RedriveFailed) -> ApiError:
    if exc.code == "still_failing":
        return ApiError(
            409,
            "still_failing",
            "Thư lỗi vẫn không xử lý được; chưa đánh dấu đã xử lý lại",
            f"The consumer still rejects it; left as it was: {exc.detail}",
        )
    error = ApiError(
        503,
        exc.code,
        "Dịch vụ sở hữu bộ tiêu thụ này đang không chạy hoặc tạm thời lỗi; thử lại sau",
        f"The service owning the consumer could not redrive it now: {exc.detail}",
    )
    error.headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error
