"""Rule sets keyed by effective date: a dossier is judged by the rules in force when it was received.

Never read a legal constant from anywhere else: add a new ``RuleSet`` with its ``effective_from``
when the law changes, so that replaying old dossiers keeps giving the answers that were right then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Literal

SupplementPolicy = Literal["restart", "resume"]


@dataclass(frozen=True)
class RuleSet:
    effective_from: date
    legal_basis: str
    # A supplement request during processing must come within this many working hours of receipt,
    # counted from the latest (re)start of the clock over running time only (see SOURCES).
    supplement_request_window_hours: int = 8
    # A citizen who has not completed the dossier within this many working days has it closed.
    supplement_deadline_days: int = 15
    # "restart": a full new legal time from the complete dossier; "resume": time used is deducted.
    default_supplement_policy: SupplementPolicy = "restart"
    # Supplement requests allowed before Decision 766 counts the dossier late.
    max_supplement_requests_on_time: int = 1
    # The appointment may be re-set (apology + new date) at most this many times.
    max_reappointments: int = 1
    # The apology and new appointment must go out at least this many working days before the due.
    apology_notice_days_before_due: int = 1
    # Local cut-off for same-day procedures: received at/after it counts from the next working day.
    same_day_cutoff: time = time(15, 0)
    # Back-dated entries (system down, paper first) are accepted within this many working hours,
    # with a reason. A local setting, not a legal one.
    backdate_limit_hours: int = 16
    # Postal filings: the clock starts when the agency takes the dossier over from postal staff.
    postal_clock_starts_at_handover: bool = True


RULESETS: tuple[RuleSet, ...] = (
    RuleSet(
        effective_from=date(2018, 8, 21),
        legal_basis=(
            "Decree 61/2018/NĐ-CP (one-stop mechanism, in force 2018-08-21), amended by Decree 107/2021/NĐ-CP"
        ),
        # Not verified against the text of Decree 61/2018: the defaults are those of the current
        # set, and procedures/agencies that resume instead say so in their own configuration.
    ),
    RuleSet(
        effective_from=date(2025, 7, 1),
        legal_basis=(
            "Decree 118/2025/NĐ-CP (one-stop and inter-agency one-stop, in force 2025-07-01); "
            "Decree 297/2025/NĐ-CP Art. 6 cl. 4(a) (restart after supplement) and cl. 5 "
            "(appointment re-set at most once); Decision 766/QĐ-TTg (2022) for the index"
        ),
        default_supplement_policy="restart",
    ),
)


# Where each number of a rule set comes from. Clause references that could not be checked against
# the published text are marked so; local settings are marked as such.
SOURCES: dict[str, str] = {
    "supplement_request_window_hours": (
        "Decree 118/2025/NĐ-CP, supplement requests during processing: within 8 working hours of "
        "receipt (article not verified here); counted from the latest (re)start because Decree "
        "297/2025/NĐ-CP Art. 6 cl. 4(a) restarts the time limit from the complete dossier"
    ),
    "supplement_deadline_days": (
        "Decree 118/2025/NĐ-CP: a dossier the citizen does not complete within 15 working days of "
        "the request is closed (article not verified here)"
    ),
    "default_supplement_policy": "Decree 297/2025/NĐ-CP Art. 6 cl. 4(a): the time limit restarts",
    "max_supplement_requests_on_time": (
        "Decision 766/QĐ-TTg (2022), progress indicator: more than one supplement request counts "
        "the dossier late, supplement time subtracted"
    ),
    "max_reappointments": "Decree 297/2025/NĐ-CP Art. 6 cl. 5; Decree 118/2025/NĐ-CP: re-set at most once",
    "apology_notice_days_before_due": (
        "Decree 118/2025/NĐ-CP; Decree 297/2025/NĐ-CP Art. 6 cl. 5: the apology goes out at the "
        "latest 1 working day before the due date"
    ),
    "same_day_cutoff": (
        "Decree 23/2015/NĐ-CP Art. 7 as amended by Decree 07/2025/NĐ-CP (certification: received "
        "after 15:00, returned the next working day); Circular 21/2019/TT-BGDĐT Art. 31 cl. 2"
    ),
    "backdate_limit_hours": "Local setting (not a legal rule): how late an entry may be dated back",
    "postal_clock_starts_at_handover": (
        "Decree 118/2025/NĐ-CP: a postal filing counts from the agency's takeover from the postal "
        "staff; Decision 45/2016/QĐ-TTg (public postal service)"
    ),
}


def ruleset_for(received_on: date) -> RuleSet:
    """The rule set in force on the day the dossier was received."""
    chosen: RuleSet | None = None
    for ruleset in sorted(RULESETS, key=lambda r: r.effective_from):
        if ruleset.effective_from <= received_on:
            chosen = ruleset
    if chosen is None:
        raise ValueError(f"no rule set in force on {received_on.isoformat()}")
    return chosen
