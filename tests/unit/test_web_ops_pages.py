"""The operations pages over HTTP, scoring's ``/ops`` API replaced by a stub that records what it
was asked: whole pages and htmx fragments, the redrive's answer in its row (refusals keep their
4xx), replays started and followed, and who may see or press what."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.web_login import sign_in, web_with_identity

PASSWORD = "mat-khau-thu"
HX = {"HX-Request": "true"}
LAG = {
    "stream": "MOTCUA",
    "last_seq": 42,
    "messages": 42,
    "consumers": [
        {"consumer": "scoring", "declared": True, "filter_subject": "motcua.>", "ack_floor": 40,
         "lag": 2, "pending": 1, "ack_pending": 1, "redelivered": 0, "waiting": 1},
        {"consumer": "postal-intake", "declared": False},
    ],
}  # fmt: skip
LETTER = {
    "schema": "processing", "id": 7, "consumer": "processing-intake", "subject": "motcua.intake.x",
    "stream_seq": 3, "reason": "bug: cannot open <dossier>", "dead_at": "2026-03-17T01:05:00+00:00",
    "redriven_at": None, "payload": '{"event_id": "e"}',
}  # fmt: skip


def _replay(state: str) -> dict[str, Any]:
    phase = {"unit": "events", "done": 50, "total": 100, "percent": 50.0, "rate_per_s": 25.0,
             "elapsed_s": 2.0, "left_s": 2.0, "finished": state != "running"}  # fmt: skip
    return {
        "id": "ab12",
        "state": state,
        "started_by": "vanhanh",
        "started_at": "2026-03-17T01:00:00+00:00",
        "finished_at": None if state == "running" else "2026-03-17T01:00:05+00:00",
        "phases": [{"phase": "read", **phase}, {"phase": "fold", **phase, "unit": "dossiers"}],
        "result": {"events": 100, "dossiers": 10, "figure_rows": 5} if state == "done" else None,
        "error": None,
    }


class Scoring:
    """A stand-in for scoring's ``/ops`` routes; ``redrive`` and ``replay_state`` set its answers."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.redrive: httpx.Response = httpx.Response(200, json={"outcome": "processed", "consumer": "c"})
        self.replay_state = "running"
        self.start: httpx.Response = httpx.Response(202, json=_replay("running"))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append((request.method, request.url.path))
        path = request.url.path
        if path == "/ops/lag":
            return httpx.Response(200, json=LAG)
        if path == "/ops/dead-letters":
            return httpx.Response(200, json=[LETTER])
        if path == "/ops/dead-letters/processing/7/redrive":
            return self.redrive
        if path == "/ops/replays" and request.method == "POST":
            return self.start
        if path == "/ops/replays":
            return httpx.Response(200, json=[_replay("done")])
        if path == "/ops/replays/ab12":
            return httpx.Response(200, json=_replay(self.replay_state))
        return httpx.Response(404, json={"error": {"code": "not_found", "message": {"vi": "vi", "en": "en"}}})


@pytest.fixture
def scoring() -> Scoring:
    return Scoring()


