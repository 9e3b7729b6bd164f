"""Scoring's pure domain: facts from events, figures, national status, the 766 formulas."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import contribution, total
from services.scoring.domain.fold import fold
from services.scoring.domain.index766 import digital_counted, indicators, proportional
from services.scoring.domain.periods import bounds
from shared.contracts import (
    Actor,
    DossierDecided,
    DossierReceived,
    DossierRefused,
    LeadershipReported,
    ProcessingStopped,
    ResultReturned,
    SealedPersonalData,
    SupplementReceived,
    SupplementRequested,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ACTOR = Actor(user_id="cb", role="officer", agency="STP", channel=1)
PERSON = SealedPersonalData(key_ref=uuid.UUID(int=1), ciphertext="c2VhbGVk")
MON = datetime(2026, 3, 2, 8, 0, tzinfo=VN)  # a Monday without holidays around it


class Dossier:
    """Builds one dossier's contract events; each event gets the next version."""

    def __init__(self, code: str, legal_days: int = 3, **received: object) -> None:
        self.id, self.code, self.version, self.events = uuid.uuid4(), code, 0, []
        self.legal_days, self.received = legal_days, received

    def _common(self, service: str, at: datetime, recorded: datetime | None = None) -> dict[str, object]:
        self.version += 1
        return {
            "event_id": f"{service}:{self.id}:{self.version}",
            "dossier_id": self.id,
            "dossier_code": self.code,
            "occurred_at": at,
            "recorded_at": recorded or at,
            "actor": ACTOR,
        }

    def receive(self, at: datetime = MON, **extra: object) -> Dossier:
        fields = (
            {
                "procedure_code": "LLTP",
                "department_code": "STP",
                "receiving_point": "TTHCC",
                "channel": 1,
                "applicant": PERSON,
                "postal_return": False,
                "legal_days": self.legal_days,
                "received_at": at,
                "due_at": at + timedelta(days=self.legal_days),
            }
            | self.received
            | extra
        )
        self.events.append(DossierReceived(**self._common("intake", at), **fields))
        return self

    def case(self, cls: type, at: datetime, **extra: object) -> Dossier:
        common = self._common("processing", at, extra.pop("recorded_at", None))  # type: ignore[arg-type]
        self.events.append(cls(**common, department_code="STP", due_at=MON + timedelta(days=3), **extra))
        return self

    def decide(self, at: datetime) -> Dossier:
        return self.case(DossierDecided, at, approved=True, on_time=True, minutes_used=0)


def test_early_on_time_and_late_decisions_follow_the_legal_clock() -> None:
    # 3 working days from Mon 08:00: due Thu 08:00. Early = at least one full working day left.
    early = fold(Dossier("A").receive().decide(MON + timedelta(hours=3)).events)
    on_time = fold(Dossier("B").receive().decide(MON + timedelta(days=2, hours=5)).events)
    late = fold(Dossier("C").receive().decide(MON + timedelta(days=3, hours=2)).events)
    assert early.due_at == MON + timedelta(days=3)
    assert (early.timeliness, on_time.timeliness, late.timeliness) == ("early", "on_time", "late")
    assert early.working_minutes == 180 and early.national_status == 9
    assert late.late and not on_time.late


