"""Postal's pure rules: status order, shipment idempotency, signatures, the simulator's plans."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.postal.config import PostalConfig
from services.postal.domain import Shipment
from services.postal.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from services.postal.status import moves_forward
from services.postal_sim.config import SimConfig
from services.postal_sim.journey import plan, tracking_number
from services.postal_sim.signing import signed_headers
from shared.host.errors import ApiError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _shipment() -> Shipment:
    s = Shipment(
        dossier_id=uuid.uuid4(), dossier_code="000.00.00.H01-260302-0001", kind="delivery",
        operator="VNPOST", occurred_at=NOW, actor={"user_id": "x"}, sender=None,
        recipient={"full_name": "A", "phone": None, "address": "B"}, procedure_code="P",
        backdate_reason=None,
    )  # fmt: skip
    s.book(tracking_number="EB1", fee_vnd=28_000, at=NOW)
    return s


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ("booked", "accepted", True),
        ("in_transit", "picked_up", False),
        ("delivered", "returned_to_sender", False),
        ("delivered", "failed", False),
        ("failed", "delivered", False),
        ("failed", "returned_to_sender", True),
        ("returned_to_sender", "delivered", False),
        ("opened", "failed", True),
    ],
)
def test_notices_move_a_shipment_only_forward(current: str, new: str, moves: bool) -> None:
    assert moves_forward(current, new) is moves


def test_a_shipment_applies_each_notice_once_and_books_once() -> None:
    s = _shipment()
    assert not s.book(tracking_number="EB2", fee_vnd=1, at=NOW)
    assert s.tracking_number == "EB1"
    assert s.track(notice_id="n1", status="in_transit", at=NOW)
    assert not s.track(notice_id="n1", status="in_transit", at=NOW)
    assert s.track(notice_id="n0", status="picked_up", at=NOW)  # late: history only
    assert s.status == "in_transit" and s.history[-1]["late"] is True
    assert s.track(notice_id="n2", status="failed", at=NOW, reason="vắng nhà")
    assert s.track(notice_id="n3", status="returned_to_sender", at=NOW, reason="chuyển hoàn")
    assert (s.status, s.failure_reason) == ("returned_to_sender", "vắng nhà")


def test_signatures_from_the_operator_side_verify_and_tampering_does_not() -> None:
    body = b'{"tracking_number":"EB1","status":"accepted"}'
    headers = signed_headers("s3cret", body, "e-1", timestamp=1_700_000_000)
    args = {"signature": headers["X-Postal-Signature"], "timestamp": headers["X-Postal-Timestamp"]}
    verify(secret="s3cret", body=body, now=1_700_000_100, tolerance_s=300, **args)
    for secret, signed_body, now, code in [
        ("other", body, 1_700_000_100, "signature_invalid"),
        ("s3cret", body + b" ", 1_700_000_100, "signature_invalid"),
        ("s3cret", body, 1_700_000_301, "webhook_stale"),
    ]:
        with pytest.raises(ApiError) as refused:
            verify(secret=secret, body=signed_body, now=now, tolerance_s=300, **args)
        assert refused.value.code == code and refused.value.status == 401


def test_tracking_numbers_carry_a_valid_s10_check_digit() -> None:
    number = tracking_number(random.Random(1))
    digits = [int(c) for c in number[2:10]]
    check = 11 - sum(d * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    assert number.endswith("VN") and int(number[10]) == {10: 0, 11: 5}.get(check, check)


def test_a_seeded_plan_repeats_and_honours_its_shares() -> None:
    config = SimConfig(
        failure_share=1.0, duplicate_share=0.0, reorder_share=1.0, min_delay_s=0, max_delay_s=0
    )
    one = plan(random.Random(3), config, "EB1", "A")
    assert one == plan(random.Random(3), config, "EB1", "A")
    assert [s.status for s in one] == ["accepted", "in_transit", "picked_up", "failed", "returned_to_sender"]
    assert all(s.reason for s in one[-2:])


def test_operator_settings_are_read_from_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTAL_OPERATORS", "vnpost=http://127.0.0.1:1, VIETTEL=http://127.0.0.1:2,bad")
    monkeypatch.setenv("POSTAL_WEBHOOK_SECRETS", "VNPOST=a,VIETTEL=b")
    config = PostalConfig.from_env()
    assert config.operators == {"VNPOST": "http://127.0.0.1:1", "VIETTEL": "http://127.0.0.1:2"}
    assert config.secrets == {"VNPOST": ("a",), "VIETTEL": ("b",)} and config.default_operator == "VNPOST"


def test_two_secrets_during_a_rotation_are_both_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTAL_WEBHOOK_SECRETS", "VNPOST=new|old")
    secrets = PostalConfig.from_env().secrets["VNPOST"]
    assert secrets == ("new", "old")
    body, now = b'{"x": 1}', 1_700_000_100
    for secret in ("new", "old"):
        headers = signed_headers(secret, body, "e-1", timestamp=now)
        verify(secret=secrets, signature=headers[SIGNATURE_HEADER], timestamp=headers[TIMESTAMP_HEADER],
               body=body, now=now, tolerance_s=300)  # fmt: skip
    forged = signed_headers("retired", body, "e-1", timestamp=now)
    with pytest.raises(ApiError) as refused:
        verify(secret=secrets, signature=forged[SIGNATURE_HEADER], timestamp=forged[TIMESTAMP_HEADER],
               body=body, now=now, tolerance_s=300)  # fmt: skip
    assert refused.value.code == "signature_invalid"


def test_no_published_default_secret_outside_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POSTAL_WEBHOOK_SECRETS", raising=False)
    monkeypatch.delenv("POSTAL_SIM_SECRET", raising=False)
    monkeypatch.setenv("MOTCUA_ENV", "production")
    with pytest.raises(RuntimeError, match="POSTAL_WEBHOOK_SECRETS"):
        PostalConfig.from_env()
    with pytest.raises(RuntimeError, match="POSTAL_SIM_SECRET"):
        SimConfig.from_env()
    # In development each data folder gets its own generated secret, the same for both sides.
    monkeypatch.setenv("MOTCUA_ENV", "development")
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path))
    postal = PostalConfig.from_env().secrets["VNPOST"]
    assert postal == (SimConfig.from_env().secret,) and len(postal[0]) >= 40
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "other"))
    assert PostalConfig.from_env().secrets["VNPOST"] != postal
