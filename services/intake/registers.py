"""What the desk's pages list: the dossier register of a desk for a period (form 07), and the
applicants' masked names for the departments' work queues.

Codes are numbered per desk and day (``codes.py``), so a desk's dossiers of a day are its codes
1..last of that day: the register reads them without a table of its own.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.catalogue.in_force import CatalogueBook
from services.intake.codes import format_code
from services.intake.domain import Dossier
from services.intake.personal import applicant_for
from shared.auth.guard import Caller, acting_caller
from shared.auth.principal import Role
from shared.contracts import Actor
from shared.host.errors import ApiError
from shared.pii import KeyRing

MAX_DAYS = 31
MAX_ROWS = 2000
MAX_MASKED = 200
Codes = Annotated[list[str], Query(max_length=MAX_MASKED)]
From = Annotated[date, Query(alias="from")]
To = Annotated[date, Query(alias="to")]


def masked_name(full_name: str | None) -> str:
    """ "Nguyễn Văn An" -> "Nguyễn V. A.": the family name and initials, enough for an officer to
    tell dossiers apart and too little to identify the citizen outside the dossier."""
    words = (full_name or "").split()
    if not words:
        return ""
    return " ".join([words[0], *(f"{w[0]}." for w in words[1:])])


def build_register_router(
    pool: Any, app: IntakeApplication, keyring: KeyRing, book: CatalogueBook
) -> APIRouter:
    router = APIRouter(tags=["registers"])

    def may_see(caller: Caller, dossier: Dossier) -> bool:
        return caller.may_see(
            departments=(dossier.filing["department_code"],), desk=dossier.filing["receiving_point"]
        )

    def load(code: str) -> Dossier | None:
        try:
            return app.dossier(code)
        except DossierNotFound:
            return None

    @router.get("/applicants/masked", summary="Tên viết tắt của người nộp (work queues)")
    async def masked(code: Codes) -> dict[str, str]:
        """The masked name of each dossier the caller may read; others are left out (as unknown
        codes are). Each reading is in the personal-data access log, as a masked name."""
        caller = acting_caller()
        found: dict[str, str] = {}
        reader = Actor(**caller.actor())
        for one in dict.fromkeys(code):
            dossier = await asyncio.to_thread(load, one)
            if dossier is None or not may_see(caller, dossier):
                continue
            person = await applicant_for(
                pool(), keyring, dossier, reader=reader, purpose="hàng đợi: tên viết tắt"
            )
            found[one] = masked_name(person.full_name)
        return found

    @router.get("/registers/{desk}", summary="Sổ theo dõi hồ sơ (form 07) of a desk for a period")
    async def register(
        desk: str,
        date_from: From,
        date_to: To,
    ) -> list[dict[str, Any]]:
        caller = acting_caller()
        await book.refresh()
        point = next((r for r in book.desks_ever() if r.code == desk), None)
        if point is None:
            raise ApiError(404, "unknown_desk", f"Không có bộ phận một cửa {desk}", f"No desk {desk}")
        if caller.roles <= {Role.FRONT_DESK} and caller.principal.agency != desk:
            # another desk's officer could read none of its dossiers: an empty register printed
            # for it would say "no dossier that day", which is not true
            raise ApiError(
                403,
                "not_your_desk",
                f"Cán bộ của {caller.principal.agency} không xem được sổ theo dõi của {desk}",
                f"An officer of {caller.principal.agency} cannot read the register of {desk}",
                your_unit=caller.principal.agency,
            )
        if date_to < date_from or (date_to - date_from).days >= MAX_DAYS:
            raise ApiError(
                422,
                "period_invalid",
                f"Kỳ phải từ 1 đến {MAX_DAYS} ngày, ngày đầu không sau ngày cuối",
                f"The period must be 1 to {MAX_DAYS} days, its first day not after its last",
            )
        days = [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]
        counters = await pool().fetch(
            "SELECT day, last FROM intake.dossier_code_counters WHERE unit = $1 AND day = ANY($2::date[])"
            " ORDER BY day",
            point.agency_id,
            days,
        )
        codes = [format_code(point.agency_id, r["day"], n) for r in counters for n in range(1, r["last"] + 1)]
        rows: list[dict[str, Any]] = []
        reader = Actor(**caller.actor())
        for one in codes[:MAX_ROWS]:
            dossier = await asyncio.to_thread(load, one)  # a number handed out to a failed filing
            if dossier is None or not may_see(caller, dossier):
                continue
            person = await applicant_for(
                pool(), keyring, dossier, reader=reader, purpose="sổ theo dõi hồ sơ (mẫu 07)"
            )
            terms = dossier.terms or {}
            rows.append(
                {
                    "code": dossier.code,
                    "procedure_code": dossier.filing["procedure_code"],
                    "department_code": dossier.filing["department_code"],
                    "channel": int(dossier.filing["channel"]),
                    "outcome": dossier.outcome,
                    "registered_at": dossier.registered_at,
                    "received_at": dossier.received_at,
                    "due_at": terms.get("due_at"),
                    "backdate_reason": dossier.backdate_reason,
                    "recorded_at": dossier.created_on,
                    "applicant": {
                        "full_name": person.full_name,
                        "address": person.address,
                        "phone": person.phone,
                    },
                }
            )
        return rows

    return router
