"""Intake's edge for personal data: reading the applicant in clear (logged), and erasure.

Every read in clear goes through ``applicant_for``, which records an access event with the
reader the caller passes. Erasure deletes the data subject's key (every dossier of that
citizen becomes unreadable everywhere) and records the fact as an event on the dossier.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query

from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.domain import Dossier
from services.intake.schemas import ApplicantView, ErasureRequest
from shared.auth.guard import acting_caller
from shared.contracts import Actor
from shared.host.errors import ApiError, not_found
from shared.host.openapi_errors import errors
from shared.pii import ERASED, UNREADABLE, KeyRing, SealBroken, is_sealed
from shared.pii.access import access_events, record_access
from shared.pii.retention import retained_until, retention_years

log = logging.getLogger(__name__)


async def purpose_param(
    purpose: str = Query(
        default="xem hồ sơ / view", min_length=1, max_length=200, description="why it is read"
    ),
) -> str:
    return purpose


# Every route that shows personal data says why it is read (recorded with the reader).
Purpose = Annotated[str, Depends(purpose_param)]


def view_of(person: dict[str, Any] | None, text: str = ERASED) -> ApplicantView:
    if person is None:
        return ApplicantView(full_name=text, citizen_id=text, address=text, erased=text == ERASED)
    return ApplicantView(**{k: (str(v) if v is not None else None) for k, v in person.items()})


async def applicant_for(
    pool: asyncpg.Pool, keyring: KeyRing, dossier: Dossier, *, reader: Actor, purpose: str
) -> ApplicantView:
    """The applicant in clear for ``reader``, recorded as an access event; a placeholder once
    the subject's key is erased (never an error)."""
    if not is_sealed(dossier.applicant):  # recorded before encryption (an old demo folder)
        person: dict[str, Any] | None = dossier.applicant
    else:
        try:
            person = await keyring.open(pool, dossier.applicant)
        except SealBroken:
            log.error("dossier %s: the sealed applicant does not authenticate", dossier.code)
            return view_of(None, UNREADABLE)
        if person is None:
            return view_of(None)
    await record_access(pool, reader=reader, dossier_code=dossier.code, purpose=purpose)
    return view_of(person)


def build_personal_router(pool: Any, app: IntakeApplication, keyring: KeyRing) -> APIRouter:
    router = APIRouter(tags=["personal data"])

    @router.get(
        "/dossiers/{code}/personal-data-access", summary="Nhật ký truy cập dữ liệu cá nhân (access log)"
    )
    async def accesses(code: str) -> list[dict[str, Any]]:
        await _load(app, code)
        return await access_events(pool(), code)

    @router.post(
        "/dossiers/{code}/erasure", summary="Xóa dữ liệu cá nhân (crypto-shredding)", responses=errors(409)
    )
    async def erase_route(code: str, body: ErasureRequest) -> dict[str, Any]:
        caller = acting_caller()
        return await erase(pool(), app, keyring, code, body, actor=caller.actor())

    return router


async def erase(
    pool: asyncpg.Pool,
    app: IntakeApplication,
    keyring: KeyRing,
    code: str,
    body: ErasureRequest,
    *,
    actor: dict[str, Any],
) -> dict[str, Any]:
    """Erases the data subject of dossier ``code``: refused while a dossier of theirs is in its
    retention period, unless a legal obligation is cited (``shared.pii.retention``). Who may
    erase is the policy table's business (roles dpo and ops)."""
    dossier = await _load(app, code)
    if not is_sealed(dossier.applicant):
        raise ApiError(
            409,
            "not_encrypted",
            "Hồ sơ được ghi trước khi mã hóa dữ liệu cá nhân: không thể xóa bằng khóa",
            "The dossier was recorded before personal data was encrypted: it cannot be erased by key",
        )
    key_ref = UUID(dossier.applicant["key_ref"])
    rows = await pool.fetch(
        "SELECT dossier_code, registered_at FROM pii.subject_dossiers WHERE key_ref = $1"
        " ORDER BY dossier_code",
        key_ref,
    )
    codes = [r["dossier_code"] for r in rows] or [code]
    now = datetime.now(UTC)
    years = retention_years()
    until = retained_until([r["registered_at"] for r in rows] or [dossier.registered_at], years)
    if until is not None and now < until and not (body.legal_obligation or "").strip():
        raise ApiError(
            409,
            "retention_period_running",
            f"Hồ sơ còn trong thời hạn lưu trữ đến {until.date().isoformat()}:"
            " chỉ xóa khi có nghĩa vụ pháp lý",
            f"The dossiers are kept until {until.date().isoformat()}: erasure needs a legal obligation",
            retained_until=until.isoformat(),
            retention_years=years,
            dossiers=codes,
        )
    live = await pool.fetchval("SELECT erased_at IS NULL FROM pii.data_keys WHERE key_ref = $1", key_ref)
    if not live:
        raise ApiError(
            409,
            "already_erased",
            "Dữ liệu cá nhân của hồ sơ này đã được xóa",
            "The personal data of this dossier was already erased",
        )
    # The fact first, then the key: a failure in between leaves a recorded erasure whose key a
    # retry deletes, never a deleted key without its record.
    await asyncio.to_thread(
        app.record_erasure,
        code,
        key_ref=str(key_ref),
        dossier_codes=codes,
        reason=body.reason,
        legal_obligation=body.legal_obligation,
        occurred_at=now,
        actor=actor,
    )
    async with pool.acquire() as conn:
        await keyring.erase(conn, key_ref)
    return {"dossier_code": code, "erased_at": now.isoformat(), "dossiers": codes, "key_ref": str(key_ref)}


async def _load(app: IntakeApplication, code: str) -> Dossier:
    try:
        return await asyncio.to_thread(app.dossier, code)
    except DossierNotFound:
        raise not_found("hồ sơ", "Dossier", code) from None
