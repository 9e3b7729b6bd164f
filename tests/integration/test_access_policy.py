"""Who may do what, route by route, read from the services' own OpenAPI documents.

Every route must have a row in the policy table; every protected route answers 401 without a
token and 403 to a role it does not admit; every dossier route answers 404 to an admitted role
of another unit, exactly as for a dossier that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.auth.policy import POLICY, Scope
from shared.auth.principal import Role
from shared.host.settings import Settings
from tests.identity import ISSUER, auth, leader, officer
from tests.system import System, eventually, receive_body, running_system

SERVICES = ("intake", "processing", "postal", "scoring", "payments", "notify")


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url), SERVICES) as s:
        yield s


def _routes(system: System, service: str) -> list[tuple[str, str]]:
    openapi = system.apps[service].openapi()
    return [(method.upper(), path) for path, item in openapi["paths"].items() for method in item]


def _url(path: str, code: str) -> str:
    values = {
        "code": code,
        "department": "STP",
        "queue": "active",
        "form": "receipt",
        "shipment_id": str(uuid.uuid4()),
        "schema": "scoring",
        "letter_id": "1",
        "operator": "VNPOST",
        "document_id": str(uuid.uuid4()),
        "charge_id": str(uuid.uuid4()),
        "provider": "PAYGOV",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _token_for(roles: tuple[Role, ...], unit: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.token('t.' + unit.lower(), roles, unit)}"}


# Valid bodies, so that an answer is about who calls, never about what was sent.
BODIES: dict[str, dict[str, Any]] = {
    "/dossiers/{code}/assign": {"officer": "cb.an"},
    "/dossiers/{code}/transfer": {"to_department": "THUE"},
    "/dossiers/{code}/supplement-requests": {"missing_items": ["Tờ khai"], "reason": "thiếu"},
    "/dossiers/{code}/leadership-reports": {"reason": "trả lần 2"},
    "/dossiers/{code}/apologies": {"reason": "quá tải", "new_due_at": "2099-01-05T10:00:00+07:00"},
    "/dossiers/{code}/decision": {"approved": True},
    "/dossiers/{code}/obligations": {"amount_vnd": 100_000, "description": "Lệ phí trước bạ"},
    "/charges/{charge_id}/desk-payment": {"amount_vnd": 100_000, "receipt_number": "BL-1"},
    "/dossiers/{code}/withdrawal": {"reason": "xin rút"},
    "/online/filings/{code}/completion-request": {"missing_items": ["Tờ khai"]},
    "/online/filings/{code}/refusal": {"reasons": "không thuộc thẩm quyền"},
    "/kiosk/dossiers/{code}/rating": {"score": 4},
    "/kiosk/dossiers/{code}/complaints": {"text": "chờ lâu"},
    "/track/{code}/rating": {"score": 4},
    "/track/{code}/complaints": {"text": "chờ lâu"},
}


async def _dossier(system: System) -> str:
    response = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    await eventually(lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    return code


async def test_every_route_has_a_policy_and_refuses_strangers(system: System) -> None:
    code = await _dossier(system)  # LLTP: the Department of Justice (STP), received at TTPVHCC
    checked = 0
    for service in SERVICES:
        client = system.clients[service]
        routes = _routes(system, service)
        assert routes, f"{service} publishes no routes"
        declared = set(POLICY[service])
        missing = [r for r in routes if r not in declared]
        assert not missing, f"{service}: routes without a policy row: {missing}"
        stale = declared - set(routes)
        assert not stale, f"{service}: policy rows for routes that do not exist: {stale}"
        for method, path in routes:
            rule = POLICY[service][(method, path)]
            if rule.public:
                continue
            url = _url(path, code)
            body = BODIES.get(path, {})
            bare = await client.request(method, url, json=body, headers={"Authorization": ""})
            assert bare.status_code == 401, (service, method, path, bare.text)
            assert bare.json()["error"]["code"] == "unauthenticated"
            assert bare.headers["www-authenticate"].startswith("Bearer")
            forged = await client.request(
                method, url, json=body, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
            )
            assert forged.status_code == 401, (service, method, path, forged.text)
            outsider = next(r for r in Role if r not in rule.roles)
            wrong_role = await client.request(method, url, json=body, headers=_token_for((outsider,), "STP"))
            assert wrong_role.status_code == 403, (service, method, path, outsider, wrong_role.text)
            assert wrong_role.json()["error"]["code"] == "forbidden_role"
            if rule.scope is Scope.DOSSIER:
                # an admitted role, but of another unit: the dossier does not exist for them
                role = next(r for r in (Role.OFFICER, Role.LEADER, Role.FRONT_DESK) if r in rule.roles)
                unit = {Role.FRONT_DESK: "PHUONG-DT"}.get(role, "UBNDX")
                other = await client.request(method, url, json=body, headers=_token_for((role,), unit))
                assert other.status_code == 404, (service, method, path, role, other.text)
                assert other.json()["error"]["code"] == "not_found"
            checked += 1
    assert checked >= 30


async def test_departments_see_and_act_on_their_own_dossiers_only(system: System) -> None:
    code = await _dossier(system)
    assert (await system.processing.get(f"/dossiers/{code}", headers=officer("UBNDX"))).status_code == 404
    acted = await system.processing.post(
        f"/dossiers/{code}/decision", json={"approved": True}, headers=officer("UBNDX")
    )
    assert acted.status_code == 404
    history = (await system.processing.get(f"/dossiers/{code}/history")).json()
    assert [h["event"] for h in history] == ["Opened"], "nothing was recorded by the outsider"
    assert (await system.processing.get("/queues/UBNDX/active")).status_code == 403
    assert (await system.processing.get("/queues/STP/active", headers=auth("thanhtra"))).status_code == 200
    # the desk that received it sees it; another desk does not
    assert (await system.intake.get(f"/dossiers/{code}")).status_code == 200
    elsewhere = await system.intake.get(f"/dossiers/{code}", headers=auth("tiepnhan.dongthanh"))
    assert elsewhere.status_code == 404
    decided = await system.processing.post(
        f"/dossiers/{code}/decision", json={"approved": True}, headers=leader("STP")
    )
    assert decided.status_code == 200, decided.text
    decided_by = (await system.processing.get(f"/dossiers/{code}/history")).json()[-1]["actor"]
    assert decided_by == {"user_id": "lanhdao.stp", "role": "leader", "agency": "STP", "channel": 1}


async def test_the_actor_comes_from_the_token_never_from_the_body(system: System) -> None:
    claimed = {"user_id": "ke.mao.danh", "role": "leader", "agency": "STP", "channel": 1}
    refused = await system.intake.post("/dossiers", json={**receive_body("LLTP"), "actor": claimed})
    assert refused.status_code == 422
    assert "bearer token" in str(refused.json()["error"]["problems"])
    code = await _dossier(system)
    desk = (await system.intake.get(f"/dossiers/{code}")).json()["registered_by"]
    assert desk == {"user_id": "tiepnhan", "role": "front_desk", "agency": "TTPVHCC", "channel": 1}
    forged = await system.processing.post(
        f"/dossiers/{code}/decision", json={"approved": True, "actor": claimed}
    )
    assert forged.status_code == 422


async def test_a_desk_receives_only_at_its_own_desk_and_retired_desks_receive_nothing(system: System) -> None:
    other = await system.intake.post("/dossiers", json=receive_body("LLTP", receiving_point="PHUONG-DT"))
    assert other.status_code == 403 and other.json()["error"]["code"] == "other_desk"
    retired = await system.intake.post(
        "/dossiers",
        json=receive_body("LLTP", receiving_point="HUYEN-SL"),
        headers=_token_for((Role.FRONT_DESK,), "HUYEN-SL"),
    )
    assert retired.status_code == 422 and retired.json()["error"]["code"] == "desk_retired"
    own = await system.intake.post("/dossiers", json=receive_body("LLTP"), headers=auth("tiepnhan.dongthanh"))
    assert own.status_code == 201 and own.json()["receiving_point"] == "PHUONG-DT"


async def test_citizens_track_their_dossier_with_the_secret_and_nothing_else(system: System) -> None:
    received = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    code, secret = received.json()["code"], received.json()["tracking_secret"]
    assert len(secret) >= 22  # 128 bits, URL-safe
    assert (await system.intake.get(f"/dossiers/{code}")).json()["tracking_secret"] is None, "shown once"
    stranger = {"Authorization": ""}
    seen = await eventually(
        lambda: system.processing.get(f"/track/{code}", headers={**stranger, "X-Tracking-Secret": secret}),
        lambda r: r.status_code == 200,
    )
    view = seen.json()
    assert view["dossier_code"] == code and view["status"]["vi"] and view["appointment"]
    assert view["explanation"] and view["history"][0]["occurred_at"]
    text = seen.text
    for personal in ("Trần Thị Bích Ngọc", "001190012345", "0912345678", "tiepnhan"):
        assert personal not in text
    wrong = await system.processing.get(f"/track/{code}", headers={**stranger, "X-Tracking-Secret": "x" * 22})
    unknown = await system.processing.get("/track/NOPE-1", headers={**stranger, "X-Tracking-Secret": secret})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    statuses = [
        (await system.processing.get(f"/track/{code}?secret=guess{i}", headers=stranger)).status_code
        for i in range(40)
    ]
    assert 429 in statuses, "a guesser meets the rate limit"


async def test_a_transfer_goes_only_to_a_known_department_or_agency(system: System) -> None:
    code = await _dossier(system)
    nowhere = await system.processing.post(f"/dossiers/{code}/transfer", json={"to_department": "SXX"})
    assert nowhere.status_code == 422 and nowhere.json()["error"]["code"] == "unknown_department"
    assert "STC" in nowhere.json()["error"]["known"]
    moved = await system.processing.post(f"/dossiers/{code}/transfer", json={"to_department": "STC"})
    assert moved.status_code == 200 and moved.json()["department_code"] == "STC"
