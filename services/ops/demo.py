"""The demo: a handful of dossiers across departments and channels, seeded over HTTP.

Every request carries an Idempotency-Key derived from its place in the demo, and commands
that already happened answer 409, so a second `make run` seeds nothing twice.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

DEMO_DOSSIERS = 12
OFFICER = {"user_id": "demo.letan", "role": "front_desk", "agency": "TTHCC", "channel": 1}
DEPARTMENT_OFFICER = {"user_id": "demo.chuyenvien", "role": "officer", "agency": "SO", "channel": 1}
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
        "actor": {**OFFICER, "channel": channel},
    }
    if channel == 2:
        body["online_level"] = "full" if index % 2 else "partial"
    return body


def seed_demo(urls: dict[str, str], *, count: int = DEMO_DOSSIERS, print_progress: bool = False) -> list[str]:
    codes: list[str] = []
    with httpx.Client(timeout=10.0) as client:
        procedures = client.get(f"{urls['intake']}/procedures").json()
        for index in range(count):
            procedure = procedures[(index * 7) % len(procedures)]
            response = client.post(
                f"{urls['intake']}/dossiers",
                json=_body(procedure, index),
                headers={"Idempotency-Key": f"demo-{index}"},
            )
            response.raise_for_status()
            codes.append(response.json()["code"])
        for index, code in enumerate(codes[: count // 2]):
            _wait_for_case(client, urls["processing"], code)
            actor = {**DEPARTMENT_OFFICER}
            client.post(
                f"{urls['processing']}/dossiers/{code}/decision",
                json={"approved": index % 4 != 3, "reasons": "Hồ sơ không đủ điều kiện", "actor": actor},
            )
            client.post(f"{urls['processing']}/dossiers/{code}/result-ready", json={"actor": actor})
    if print_progress:
        print(f"demo: {len(codes)} dossiers ({', '.join(codes[:3])}, …)", flush=True)
    return codes


def _wait_for_case(client: httpx.Client, url: str, code: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"{url}/dossiers/{code}").status_code == 200:
            return
        time.sleep(0.05)
    raise RuntimeError(f"processing never opened a case for {code}")