def test_supplement_restart_second_return_escalation_and_returned_result() -> None:
    d = Dossier("D").receive()
    d.case(SupplementRequested, MON + timedelta(hours=1), number=1, missing_items=["x"], reason="r")
    paused = fold(d.events)
    assert paused.paused and paused.national_status == 5 and paused.supplement_requests == 1
    # Back on Wednesday 08:00: restart gives 3 full days again, due next Monday 08:00.
    d.case(SupplementReceived, MON + timedelta(days=2), number=1, policy="restart", paused_minutes=960)
    d.case(LeadershipReported, MON + timedelta(days=2, hours=1), return_number=2, reason="again")
    d.case(SupplementRequested, MON + timedelta(days=2, hours=2), number=2, missing_items=["y"], reason="r")
    d.case(
        SupplementReceived, MON + timedelta(days=2, hours=3), number=2, policy="restart", paused_minutes=60
    )
    d.decide(MON + timedelta(days=3))
    d.case(ResultReturned, MON + timedelta(days=3, hours=1), via="desk")
    f = fold(d.events)
    assert f.supplement_requests == 2 and f.second_return and f.escalations == 1
    # Office hours open at 07:00: Mon 09:00–17:00 (6 h), Tue (8 h), Wed 07:00–08:00, then 1 h.
    assert f.supplement_minutes == (360 + 480 + 60) + 60
    # Finished days before its appointment, yet late: Decision 766 counts a second return as late,
    # and the figures take the clock's one verdict.
    assert f.timeliness == "late" and f.late and f.national_status == 10 and f.returned_via == "desk"
    assert f.late_reason == "late under Decision 766: returned twice for supplements"
    begin, end = bounds("month", date(2026, 3, 1))
    progress = indicators([f], begin, end)[0]
    assert progress.numerator == 0 and progress.denominator == 1, "two supplement requests make it late"


def test_withdrawn_refused_and_backdated_entries() -> None:
    w = Dossier("W").receive()
    w.case(
        ProcessingStopped,
        MON + timedelta(hours=2),
        kind="withdrawn",
        reason="xin rút",
        recorded_at=MON + timedelta(hours=20),
    )
    withdrawn = fold(w.events)
    assert withdrawn.national_status == 7 and withdrawn.finish_kind == "withdrawn"
    assert withdrawn.backdated_entries == 0, "late without a reason is not a documented back-dated entry"
    r = Dossier("R")
    r.events.append(
        DossierRefused(
            **r._common("intake", MON),
            procedure_code="LLTP",
            department_code="STP",
            receiving_point="HUYEN-A",
            channel=1,
            applicant=PERSON,
            reasons="no",
        )
    )
    refused = fold(r.events)
    assert refused.national_status == 3 and refused.outcome == "refused"
    figures = total([withdrawn, refused])
    month = ("department", "STP", "LLTP", "month", date(2026, 3, 1))
    assert figures[month]["registered"] == 2 and figures[month]["received"] == 1
    assert figures[month]["refused"] == 1 and figures[month]["stopped"] == 1
    assert figures[("receiving_point", "HUYEN-A", "LLTP", "year", date(2026, 1, 1))]["refused"] == 1


def test_online_payment_digitisation_and_thresholds() -> None:
    facts = [
        fold(
            Dossier(f"O{i}")
            .receive(channel=2, online_level="full", fee_vnd=100, paid_online=i < 1, documents_scanned=i < 3)
            .events
        )
        for i in range(4)
    ] + [fold(Dossier("P").receive(channel=3).events)]
    begin, _ = bounds("month", date(2026, 3, 1))
    by_key = {i.key: i for i in indicators(facts, begin, MON + timedelta(hours=1))}
    assert by_key["online_submission"].rate == 4 / 5 and by_key["online_submission"].points == 12
    assert by_key["online_payment"].rate == 1 / 4 and by_key["online_payment"].points == 2.5
    assert by_key["digitisation"].numerator == 3 + 1  # the postal one is scanned by default
    assert by_key["digitisation"].points == 22
    assert by_key["progress"].points == 20, "nothing due yet: everything in progress is on time"


def test_digitisation_counts_electronic_results_actually_issued() -> None:
    base = DossierFacts(
        dossier_id=uuid.uuid4(), dossier_code="E", documents_scanned=True, electronic_result=True
    )
    at = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert digital_counted(base), "not handed over yet: not judged"
    assert not digital_counted(replace(base, returned_via="desk")), "handed over on paper only"
    assert not digital_counted(replace(base, returned_via="online")), "online without a document issued"
    assert digital_counted(replace(base, returned_via="desk", result_issued_at=at))
    assert digital_counted(replace(base, electronic_result=False, returned_via="desk"))
    assert not digital_counted(replace(base, documents_scanned=False, result_issued_at=at))


