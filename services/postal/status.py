"""Where a shipment stands, and which tracking notices may move it.

Operators send notices at least once and in no guaranteed order, so a notice moves a shipment
only forward. A delivered or returned shipment is finished; a failed one may still come back
to the sender, which is what happens to an undeliverable parcel.
"""

from __future__ import annotations

from typing import Literal

Status = Literal[
    "opened", "booked", "accepted", "picked_up", "in_transit", "delivered", "failed", "returned_to_sender"
]

RANK: dict[str, int] = {
    "opened": 0,
    "booked": 1,
    "accepted": 2,
    "picked_up": 3,
    "in_transit": 4,
    "delivered": 5,
    "failed": 5,
    "returned_to_sender": 6,
}
FINISHED = frozenset({"delivered", "returned_to_sender"})
FAILURES = frozenset({"failed", "returned_to_sender"})

# Vietnamese labels for the history a desk officer reads.
LABELS_VI = {
    "opened": "đã tạo bưu gửi",
    "booked": "đã đặt dịch vụ với bưu chính",
    "accepted": "bưu chính đã nhận yêu cầu",
    "picked_up": "bưu tá đã nhận bưu gửi",
    "in_transit": "đang vận chuyển",
    "delivered": "đã phát thành công",
    "failed": "phát không thành công",
    "returned_to_sender": "đã chuyển hoàn",
}


def moves_forward(current: str, new: str) -> bool:
    """True if a notice of ``new`` may change a shipment that stands at ``current``."""
    if current in FINISHED:
        return False
    return RANK[new] > RANK[current]
