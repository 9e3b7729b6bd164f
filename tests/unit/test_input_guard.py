"""The input guard and the storable-contract rule, without servers."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError

from shared.contracts import Actor, PersonalData
from shared.contracts.base import Contract, Text
from shared.host.business_time import CommandMeta
from shared.host.errors import install_error_handlers
from shared.host.input_guard import InputGuard, body_has_nul, json_depth_exceeds, nfc_json, nfc_query

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
    # At the ends of the era a moment's offset decides: 00:30 at +01:00 on 1 January 1900 is 1899 in UTC.
    plus_one, minus_one = timezone(timedelta(hours=1)), timezone(-timedelta(hours=1))
    for outside in (
        datetime(1900, 1, 1, 0, 30, tzinfo=plus_one),
        datetime(2199, 12, 31, 23, 30, tzinfo=minus_one),
    ):
        with pytest.raises(ValidationError, match="between the years"):
            CommandMeta.model_validate({"occurred_at": outside})
    for inside in (
        datetime(1900, 1, 1, 1, 30, tzinfo=plus_one),
        datetime(2199, 12, 31, 22, 30, tzinfo=minus_one),
    ):
        assert CommandMeta.model_validate({"occurred_at": inside}).occurred_at == inside
        assert _Stored(at=inside).at == inside
    for outside in (
        datetime(1900, 1, 1, 0, 30, tzinfo=plus_one),
        datetime(2199, 12, 31, 23, 30, tzinfo=minus_one),
    ):
        with pytest.raises(ValidationError, match="at: lies outside the years"):
            _Stored(at=outside)
    with pytest.raises(ValidationError, match="words: contains the NUL"):
        _Stored(at=datetime.now(UTC), words=["fine", "not\x00fine"])
    with pytest.raises(ValidationError, match="note: contains the NUL"):
        _Stored(at=datetime.now(UTC), note="a\x00b")
    with pytest.raises(ValidationError, match="bearer token"):
        CommandMeta.model_validate({"actor": ACTOR})


class _Stored(Contract):
    at: datetime
    note: str = ""
    words: tuple[str, ...] = ()


NESTED = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"text": "x", "deep": json.loads("[" * 900 + "]" * 900)}),
        '{"text": "x", "deep": ' + "[" * 200_000 + '"\\u0000"' + "]" * 200_000 + "}",
        '{"text": "x", "deep": ' + NESTED + "}",
        "{" * 100_000,  # not even JSON: still refused before any parser recurses
    ],
)
async def test_deeply_nested_json_is_refused_not_a_server_error(content: str) -> None:
    transport = httpx.ASGITransport(app=_app(limit=1024 * 1024))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/echo/a", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "too_deeply_nested"


def test_depth_counts_only_brackets_outside_strings() -> None:
    assert not json_depth_exceeds(json.dumps({"text": "[" * 500}).encode(), 32)
    assert not json_depth_exceeds(json.dumps([[[["x"]]]]).encode(), 4)
    assert json_depth_exceeds(json.dumps([[[[["x"]]]]]).encode(), 4)
    # an escaped quote does not end the string; an unterminated one swallows the rest
    assert not json_depth_exceeds(b'["\\"[[[[[[[[[["]', 4)
    assert not json_depth_exceeds(b'"' + b"\\" * 10_001 + b"[" * 100, 4)


NFD_NAME = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
NFC_NAME = unicodedata.normalize("NFC", NFD_NAME)


@pytest.mark.parametrize("ensure_ascii", [False, True])
async def test_text_reaches_the_route_in_nfc_whichever_way_it_was_typed(ensure_ascii: bool) -> None:
    assert NFD_NAME != NFC_NAME
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for typed in (NFD_NAME, NFC_NAME):
            body = json.dumps({"text": typed}, ensure_ascii=ensure_ascii)
            response = await client.post(
                f"/echo/{typed}", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 200, response.text
            assert response.json() == {"key": NFC_NAME, "text": NFC_NAME}


def test_nfc_keeps_bytes_that_need_no_change() -> None:
    body = b'{"n": 1.000000000000000000001, "t": "Nguy\xe1\xbb\x85n"}'
    assert nfc_json(body) is body
    assert nfc_json(b'{"t": "plain"}') == b'{"t": "plain"}'
    # a number written oddly stays as written when a string beside it is normalised
    changed = nfc_json(('{"n": 1E+400, "t": "' + NFD_NAME + '"}').encode())
    assert changed.startswith(b'{"n": 1E+400, "t": ') and json.loads(changed)["t"] == NFC_NAME
    assert nfc_query(b"a=1&b=x") == b"a=1&b=x"
    assert parse_qs(nfc_query(urlencode({"q": NFD_NAME}).encode()).decode())["q"] == [NFC_NAME]


def test_signed_bodies_are_passed_on_as_they_came() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = InputGuard(app, signed_paths=("/webhooks/",))
    body = json.dumps({"t": NFD_NAME}, ensure_ascii=False).encode()

    async def call(path: str) -> None:
        messages = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive() -> Any:
            return next(messages)

        async def send(_: Any) -> None:
            return None

        scope = {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": []}
        await guard(scope, receive, send)

    asyncio.run(call("/webhooks/postal/VNPOST"))
    asyncio.run(call("/echo/a"))
    assert seen[0] == body and json.loads(seen[1])["t"] == NFC_NAME


class Person(BaseModel):
    name: Text = Field(min_length=1, max_length=50)


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u3000", "\u00a0 "])
def test_a_name_of_only_whitespace_is_refused(blank: str) -> None:
    with pytest.raises(ValidationError):
        Person(name=blank)
    assert Person(name="  Ngọc ").name == "Ngọc"


@pytest.mark.parametrize(
    "digits", ["００１１９００１２３４５", "٠٠١١٩٠٠١٢٣٤٥", "۰۰۱۱۹۰۰۱۲۳۴۵", "00119001234５"]
)
def test_citizen_ids_and_phones_take_only_ascii_digits(digits: str) -> None:
    person = {"full_name": "Ngọc", "citizen_id": "001190012345", "address": "Huế"}
    assert PersonalData.model_validate(person).citizen_id == "001190012345"
    with pytest.raises(ValidationError, match="citizen_id"):
        PersonalData.model_validate({**person, "citizen_id": digits})
    with pytest.raises(ValidationError, match="phone"):
        PersonalData.model_validate({**person, "phone": digits[-10:]})