@given(st.floats(0, 1), st.sampled_from([None, 0.5, 0.8, 0.9]))
def test_proportional_points_are_bounded_and_full_at_the_threshold(
    rate: float, threshold: float | None
) -> None:
    points = proportional(rate, 20, threshold)
    assert 0 <= points <= 20
    if threshold is not None and rate >= threshold:
        assert points == 20


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_facts_do_not_depend_on_the_order_events_arrive_in(rnd: random.Random) -> None:
    d = Dossier("X").receive()
    d.case(SupplementRequested, MON + timedelta(hours=1), number=1, missing_items=["x"], reason="r")
    d.case(SupplementReceived, MON + timedelta(days=1), number=1, policy="restart", paused_minutes=480)
    d.decide(MON + timedelta(days=2))
    shuffled = list(d.events)
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(d.events)
    assert contribution(fold(shuffled)) == contribution(fold(d.events))


def test_a_facts_row_is_every_field_in_column_order() -> None:
    from dataclasses import asdict, fields

    from services.scoring.domain.dossier_facts import COLUMNS

    made: dict[str, object] = {}
    for number, f in enumerate(fields(DossierFacts)):
        # a distinct value per field, of the field's own kind, so a swapped column shows
        made[f.name] = {
            "dossier_id": uuid.UUID(int=number),
            "registered_at": datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")) + timedelta(minutes=number),
        }.get(f.name, number if "int" in str(f.type) else f"v{number}")
    facts = DossierFacts(**made)  # type: ignore[arg-type]
    assert facts.row() == asdict(facts)
    assert list(facts.row()) == list(COLUMNS)
    assert facts.values() == tuple(asdict(facts).values())


_MOMENTS = st.datetimes(
    min_value=datetime(2025, 12, 30), max_value=datetime(2027, 1, 2), timezones=st.just(ZoneInfo("UTC"))
)
_FACTS = st.builds(
    DossierFacts,
    dossier_id=st.uuids(),
    dossier_code=st.just("X"),
    outcome=st.sampled_from([None, "received", "refused", "incomplete", "registered"]),
    department_code=st.sampled_from([None, "SYT", "STP"]),
    procedure_code=st.sampled_from([None, "P1", "P2"]),
    receiving_point=st.sampled_from([None, "TTPVHCC", "XA-1"]),
    registered_at=st.none() | _MOMENTS,
    finished_at=st.none() | _MOMENTS,
    finish_kind=st.sampled_from([None, "decided", "withdrawn"]),
    timeliness=st.sampled_from([None, "early", "on_time", "late"]),
    working_minutes=st.integers(0, 5_000),
    supplement_requests=st.integers(0, 3),
    backdated_entries=st.integers(0, 2),
    postal_return=st.booleans(),
    fee_vnd=st.sampled_from([0, 50_000]),
    rating=st.none() | st.integers(1, 5),
)


def _by_hand(facts: list[DossierFacts]) -> dict[tuple[object, ...], dict[str, int]]:
    """The figures as the definition says: each dossier's registered part in the periods of its
    registration, its finished part in those of its finish, for its department and desk."""
    from services.scoring.domain.figures import _finished_part, _registered_part
    from services.scoring.domain.periods import KINDS, local_date, period_start

    sums: dict[tuple[object, ...], Counter[str]] = {}
    for f in facts:
        if f.outcome is None or f.registered_at is None or f.department_code is None:
            continue
        parts = [(f.registered_at, _registered_part(f))]  # backdated entries counted there too
        if f.finished_at is not None:
            parts.append((f.finished_at, _finished_part(f)))
        for moment, part in parts:
            for kind in KINDS:
                start = period_start(kind, local_date(moment))
                for dimension, unit in (
                    ("department", f.department_code),
                    ("receiving_point", f.receiving_point or "?"),
                ):
                    sums.setdefault(
                        (dimension, unit, f.procedure_code or "?", kind, start), Counter()
                    ).update(part)
    return {k: {n: c for n, c in v.items() if c} for k, v in sums.items() if any(v.values())}


def _nonzero(figures: dict[tuple[object, ...], Counter[str]]) -> dict[tuple[object, ...], dict[str, int]]:
    return {k: {n: c for n, c in v.items() if c} for k, v in figures.items() if any(v.values())}


