"""Trạng thái hồ sơ: the national status code (``TrangThaiHoSo``, 1–10) from a dossier's events.

Codes (docs/domain-rules.md, "National status codes"): 1 newly registered, 2 received,
3 not received, 4 in processing, 5 supplement requested, 6 financial obligation requested,
7 citizen asked to withdraw, 8 processing stopped, 9 processed, 10 result returned. Code 6 holds
while an obligation requested through payments (``payments.charge_opened.v1`` of kind
``obligation``) is unpaid and the dossier is neither returned, withdrawn nor stopped: the result
waits for the payment, even when the decision is made.
"""

from __future__ import annotations

NEWLY_REGISTERED, RECEIVED, NOT_RECEIVED, IN_PROCESSING, SUPPLEMENT_REQUESTED = 1, 2, 3, 4, 5
FINANCIAL_OBLIGATION, WITHDRAWN, STOPPED, PROCESSED, RESULT_RETURNED = 6, 7, 8, 9, 10

NAMES: dict[int, str] = {
    1: "Mới đăng ký / newly registered",
    2: "Đã tiếp nhận / received",
    3: "Không được tiếp nhận / not received",
    4: "Đang xử lý / in processing",
    5: "Yêu cầu bổ sung / supplement requested",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính / financial obligation requested",
    7: "Công dân yêu cầu rút hồ sơ / withdrawn at the citizen's request",
    8: "Dừng xử lý / processing stopped",
    9: "Đã xử lý xong / processed",
    10: "Đã trả kết quả / result returned",
}


def national_status(
    *,
    outcome: str | None,
    case_opened: bool,
    paused: bool,
    finish_kind: str | None,
    returned: bool,
    obligation_due: bool = False,
) -> int:
    if returned:
        return RESULT_RETURNED
    if obligation_due and finish_kind not in ("withdrawn", "stopped", "closed"):
        return FINANCIAL_OBLIGATION
    if finish_kind == "decided":
        return PROCESSED
    if finish_kind == "withdrawn":
        return WITHDRAWN
    if finish_kind in ("stopped", "closed"):
        return STOPPED
    if paused or outcome == "incomplete":
        return SUPPLEMENT_REQUESTED
    if outcome == "refused":
        return NOT_RECEIVED
    if case_opened:
        return IN_PROCESSING
    if outcome == "received":
        return RECEIVED
    return NEWLY_REGISTERED
