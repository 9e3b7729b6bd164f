"""Online filing (nộp hồ sơ trực tuyến): the rules, without I/O.

A citizen files a dossier for a procedure the catalogue offers online (Decree 42/2022 Art. 11:
"toàn trình" full, "một phần" partial). The filing is *registered* (national status 1): it
carries a code and a tracking secret, but nothing is counted yet. The desk then checks it under
the counter's rules (Circular 03/2025 Annex I): received, asked to complete, or refused. The
legal clock starts when the desk receives it; a receipt outside office hours counts from the next
working period of the competent department's calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.clock.calendar import WorkingCalendar
from shared.refusal import Refusal

# A dossier is a handful of pages; more files than this is a mistake, not a dossier.
MAX_DOCUMENTS = 10


class OnlineRefused(Refusal):
    """A filing the online service does not take: status, code and both messages."""

    def __init__(self, status: int, code: str, vi: str, en: str) -> None:
        super().__init__(code, vi, en, status=status)


def online_level_of(procedure: Any) -> str:
    """``full`` or ``partial`` for a procedure offered online; refused otherwise."""
    level = str(getattr(procedure.online_level, "value", procedure.online_level))
    if level not in ("full", "partial") or 2 not in [int(c) for c in procedure.channels]:
        raise OnlineRefused(
            422,
            "not_offered_online",
            f"Thủ tục {procedure.code} không cung cấp dịch vụ công trực tuyến",
            f"Procedure {procedure.code} is not offered online",
        )
    return level


def check_documents(count: int) -> None:
    if count < 1:
        raise OnlineRefused(
            422,
            "documents_required",
            "Hồ sơ trực tuyến phải có ít nhất một tài liệu đính kèm",
            "An online filing needs at least one uploaded document",
        )
    if count > MAX_DOCUMENTS:
        raise OnlineRefused(
            422,
            "too_many_documents",
            f"Tối đa {MAX_DOCUMENTS} tài liệu cho một hồ sơ",
            f"At most {MAX_DOCUMENTS} documents per filing",
        )


def online_receipt_time(acted_at: datetime, calendar: WorkingCalendar) -> datetime:
    """When a filing the desk receives at ``acted_at`` counts as received: then, if that is within
    office hours, otherwise the start of the next working period."""
    return calendar.next_working_moment(acted_at)


def owns(registered_by: dict[str, Any], user_id: str) -> bool:
    """Whether ``user_id`` is the citizen who filed it (a citizen sees only their own filings)."""
    return registered_by.get("role") == "citizen" and registered_by.get("user_id") == user_id
