"""Realistic filings: the catalogue's procedure mix, Vietnamese applicants, desk / online / post.

The rates are a plausible provincial centre's, not measured ones: most dossiers are civil
status and certifications at commune level, about a third arrive online, a few by post; about
one in ten is incomplete at the counter and a few are refused. Bodies carry no ``actor``: who
receives is the desk officer's bearer token (the load generator's ``Authorization`` header).
"""

from __future__ import annotations

import random
from typing import Any

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Hoài", "Gia", "Xuân"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Đức",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Huyền",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Ngọc",
    "Phong",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
]
STREETS = [
    "Lê Lợi",
    "Trần Phú",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Quang Trung",
    "Lý Thường Kiệt",
    "Phan Đình Phùng",
    "Nguyễn Trãi",
    "Lê Duẩn",
    "Hùng Vương",
    "Điện Biên Phủ",
    "Bà Triệu",
]
WARDS = [
    "phường Đông Thành",
    "phường Vinh Phú",
    "xã Tân Hòa",
    "phường Bến Thủy",
    "xã Hưng Lộc",
    "phường Trường Thi",
    "xã Nghi Phú",
]
PROVINCE = "tỉnh Nghệ An"
# Relative weights: certification and civil status dominate a one-stop desk's day.
WEIGHTS = {
    "CT-BANSAO": 18,
    "CT-CHUKY": 6,
    "HT-KHAISINH": 10,
    "HT-KETHON": 4,
    "LT-KHAISINH": 5,
    "LT-KHAITU": 2,
    "LLTP": 8,
    "DD-BIENDONG": 8,
    "DD-CAPDOI": 4,
    "GPLX-DOI": 6,
    "HKD": 4,
    "GPXD-NHAO": 4,
}
CHANNEL_SHARE = {1: 0.55, 2: 0.35, 3: 0.10}
INCOMPLETE_SHARE = 0.10
REFUSED_SHARE = 0.03
MISSING = ["Bản sao Giấy khai sinh", "Ảnh 4x6", "Tờ khai có chữ ký", "Giấy ủy quyền công chứng"]


def applicant(rng: random.Random) -> dict[str, Any]:
    sex_century = rng.choice("0123")  # 20th/21st century, male/female
    year = rng.randint(50, 99) if sex_century in "01" else rng.randint(0, 7)
    return {
        "full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "citizen_id": f"040{sex_century}{year:02d}{rng.randint(0, 999_999):06d}",
        "phone": f"09{rng.randint(0, 99_999_999):08d}",
        "address": f"Số {rng.randint(1, 300)} {rng.choice(STREETS)}, {rng.choice(WARDS)}, {PROVINCE}",
    }


class Filings:
    """Draws (path, body, idempotency key) for POSTs to intake, from ``GET /procedures``."""

    def __init__(self, procedures: list[dict[str, Any]], seed: int = 6) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible load, not secrets
        self.procedures = procedures
        self.weights = [WEIGHTS.get(p["code"], 1) for p in procedures]
        self.serial = 0

    def procedure(self) -> dict[str, Any]:
        return self.rng.choices(self.procedures, self.weights)[0]

    def channel(self, allowed: list[int]) -> int:
        shares = [CHANNEL_SHARE[c] for c in allowed]
        return int(self.rng.choices(allowed, shares)[0])

    def next(self, tag: str = "bench") -> tuple[str, dict[str, Any], str | None]:
        self.serial += 1
        procedure = self.procedure()
        channel = self.channel([int(c) for c in procedure["channels"]])
        body: dict[str, Any] = {
            "procedure_code": procedure["code"],
            "applicant": applicant(self.rng),
            "channel": channel,
        }
        if channel == 2:
            body["online_level"] = procedure.get("online_level") or "partial"
            if body["online_level"] not in ("full", "partial"):
                body["online_level"] = "partial"
        # Portals and the postal partner retry, so they send keys; the desk does not.
        key = f"{tag}-{self.serial}" if channel != 1 else None
        draw = self.rng.random()
        if draw < REFUSED_SHARE:
            return "/dossiers/refusals", {**body, "reasons": "Không thuộc thẩm quyền giải quyết"}, key
        if draw < REFUSED_SHARE + INCOMPLETE_SHARE:
            items = self.rng.sample(MISSING, self.rng.randint(1, 2))
            return "/dossiers/incomplete", {**body, "missing_items": items}, key
        body["postal_return"] = channel == 3 or self.rng.random() < 0.08
        body["paid_online"] = channel == 2 and self.rng.random() < 0.6
        return "/dossiers", body, key
