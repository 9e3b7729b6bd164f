"""The demo procedure catalogue loads, validates and is internally consistent."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.catalogue import (
    DATA_FILE,
    Catalogue,
    Channel,
    Procedure,
    SupplementPolicy,
    UnknownProcedure,
    load_catalogue,
    parse_catalogue,
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def test_json_loads_and_validates(catalogue: Catalogue) -> None:
    assert load_catalogue() is catalogue  # cached
    assert len(catalogue.procedures) >= 20
    assert len(catalogue.departments) >= 5
    assert len(catalogue.receiving_points) >= 3


def test_at_least_six_provincial_departments_have_procedures(catalogue: Catalogue) -> None:
    provincial = {d.code for d in catalogue.departments if d.code.startswith("S")}
    used = {p.department for p in catalogue.procedures}
    assert len(provincial & used) >= 6


def test_every_procedure_department_exists(catalogue: Catalogue) -> None:
    known = {d.code for d in catalogue.departments}
    for proc in catalogue.procedures:
        assert proc.department in known
        assert set(proc.agency_shares or {}) <= known


def test_codes_are_unique(catalogue: Catalogue) -> None:
    for codes in (
        [p.code for p in catalogue.procedures],
        [p.national_code for p in catalogue.procedures if p.national_code],
        [d.code for d in catalogue.departments],
        [r.code for r in catalogue.receiving_points],
        [d.agency_id for d in catalogue.departments] + [r.agency_id for r in catalogue.receiving_points],
    ):
        assert not [c for c, n in Counter(codes).items() if n > 1]


def test_shares_sum_to_the_legal_time(catalogue: Catalogue) -> None:
    shared = [p for p in catalogue.procedures if p.agency_shares]
    assert len(shared) >= 2
    for proc in shared:
        assert proc.agency_shares is not None
        assert sum(proc.agency_shares.values()) == proc.legal_days


def test_every_procedure_has_a_source_and_exactly_one_time(catalogue: Catalogue) -> None:
    for proc in catalogue.procedures:
        assert proc.source.strip()
        assert proc.legal_basis.strip()
        assert (proc.legal_days is not None) + (proc.legal_hours is not None) + proc.same_day == 1


def test_same_day_procedures_and_policies(catalogue: Catalogue) -> None:
    same_day = [p for p in catalogue.procedures if p.same_day]
    assert len(same_day) >= 2
    assert all(p.same_day_cutoff == "15:00" for p in same_day)
    policies = {catalogue.supplement_policy(p.code) for p in catalogue.procedures}
    assert policies == {SupplementPolicy.RESTART, SupplementPolicy.RESUME}


def test_lookup_by_our_code_or_national_code(catalogue: Catalogue) -> None:
    lltp = catalogue.procedure("LLTP")
    assert lltp.legal_days == 10
    assert catalogue.procedure("2.000488") is lltp
    assert Channel.POSTAL in lltp.channels


def test_unknown_procedure_is_a_clear_error(catalogue: Catalogue) -> None:
    with pytest.raises(UnknownProcedure, match="NOPE"):
        catalogue.procedure("NOPE")


def _procedure(**changes: Any) -> dict[str, Any]:
    base = dict(_raw()["procedures"][0])
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "changes",
    [
        {"legal_days": 10, "legal_hours": 8},
        {"legal_days": None, "legal_hours": None},
        {"legal_days": 10, "same_day_cutoff": "15:00"},
        {"legal_days": None, "same_day": True, "same_day_cutoff": "25:00"},
        {"legal_days": None, "legal_hours": 8, "same_day_cutoff": "15:00"},
        {"legal_days": 10, "same_day": True},
        {"agency_shares": {"STP": 4, "CAT": 5}},
        {"agency_shares": {"CAT": 5, "BHXH": 5}},
        {"channels": [1, 3], "online_level": "full"},
        {"channels": [1, 1], "online_level": "none"},
        {"source": "  "},
        {"fee_vnd": -1},
        {"national_code": "1234"},
        {"documents": [{"id": "a", "name_vi": "A", "name_en": "A", "form": "original"}] * 2},
        {"documents": [{"id": "a", "name_vi": "A", "name_en": "A", "form": "photocopy"}]},
        {"documents": [{"id": "A b", "name_vi": "A", "name_en": "A", "form": "copy"}]},
        {"documents": [{"id": "a", "name_vi": "A", "name_en": "A", "form": "copy", "count": 0}]},
    ],
)
def test_bad_procedures_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Procedure.model_validate(_procedure(**changes))


def test_procedures_are_frozen(catalogue: Catalogue) -> None:
    with pytest.raises(ValidationError):
        catalogue.procedures[0].legal_days = 1  # type: ignore[misc]


def test_catalogue_rejects_unknown_department_and_duplicates() -> None:
    data = _raw()
    data["procedures"][0]["department"] = "SXX"
    with pytest.raises(ValidationError, match="unknown department"):
        parse_catalogue(json.dumps(data))
    data = _raw()
    data["procedures"].append(data["procedures"][0])
    with pytest.raises(ValidationError, match="duplicate procedure"):
        parse_catalogue(json.dumps(data))


def test_every_procedure_lists_its_documents_with_their_basis(catalogue: Catalogue) -> None:
    for p in catalogue.procedures:
        assert p.documents, f"{p.code} lists no documents"
        assert p.documents_basis, f"{p.code}: the article that lists its documents"
        assert any(d.required for d in p.documents), f"{p.code}: nothing required"
        # the application form (or the original to certify) comes first, as the portals list it
        assert p.documents[0].required


def test_missing_documents_are_the_required_ones_not_handed_in(catalogue: Catalogue) -> None:
    lltp = catalogue.procedure("LLTP")
    assert [d.id for d in lltp.missing_documents(set())] == ["to-khai", "giay-to-tuy-than"]
    assert [d.id for d in lltp.missing_documents({"to-khai", "van-ban-uy-quyen"})] == ["giay-to-tuy-than"]
    assert lltp.missing_documents({"to-khai", "giay-to-tuy-than"}) == []
