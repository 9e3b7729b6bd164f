"""The input guard and the storable-contract rule, without servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from shared.contracts import Actor
from shared.host.business_time import CommandMeta
from shared.host.errors import install_error_handlers
from shared.host.input_guard import InputGuard, body_has_nul

ACTOR = {"user_id": "canbo.a", "role": "front_desk", "agency": "TTHCC", "channel": 1}


def test_body_has_nul_only_for_a_real_nul() -> None:
    assert body_has_nul(b'{"a": "x\\u0000y"}')
    assert body_has_nul(b'{"x\\u0000": 1}')
    assert body_has_nul(b"plain\x00bytes")
    assert not body_has_nul(b'{"a": "a backslash then u0000: \\\\u0000"}')
    assert not body_has_nul(b'{"a": "\\u0000"')  # not JSON: the route reports it


class Echo(BaseModel):
    text: str


def _app(limit: int = 1024) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(InputGuard, max_body_bytes=limit)

    @app.post("/echo/{key}")
    async def echo(key: str, body: Echo) -> dict[str, str]:
        return {"key": key, "text": body.text}

    return app


@pytest.mark.parametrize(
    ("url", "content", "status", "code"),
    [
        ("/echo/a", json.dumps({"text": "Hồ sơ"}), 200, None),
        ("/echo/a%00b", json.dumps({"text": "x"}), 400, "nul_character"),
        ("/echo/a?q=%00", json.dumps({"text": "x"}), 400, "nul_character"),
        ("/echo/a", json.dumps({"text": "x\x00"}), 400, "nul_character"),
        ("/echo/a", json.dumps({"text": "x" * 2000}), 413, "body_too_large"),
        ("/echo/a", "{not json", 422, "invalid_request"),
        ("/nowhere", "{}", 404, "route_not_found"),
    ],
)
async def test_guard_explains_every_refusal(url: str, content: str, status: int, code: str | None) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(url, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    if code is not None:
        error = response.json()["error"]
        assert error["code"] == code
        assert error["message"]["vi"] and error["message"]["en"]


async def test_chunked_body_over_the_limit_is_refused() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/echo/a", content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_contracts_refuse_what_cannot_be_stored() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        Actor.model_validate({**ACTOR, "user_id": "a\x00b"})
    far = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
    with pytest.raises(ValidationError, match="between the years"):
        CommandMeta.model_validate({"occurred_at": far})
    assert CommandMeta.model_validate({"occurred_at": datetime.now(UTC)}).occurred_at
    with pytest.raises(ValidationError, match="bearer token"):
        CommandMeta.model_validate({"actor": ACTOR})
