"""The verified caller: a user, the roles they hold and the unit (agency) they work for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Vai trò. A token may carry several; a route names the ones it admits."""

    FRONT_DESK = "front_desk"  # cán bộ tiếp nhận, bộ phận một cửa: receives at the desks of their unit
    OFFICER = "officer"  # cán bộ chuyên môn: the dossiers of their department
    LEADER = "leader"  # lãnh đạo: their agency's dossiers; acknowledges leadership reports
    OPS = "ops"  # vận hành: lag, dead letters, replay, redrive
    AUDITOR = "auditor"  # thanh tra, kiểm tra: reads everything, changes nothing
    DPO = "dpo"  # bảo vệ dữ liệu cá nhân: erasure of a data subject's personal data
    CITIZEN = "citizen"  # công dân, doanh nghiệp


# When a caller holds several roles that a route admits, the event records the first of these.
ROLE_PRECEDENCE = (
    Role.LEADER,
    Role.OFFICER,
    Role.FRONT_DESK,
    Role.DPO,
    Role.OPS,
    Role.AUDITOR,
    Role.CITIZEN,
)


@dataclass(frozen=True)
class Principal:
    """Người dùng đã xác thực: taken from a verified token only."""

    user_id: str
    roles: frozenset[Role]
    agency: str  # the unit code: a department (``STP``) or a desk (``TTPVHCC``)
    name: str | None = None

    def acting_role(self, admitted: frozenset[Role]) -> Role | None:
        """The role this caller acts in on a route that admits ``admitted``."""
        for role in ROLE_PRECEDENCE:
            if role in self.roles and role in admitted:
                return role
        return None

    def actor(self, role: Role, channel: int = 1) -> dict[str, Any]:
        """The ``Actor`` part of a contract, as stored on every event."""
        return {"user_id": self.user_id, "role": str(role), "agency": self.agency, "channel": channel}
