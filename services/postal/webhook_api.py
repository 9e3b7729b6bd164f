"""``POST /webhooks/postal/{operator}``: tracking notices from the postal operators.

Order of checks, each with its own refusal: a known operator (404), a genuine and fresh
signature (401), an event id (400), a readable notice (422), a known tracking number (404, and
the call is kept in ``postal.unmatched_webhooks``). A notice already received answers 200 and
changes nothing; its event id with other content is the operator's bug and answers 409; one
that arrives after a later step is kept in the history but does not move the shipment back.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from services.postal.config import PostalConfig
from services.postal.inbox import EventIdReused, WebhookInbox
from services.postal.notices import TrackingNotice
from services.postal.signatures import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from shared.host.errors import ApiError
from shared.host.input_guard import nfc_json
from shared.host.openapi_errors import errors

MAX_BODY_BYTES = 64 * 1024


def build_webhook_router(inbox: WebhookInbox, config: PostalConfig) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/webhooks/postal/{operator}",
        summary="Thông báo hành trình từ doanh nghiệp bưu chính",
        responses=errors(401, s401="The signature is missing, wrong or stale (HMAC of the body)"),
    )
    async def receive(operator: str, request: Request) -> dict[str, Any]:
        code = operator.upper()
        secrets = config.secrets.get(code)
        if not secrets:
            raise ApiError(
                404,
                "unknown_operator",
                f"Không có doanh nghiệp bưu chính {operator}",
                f"No operator {operator}",
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, "body_too_large", "Nội dung quá lớn", "The body is too large")
        headers = request.headers
        verify(
            secret=secrets,
            signature=headers.get(SIGNATURE_HEADER),
            timestamp=headers.get(TIMESTAMP_HEADER),
            body=body,
            now=time.time(),
            tolerance_s=config.webhook_tolerance_s,
        )
        event_id = (headers.get(EVENT_ID_HEADER) or "").strip()
        if not event_id or len(event_id) > 128:
            raise ApiError(
                400,
                "event_id_missing",
                f"Thiếu hoặc sai header {EVENT_ID_HEADER} (1–128 ký tự)",
                f"The {EVENT_ID_HEADER} header is missing or longer than 128 characters",
            )
        notice = _parse(body)
        try:
            shipment_id = await inbox.find(code, notice.tracking_number)
            if shipment_id is None:
                await inbox.keep_unmatched(
                    code, event_id, notice.tracking_number, body, "unknown tracking number"
                )
                raise ApiError(
                    404,
                    "unknown_tracking_number",
                    f"Không có bưu gửi số hiệu {notice.tracking_number}; đã lưu thông báo để kiểm tra",
                    f"No shipment has tracking number {notice.tracking_number}; the call is kept",
                    tracking_number=notice.tracking_number,
                )
            applied = await inbox.apply(code, event_id, shipment_id, notice)
        except EventIdReused:
            raise ApiError(
                409,
                "event_id_reused",
                f"Mã sự kiện {event_id} đã được dùng cho một thông báo có nội dung khác",
                f"Event id {event_id} was already used for a notice with different content",
                event_id=event_id,
            ) from None
        except (asyncpg.PostgresError, OSError) as exc:
            raise _unavailable() from exc
        return {"outcome": applied.outcome, "shipment_id": str(applied.shipment_id), "event_id": event_id}

    @router.get("/webhooks/unmatched", summary="Thông báo không khớp bưu gửi nào (để kiểm tra)")
    async def unmatched(limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        return await inbox.unmatched(limit)

    return router


def _parse(body: bytes) -> TrackingNotice:
    try:
        # the guard passed the signed bytes on untouched: their text is normalised only now
        return TrackingNotice.model_validate_json(nfc_json(body))
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "<body>", "problem": e["msg"]}
            for e in exc.errors()
        ]
        raise ApiError(
            422,
            "invalid_notice",
            "Thông báo hành trình không hợp lệ",
            "The tracking notice is not valid",
            problems=problems,
        ) from None


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "try_again",
        "Hệ thống tạm thời chưa ghi nhận được, vui lòng gửi lại",
        "Not recorded now; retry later",
    )
