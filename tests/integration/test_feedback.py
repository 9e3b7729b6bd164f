"""Citizens' feedback (issue 14 point 2) through the real services: a rating on the 5-level scale
once the result is returned, complaints, and scoring's satisfaction indicator of Decision 766."""

from __future__ import annotations

from typing import Any

import pytest

from shared.host.settings import Settings
from tests.identity import auth
from tests.system import System, eventually, receive_body, running_system

# The kiosk is the centre's desk device (the desk that received the dossiers).
DESK = auth("tiepnhan")


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def _received(system: System) -> tuple[str, str]:
    received = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert received.status_code == 201, received.text
    code, secret = received.json()["code"], received.json()["tracking_secret"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    return code, secret


async def _returned(system: System, code: str) -> None:
    for step, body in (
        ("decision", {"approved": True}),
        ("result-ready", {}),
        ("result-returned", {"via": "desk"}),
    ):
        done = await system.processing.post(f"/dossiers/{code}/{step}", json=body)
        assert done.status_code == 200, (step, done.text)


async def test_rating_once_after_the_result_and_complaints_count_in_satisfaction(system: System) -> None:
    code, secret = await _received(system)
    citizen = {"X-Tracking-Secret": secret, "Authorization": ""}
    early = await system.processing.post(f"/track/{code}/rating", json={"score": 5}, headers=citizen)
    assert early.status_code == 409 and early.json()["error"]["code"] == "rating_before_result"
    assert early.json()["error"]["message"]["vi"]

    wrong = await system.processing.post(
        f"/track/{code}/rating", json={"score": 5}, headers={**citizen, "X-Tracking-Secret": "x" * 22}
    )
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "tracking_not_found"
    off_scale = await system.processing.post(f"/track/{code}/rating", json={"score": 6}, headers=citizen)
    assert off_scale.status_code == 422
    actor = await system.processing.post(
        f"/track/{code}/rating", json={"score": 4, "actor": {"user_id": "x"}}, headers=citizen
    )
    assert actor.status_code == 422

    await _returned(system, code)
    tracked = (await system.processing.get(f"/track/{code}", headers=citizen)).json()
    assert tracked["feedback"] == {"can_rate": True, "rating": None, "complaints": 0}
    rated = await system.processing.post(
        f"/track/{code}/rating", json={"score": 2, "comment": "Chờ lâu"}, headers=citizen
    )
    assert rated.status_code == 201, rated.text
    again = await system.processing.post(f"/track/{code}/rating", json={"score": 5}, headers=citizen)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    kiosk_again = await system.processing.post(
        f"/kiosk/dossiers/{code}/rating", json={"score": 5}, headers=DESK
    )
    assert kiosk_again.status_code == 409

    # A second dossier: on time, rated well at the desk's kiosk; a third: a complaint only.
    good, _ = await _received(system)
    await _returned(system, good)
    kiosk = await system.processing.post(f"/kiosk/dossiers/{good}/rating", json={"score": 5}, headers=DESK)
    assert kiosk.status_code == 201, kiosk.text
    stranger = await system.processing.post(
        f"/kiosk/dossiers/{good}/complaints", json={"text": "x"}, headers=auth("canbo.stc")
    )
    assert stranger.status_code in (403, 404)
    third, third_secret = await _received(system)
    blank = await system.processing.post(
        f"/track/{third}/complaints", json={"text": "   "}, headers={"X-Tracking-Secret": third_secret}
    )
    assert blank.status_code == 422
    complaint = await system.processing.post(
        f"/track/{third}/complaints",
        json={"text": "Cán bộ hẹn lại nhiều lần"},
        headers={"X-Tracking-Secret": third_secret},
    )
    assert complaint.status_code == 201, complaint.text

    facts = await eventually(
        lambda: system.scoring.get(f"/dossiers/{third}"), lambda r: r.json().get("complaints") == 1
    )
    assert facts.json()["complained_at"] is not None
    rated_facts = (await system.scoring.get(f"/dossiers/{code}")).json()
    assert rated_facts["rating"] == 2

    # Three dossiers of STP, all on time: one disliked (2), one complained about, one rated 5.
    index = await eventually(
        lambda: system.scoring.get("/index766", params={"period": "year"}),
        lambda r: (
            _satisfaction(r.json())["status"] == "measured"
            and _satisfaction(r.json())["denominator"] == 3
            and _satisfaction(r.json())["numerator"] == 1
        ),
    )
    satisfaction = _satisfaction(index.json())
    assert satisfaction["points"] == pytest.approx(1 / 3 * 18 / 0.9, abs=1e-3)
    stp = next(u for u in index.json()["units"] if u["unit"] == "STP")
    # the six groups of Decision 766, the catalogue's publicity and online procedures included
    assert stp["available"] == 100
    figures = (await system.scoring.get("/figures", params={"period": "year"})).json()["units"]
    row = next(u for u in figures if u["unit"] == "STP")
    assert (row["rated"], row["rated_dislike"], row["complained"]) == (2, 1, 1)

    unsupported = (await system.scoring.get("/indicators/unsupported")).json()
    assert not any("satisfaction" in u["indicator"] for u in unsupported)
    assert not any("pickups" in u["indicator"] for u in unsupported)


def _satisfaction(index: dict[str, Any]) -> dict[str, Any]:
    stp = next(u for u in index["units"] if u["unit"] == "STP")
    found: dict[str, Any] = next(i for i in stp["indicators"] if i["key"] == "satisfaction")
    return found


async def test_the_citizen_rates_on_the_tracking_page_once_the_result_is_returned(system: System) -> None:
    """Issue 14 point 3: the web's tracking page, against the real processing service."""
    import httpx

    from tests.browser.conftest import web_app

    web_asgi = web_app("http://web.test", system.apps)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_asgi), base_url="http://web.test"
    ) as web:
        code, secret = await _received(system)
        page = await web.get(f"/track/{code}", params={"s": secret})
        assert page.status_code == 200 and 'id="rating-form"' not in page.text  # no result yet
        await _returned(system, code)
        page = await web.get(f"/track/{code}", params={"s": secret})
        assert 'id="rating-form"' in page.text and 'value="5"' in page.text and "Rất hài lòng" in page.text

        unpicked = await web.post(f"/track/{code}/rating", data={"s": secret, "score": "9"})
        assert unpicked.status_code == 422
        wrong = await web.post(f"/track/{code}/rating", data={"s": "sai-bi-mat", "score": "5"})
        assert wrong.status_code == 404
        sent = await web.post(f"/track/{code}/rating", data={"s": secret, "score": "4", "comment": "Nhanh"})
        assert sent.status_code == 303 and sent.headers["location"].endswith("&rated=1")
        after = await web.get(sent.headers["location"])
        assert 'id="rated"' in after.text and 'id="rating-form"' not in after.text
        assert 'id="rating-given"' in after.text and "Hài lòng" in after.text
        again = await web.post(f"/track/{code}/rating", data={"s": secret, "score": "1"})
        assert again.status_code == 409 and "already_rated" in again.text
    await eventually(lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.json().get("rating") == 4)
