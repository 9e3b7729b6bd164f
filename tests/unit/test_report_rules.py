"""The report rules of issue 13 in pure code: who is ranked, what satisfaction is worth, unit names."""

from __future__ import annotations

from services.intake.catalogue import load_catalogue
from services.scoring.domain.index766 import Tally, indicators_of, total_points
from services.scoring.domain.ranking import rank_tallies
from shared.units import name_of, unit_names

PUNCTUAL = Tally(members=4, on_time=4, received=4, online=4, fee_bearing=0, paid_online=0, digital=4)


def test_satisfaction_without_feedback_is_not_measured_and_not_counted() -> None:
    items = {i.key: i for i in indicators_of(PUNCTUAL)}
    satisfaction = items["satisfaction"]
    assert satisfaction.status == "not_measured" and satisfaction.points is None
    assert satisfaction.note and "not measured" in satisfaction.note
    # progress 20 + online 12 + digitisation 22; payment (no fee) and satisfaction are out.
    assert total_points(items.values()) == (54, 54)
    assert items["online_payment"].status == "not_applicable"


def test_only_units_with_something_to_judge_are_ranked() -> None:
    late = Tally(members=2, on_time=1, received=2, online=0, digital=2)
    result = rank_tallies({"EMPTY": Tally(), "LATE": late, "GOOD": PUNCTUAL})
    assert [(r.rank, r.unit) for r in result.ranked] == [(1, "GOOD"), (2, "LATE")]
    assert [u.unit for u in result.not_ranked] == ["EMPTY"]
    assert "no dossier" in result.not_ranked[0].reason


def test_every_catalogue_unit_has_its_names_in_shared() -> None:
    catalogue = load_catalogue()
    codes = {d.code for d in catalogue.departments} | {r.code for r in catalogue.receiving_points}
    assert codes == set(unit_names())
    stp = name_of("STP")
    assert stp is not None and stp.name_vi == "Sở Tư pháp"
    assert name_of("NOPE") is None and name_of(None) is None
