"""The counter's rules for a filing, without I/O: what the catalogue allows, what the desk may
do, and the terms a received dossier is judged by.

Each rule either returns what it found or raises a ``Refusal`` with its code and both messages;
the use cases (``receiving.py``) call them in order and the HTTP edge only answers. Sources:
Decree 118/2025 Art. 15 (the desk checks the documents list and asks for everything missing at
once), Circular 03/2025 Annex I (forms 01–03), the catalogue's channels and desks.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from services.intake.appointment import appointment
from services.intake.catalogue import Catalogue, Procedure, UnknownProcedure
from shared.contracts import Channel
from shared.refusal import Refusal


class TickedDocument(Protocol):
    """A line of the procedure's documents list the desk ticked (the request's ``DocumentTicked``)."""

    @property
    def id(self) -> str: ...
    @property
    def form(self) -> str | None: ...
    @property
    def count(self) -> int | None: ...


def procedure_in(catalogue: Catalogue, code: str) -> Procedure:
    try:
        return catalogue.procedure(code)
    except UnknownProcedure:
        raise Refusal(
            "unknown_procedure",
            f"Thủ tục {code} không có trong danh mục",
            f"Procedure {code} is not in the catalogue",
        ) from None


def check_channel(procedure: Procedure, channel: Channel, online_level: str | None) -> None:
    allowed = [int(c) for c in procedure.channels]
    if int(channel) not in allowed:
        raise Refusal(
            "channel_not_allowed",
            f"Thủ tục {procedure.code} không tiếp nhận qua kênh {int(channel)}",
            f"Procedure {procedure.code} does not accept channel {channel.name}",
            allowed_channels=allowed,
        )
    if (int(channel) == Channel.ONLINE) != (online_level is not None):
        raise Refusal(
            "online_level_mismatch",
            "Mức độ trực tuyến chỉ dùng (và bắt buộc) cho hồ sơ nộp trực tuyến",
            "online_level is required for online dossiers and only for them",
        )


def documents_handed(
    procedure: Procedure, ticked: Sequence[TickedDocument] | None, outcome: str
) -> list[dict[str, Any]] | None:
    """The papers handed in, named from the procedure's list (None: the desk ticked none); a
    dossier missing a required one cannot be received, only asked to complete."""
    if ticked is None:
        return None
    listed = {d.id: d for d in procedure.documents}
    handed: list[dict[str, Any]] = []
    for line in ticked:
        known = listed.get(line.id)
        if known is None:
            raise Refusal(
                "unknown_document",
                f"Thủ tục {procedure.code} không có thành phần hồ sơ {line.id}",
                f"Procedure {procedure.code} lists no document {line.id}",
                known=list(listed),
            )
        if any(h["id"] == line.id for h in handed):
            raise Refusal(
                "document_repeated",
                f"Thành phần hồ sơ {line.id} được kê hai lần",
                f"Document {line.id} is listed twice",
            )
        handed.append(
            {
                "id": known.id,
                "name": known.name_vi,
                "form": line.form or str(known.form.value),
                "count": line.count or known.count,
            }
        )
    missing = procedure.missing_documents({h["id"] for h in handed})
    if outcome == "received" and missing:
        raise Refusal(
            "documents_missing",
            "Hồ sơ còn thiếu giấy tờ bắt buộc: "
            + "; ".join(d.name_vi for d in missing)
            + ". Hãy hướng dẫn bổ sung (mẫu 02) thay vì tiếp nhận",
            "Required documents are missing: "
            + "; ".join(d.name_en for d in missing)
            + ". Ask for completion (form 02) instead of receiving",
            missing=[d.id for d in missing],
        )
    return handed


def receiving_point(catalogue: Catalogue, code: str | None) -> Any:
    """The desk that receives; by default the provincial centre (the first province-level desk)."""
    points = catalogue.receiving_points
    if code is None:
        return next(p for p in points if p.level == "province")
    for point in points:
        if point.code == code:
            return point
    raise Refusal(
        "unknown_receiving_point",
        f"Không có điểm tiếp nhận {code}",
        f"No receiving point {code}",
        known=[p.code for p in points],
    )


def check_own_desk(agency: str, desk: str) -> None:
    """An officer receives at the desks of their own centre only."""
    if agency != desk:
        raise Refusal(
            "other_desk",
            f"Cán bộ của {agency} không tiếp nhận tại điểm {desk}",
            f"An officer of {agency} cannot receive at desk {desk}",
            status=403,
            your_unit=agency,
        )


def check_open(desk: Any, at: datetime) -> None:
    """A retired desk (the district tier ended on 2025-06-30) receives nothing after its last day."""
    if desk.until is not None and at.date() > desk.until:
        raise Refusal(
            "desk_retired",
            f"Điểm tiếp nhận {desk.code} đã ngừng tiếp nhận từ sau ngày {desk.until:%d/%m/%Y}",
            f"Desk {desk.code} stopped receiving after {desk.until.isoformat()}",
            until=desk.until.isoformat(),
        )


def check_pickup_channel(channel: Channel) -> None:
    """A dossier the postal service collected is filed through the postal channel."""
    if int(channel) != Channel.POSTAL:
        raise Refusal(
            "pickup_needs_postal_channel",
            "Hồ sơ do bưu chính thu gom phải nộp qua kênh bưu chính (3)",
            "A dossier collected by the postal service is filed through the postal channel (3)",
        )


def receipt_terms(
    catalogue: Catalogue,
    procedure: Procedure,
    received_at: datetime,
    postal_return: bool,
    paid_online: bool,
    documents_scanned: bool,
    secret_hash: str,
) -> dict[str, Any]:
    """What a received dossier is judged by, and the hash of the secret its receipt carries."""
    calendar = catalogue.department(procedure.department).calendar
    return {
        "calendar": calendar,
        "postal_return": postal_return,
        "legal_days": procedure.legal_days,
        "legal_hours": procedure.legal_hours,
        "same_day": procedure.same_day,
        "same_day_cutoff": procedure.same_day_cutoff,
        "supplement_policy": str(catalogue.supplement_policy(procedure.code).value),
        "agency_shares": procedure.agency_shares,
        "fee_vnd": procedure.fee_vnd,
        "paid_online": paid_online,
        "documents_scanned": documents_scanned,
        "electronic_result": procedure.electronic_result,
        "received_at": received_at,
        "due_at": appointment(procedure, received_at, calendar),
        "tracking_hash": secret_hash,
    }


def with_pickup(terms: dict[str, Any], reference: str | None) -> dict[str, Any]:
    """A dossier collected by the post names its pickup, so that scoring links the two."""
    return {**terms, "pickup_reference": reference} if reference else terms


def new_tracking_secret() -> str:
    """Mã tra cứu: 128 random bits, printed on the receipt (QR) and never stored."""
    return secrets.token_urlsafe(16)


def tracking_hash(secret: str) -> str:
    # The secret is random with 128 bits, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(secret.encode()).hexdigest()
