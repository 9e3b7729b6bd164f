"""The demo: a handful of dossiers across departments and channels, seeded over HTTP.

Every request carries an Idempotency-Key derived from its place in the demo, and commands
that already happened answer 409, so a second `make run` seeds nothing twice.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from shared.auth.dev_issuer import DevIssuer, demo_user
from shared.auth.principal import Role

DEMO_DOSSIERS = 12
APPLICANTS = [
    ("Nguyễn Văn An", "001085012345", "0912000001", "12 Lê Lợi, phường Bến Thành, TP. Hồ Chí Minh"),
    ("Trần Thị Bình", "031190004567", "0912000002", "45 Trần Phú, phường Ba Đình, Hà Nội"),
    ("Lê Hoàng Cường", "048095007890", "0912000003", "8 Nguyễn Huệ, phường Thuận Hóa, Huế"),
    ("Phạm Thu Dung", "092188001122", "0912000004", "102 Hai Bà Trưng, phường Ninh Kiều, Cần Thơ"),
    ("Hoàng Minh Đức", "036201003344", "0912000005", "7 Lạch Tray, phường Ngô Quyền, Hải Phòng"),
    ("Vũ Ngọc Hà", "040099005566", "0912000006", "21 Quang Trung, phường Vinh Phú, Nghệ An"),
]


def _body(procedure: dict[str, Any], index: int) -> dict[str, Any]:
    name, cccd, phone, address = APPLICANTS[index % len(APPLICANTS)]
    channels = [int(c) for c in procedure["channels"]]
    channel = channels[index % len(channels)]
    body: dict[str, Any] = {
        "procedure_code": procedure["code"],
        "applicant": {"full_name": name, "citizen_id": cccd, "phone": phone, "address": address},
        "channel": channel,
        "postal_return": index % 3 == 0,
    }
    if channel == 2:
        body["online_level"] = "full" if index % 2 else "partial"
    return body


def seed_demo(
    urls: dict[str, str], issuer: DevIssuer, *, count: int = DEMO_DOSSIERS, print_progress: bool = False
) -> list[str]:
    """Received by the centre's desk officer; half decided by an officer of each competent department."""
    codes: list[str] = []
    desk = {"Authorization": f"Bearer {issuer.token_for(demo_user('tiepnhan'))}"}
    with httpx.Client(timeout=10.0) as client:
        procedures = client.get(f"{urls['intake']}/procedures").json()
        departments: dict[str, str] = {}
        for index in range(count):
            procedure = procedures[(index * 7) % len(procedures)]
            response = client.post(
                f"{urls['intake']}/dossiers",
                json=_body(procedure, index),
                headers={**desk, "Idempotency-Key": f"demo-{index}"},
            )
            response.raise_for_status()
            codes.append(response.json()["code"])
            departments[codes[-1]] = procedure["department"]
        for index, code in enumerate(codes[: count // 2]):
            department = departments[code]
            officer = {
                "Authorization": "Bearer "
                + issuer.token(f"canbo.{department.lower()}", (Role.OFFICER,), department)
            }
            _wait_for_case(client, urls["processing"], code, officer)
            client.post(
                f"{urls['processing']}/dossiers/{code}/decision",
                json={"approved": index % 4 != 3, "reasons": "Hồ sơ không đủ điều kiện"},
                headers=officer,
            )
            client.post(f"{urls['processing']}/dossiers/{code}/result-ready", json={}, headers=officer)
    if print_progress:
        print(f"demo: {len(codes)} dossiers ({', '.join(codes[:3])}, …)", flush=True)
    return codes


def _wait_for_case(
    client: httpx.Client, url: str, code: str, headers: dict[str, str], timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"{url}/dossiers/{code}", headers=headers).status_code == 200:
            return
        time.sleep(0.05)
    raise RuntimeError(f"processing never opened a case for {code}")
