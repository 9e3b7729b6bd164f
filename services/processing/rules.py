"""Why an action is refused: domain exceptions with a machine-readable code, in both languages."""

from __future__ import annotations

from collections.abc import Sequence

from shared.refusal import Refusal


class CaseRuleViolation(Refusal):
    """An action that the law or the case's state does not allow now."""

    status = 409


class InvalidTransition(CaseRuleViolation):
    def __init__(self, state: str, action: str, allowed: Sequence[str]) -> None:
        super().__init__(
            "invalid_transition",
            f"Không thể thực hiện '{action}' khi hồ sơ ở trạng thái '{state}'",
            f"Cannot {action} while the dossier is {state}",
            state=state,
            allowed_actions=list(allowed),
        )
        self.state = state
        self.action = action
        self.allowed = allowed


class InvalidCommand(CaseRuleViolation):
    """The command itself is malformed for this case (422, not a state conflict)."""

    status = 422