@settings(max_examples=150, deadline=None)
@given(st.lists(_FACTS, max_size=6), st.lists(_FACTS, max_size=6))
def test_totals_and_deltas_are_the_sums_of_each_dossiers_parts(
    before: list[DossierFacts], after: list[DossierFacts]
) -> None:
    from services.scoring.domain.figures import delta

    assert _nonzero(total(before)) == _by_hand(before)
    assert _nonzero(contribution(before[0]) if before else {}) == _by_hand(before[:1])
    # the live projection: the totals of ``before``, then each dossier moved to its ``after``
    moving: dict[tuple[object, ...], Counter[str]] = {k: Counter(v) for k, v in total(before).items()}
    changes: dict[tuple[object, ...], Counter[str]] = {}
    pairs = list(zip(before, after, strict=False))
    for old, new in pairs:
        delta(old, new, changes)  # type: ignore[arg-type]
    for key, change in changes.items():
        moving.setdefault(key, Counter()).update(change)
    moved = [new for _, new in pairs] + before[len(pairs) :]
    assert _nonzero(moving) == _by_hand(moved)


@settings(max_examples=200, deadline=None)
@given(
    _FACTS,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)),
    st.sampled_from([None, "decided", "withdrawn"]),
    st.sampled_from([None, "early", "on_time", "late"]),
    st.integers(0, 3),
    st.none() | st.integers(1, 5),
)
def test_a_dossier_moving_on_changes_the_figures_by_its_new_parts_less_its_old(
    old: DossierFacts,
    after: timedelta,
    finish_kind: str | None,
    timeliness: str | None,
    supplement_requests: int,
    rating: int | None,
) -> None:
    """What the live consumer does for every dossier a batch touches: the same dossier, a
    counter or two further on, often finished on the day it was received (both its parts then
    count in the same place, where the delta nets them)."""
    from services.scoring.domain.figures import delta

    finished = None if old.registered_at is None or finish_kind is None else old.registered_at + after
    new = replace(
        old,
        finished_at=finished,
        finish_kind=finish_kind,
        timeliness=timeliness,
        supplement_requests=supplement_requests,
        rating=rating,
    )
    changes: dict[tuple[object, ...], Counter[str]] = {}
    delta(old, new, changes)  # type: ignore[arg-type]
    moved: dict[tuple[object, ...], Counter[str]] = {k: Counter(v) for k, v in _by_hand([old]).items()}
    for key, change in changes.items():
        moved.setdefault(key, Counter()).update(change)
    assert _nonzero(moved) == _by_hand([new])
    changes = {}
    delta(None, new, changes)  # type: ignore[arg-type]
    assert _nonzero(changes) == _by_hand([new]), "a dossier seen for the first time"


@given(
    st.fixed_dictionaries(
        {"dossier_id": st.uuids(), "dossier_code": st.text(max_size=8)},
        optional={
            "outcome": st.sampled_from(["received", "refused", None]),
            "fee_vnd": st.integers(0, 10**9),
            "late": st.booleans(),
            "due_at": st.datetimes(timezones=st.just(VN)),
            "national_status": st.integers(1, 10),
        },
    )
)
def test_facts_made_without_init_are_the_facts_init_makes(values: dict[str, object]) -> None:
    made = DossierFacts.of(values)
    assert made == DossierFacts(**values)  # type: ignore[arg-type]
    assert made.values() == DossierFacts(**values).values()  # type: ignore[arg-type]
    try:
        made.fee_vnd = 1  # type: ignore[misc]
    except AttributeError:  # FrozenInstanceError: still frozen
        pass
    else:
        raise AssertionError("facts made by DossierFacts.of must stay frozen")


def test_facts_made_without_init_check_the_names() -> None:
    for values in ({"dossier_code": "X"}, {"dossier_id": uuid.uuid4(), "dossier_code": "X", "fees": 1}):
        try:
            DossierFacts.of(values)
        except TypeError as error:
            assert "dossier_id" in str(error) or "fees" in str(error)
        else:
            raise AssertionError(f"{values} accepted")