@pytest.fixture
async def web(scoring: Scoring) -> Any:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "scoring": httpx.MockTransport(scoring),
    }
    app = web_with_identity(transports, PASSWORD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        yield client


async def _sign_in(web: httpx.AsyncClient, user: str) -> str:
    signed = await sign_in(web, user, PASSWORD)
    assert signed.status_code == 303, signed.text
    page = await web.get("/ops/dead-letters")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


async def test_ops_lands_on_the_lag_page_and_the_fragment_refreshes_itself(web: httpx.AsyncClient) -> None:
    signed = await sign_in(web, "vanhanh", PASSWORD)
    assert signed.headers["location"] == "/ops"
    page = await web.get("/ops", follow_redirects=True)
    assert page.status_code == 200 and str(page.url).endswith("/ops/lag")
    assert '<script src="/static/vendor/htmx-2.0.11.min.js"' in page.text
    assert 'data-consumer="scoring"' in page.text and "chưa khai báo" in page.text
    fragment = await web.get("/ops/lag", headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="lag" hx-get="/ops/lag" hx-trigger="every 5s"')
    assert "<html" not in fragment.text and 'id="last-seq">42<' in fragment.text


async def test_a_redrive_answers_in_its_row_or_redirects_without_htmx(
    web: httpx.AsyncClient, scoring: Scoring
) -> None:
    csrf = await _sign_in(web, "vanhanh")
    page = await web.get("/ops/dead-letters")
    assert "bug: cannot open &lt;dossier&gt;" in page.text  # the reason, escaped
    assert 'hx-post="/ops/dead-letters/processing/7/redrive"' in page.text
    path = "/ops/dead-letters/processing/7/redrive"

    done = await web.post(path, data={"csrf": csrf}, headers=HX)
    assert done.status_code == 200 and "Đã xử lý lại thành công" in done.text and "<html" not in done.text
    plain = await web.post(path, data={"csrf": csrf})
    assert plain.status_code == 303 and plain.headers["location"] == "/ops/dead-letters?done=processed"
    shown = await web.get(plain.headers["location"])
    assert "Đã xử lý lại thành công" in shown.text

    scoring.redrive = httpx.Response(
        409, json={"error": {"code": "still_failing", "message": {"vi": "Vẫn lỗi", "en": "Still failing"}}}
    )
    refused = await web.post(path, data={"csrf": csrf}, headers=HX)
    assert refused.status_code == 409 and "still_failing" in refused.text and "Vẫn lỗi" in refused.text
    assert "<html" not in refused.text
    whole = await web.post(path, data={"csrf": csrf})
    assert whole.status_code == 409 and "<html" in whole.text and "still_failing" in whole.text
    assert scoring.asked.count(("POST", path)) == 4

    forged = await web.post(path, data={"csrf": "not-it"}, headers=HX)
    assert forged.status_code == 403 and scoring.asked.count(("POST", path)) == 4
    assert (await web.post("/ops/dead-letters/processing/x/redrive", data={"csrf": csrf})).status_code == 422
    assert (
        await web.post("/ops/dead-letters/DROP%20TABLE/7/redrive", data={"csrf": csrf})
    ).status_code == 404


async def test_a_replay_is_started_then_followed_until_it_stops_polling(
    web: httpx.AsyncClient, scoring: Scoring
) -> None:
    csrf = await _sign_in(web, "vanhanh")
    listing = await web.get("/ops/replay")
    assert 'id="start-replay"' in listing.text and "/ops/replay/ab12" in listing.text
    started = await web.post("/ops/replay", data={"csrf": csrf})
    assert started.status_code == 303 and started.headers["location"] == "/ops/replay/ab12"
    assert ("POST", "/ops/replays") in scoring.asked

    running = await web.get("/ops/replay/ab12", headers=HX)
    assert 'hx-trigger="every 1s"' in running.text and 'data-state="running"' in running.text
    assert '<progress max="100" value="50"' in running.text and "Đọc kho sự kiện" in running.text
    scoring.replay_state = "done"
    finished = await web.get("/ops/replay/ab12", headers=HX)
    assert "hx-trigger" not in finished.text and 'data-state="done"' in finished.text
    assert "100 sự kiện, 10 hồ sơ, 5 dòng số liệu" in finished.text

    # a second start while one runs follows the running one
    scoring.start = httpx.Response(
        409,
        json={"error": {"code": "replay_running", "message": {"vi": "v", "en": "e"}, "running": "ab12"}},
    )
    again = await web.post("/ops/replay", data={"csrf": csrf})
    assert again.status_code == 303 and again.headers["location"] == "/ops/replay/ab12"
    assert (await web.get("/ops/replay/not-hex!")).status_code == 404


async def test_auditors_read_without_buttons_and_other_roles_are_refused(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "thanhtra")
    letters = await web.get("/ops/dead-letters")
    assert letters.status_code == 200 and "hx-post" not in letters.text and 'name="csrf"' not in letters.text
    assert 'id="start-replay"' not in (await web.get("/ops/replay")).text
    await web.post("/logout")
    await _sign_in(web, "tiepnhan")
    for path in ("/ops/lag", "/ops/dead-letters", "/ops/replay", "/ops/replay/ab12"):
        assert (await web.get(path)).status_code == 403, path


async def test_an_expired_session_sends_htmx_to_the_log_in_page(web: httpx.AsyncClient) -> None:
    answer = await web.get("/ops/lag", headers=HX)
    assert answer.status_code == 401 and answer.headers["hx-redirect"] == "/login"
    assert (await web.get("/ops/lag")).headers["location"] == "/login"
