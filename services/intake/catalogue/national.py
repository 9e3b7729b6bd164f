"""The national procedure database's layout (Cơ sở dữ liệu quốc gia về thủ tục hành chính).

An export of the national database lists one record per procedure with Vietnamese field names.
We read (and, for the demo catalogue, write) these fields; docs/catalogue.md documents the mapping:

=====================  ==========================================================================
national field         our field
=====================  ==========================================================================
MaTTHC                 ``national_code`` (mã TTHC, "2.000488")
TenTTHC                ``name_vi``
LinhVuc                ``sector``
CapThucHien            ``level``: "Cấp Tỉnh" / "Cấp Huyện" / "Cấp Xã"
CoQuanThucHien         ``department``: ``MaDinhDanh`` (the agency's electronic ID) names it
ThoiHanGiaiQuyet       ``legal_days`` / ``legal_hours`` / ``same_day``: ``SoLuong`` + ``DonVi``
                       ("Ngày làm việc", "Giờ làm việc", "Trong ngày"), ``GioChot`` the cut-off
PhiLePhi               ``fee_vnd``: the sum of ``SoTien`` (VND) of every fee and charge
KenhThucHien           ``channels``: national codes 1 in person, 2 online, 3 postal
MucDo                  ``online_level``: "Toàn trình" / "Một phần" / absent
CoKetQuaDienTu         ``electronic_result``
ThanhPhanHoSo          ``documents``: ``MaGiayTo``, ``TenGiayTo``, ``LoaiBan``, ``SoLuong``, ``BatBuoc``
CanCuPhapLy            ``legal_basis``
NgayHieuLuc            ``effective_from`` of this version (ISO date)
=====================  ==========================================================================

What the national database does not carry (our catalogue key, English name, the province's
supplement policy, an inter-agency split, the source we checked) travels in an ``MotCua`` block of
the same record, so a file exported from here imports back to the same catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LEVELS = {"province": "Cấp Tỉnh", "district": "Cấp Huyện", "commune": "Cấp Xã"}
ONLINE = {"full": "Toàn trình", "partial": "Một phần"}
DAYS, HOURS, SAME_DAY = "Ngày làm việc", "Giờ làm việc", "Trong ngày"
# Our fields that have no national counterpart, kept in the record's MotCua block.
EXTENSIONS = (
    "code",
    "name_en",
    "supplement_policy",
    "agency_shares",
    "fee_note",
    "source",
    "documents_basis",
)
# How a document is to be handed in, in the national layout's words (LoaiBan).
DOCUMENT_FORMS = {"original": "Bản chính", "certified_copy": "Bản sao có chứng thực", "copy": "Bản chụp"}


class NationalRecordError(ValueError):
    """A record of the national layout that cannot be read as a procedure."""


def to_national(procedure: Mapping[str, Any], agency_ids: Mapping[str, str]) -> dict[str, Any]:
    """One procedure (our catalogue's JSON shape) as a record of the national layout."""
    p = procedure
    if p.get("same_day"):
        time: dict[str, Any] = {"SoLuong": 1, "DonVi": SAME_DAY}
        if p.get("same_day_cutoff"):
            time["GioChot"] = p["same_day_cutoff"]
    elif p.get("legal_hours"):
        time = {"SoLuong": p["legal_hours"], "DonVi": HOURS}
    else:
        time = {"SoLuong": p["legal_days"], "DonVi": DAYS}
    record: dict[str, Any] = {
        "MaTTHC": p.get("national_code"),
        "TenTTHC": p["name_vi"],
        "LinhVuc": p["sector"],
        "CapThucHien": LEVELS[p["level"]],
        "CoQuanThucHien": {"MaDinhDanh": agency_ids[p["department"]]},
        "ThoiHanGiaiQuyet": time,
        "PhiLePhi": [{"MoTa": p.get("fee_note") or "Phí, lệ phí", "SoTien": p.get("fee_vnd", 0)}],
        "KenhThucHien": sorted(int(c) for c in p["channels"]),
        "MucDo": ONLINE.get(p["online_level"]),
        "CoKetQuaDienTu": bool(p["electronic_result"]),
        "ThanhPhanHoSo": [_document_to_national(d) for d in p.get("documents", ())],
        "CanCuPhapLy": p["legal_basis"],
        "NgayHieuLuc": str(p["effective_from"]) if p.get("effective_from") else None,
        "MotCua": {k: p[k] for k in EXTENSIONS if p.get(k) is not None},
    }
    return {k: v for k, v in record.items() if v not in (None, [])}


def from_national(record: Mapping[str, Any], departments: Mapping[str, str]) -> dict[str, Any]:
    """A national record as our catalogue's procedure JSON (``departments``: agency ID -> code)."""
    try:
        return _read(record, departments)
    except (KeyError, TypeError, ValueError) as exc:
        name = record.get("MaTTHC") or record.get("TenTTHC") or "?"
        raise NationalRecordError(f"record {name}: {exc!r}") from exc


def _read(r: Mapping[str, Any], departments: Mapping[str, str]) -> dict[str, Any]:
    ext: Mapping[str, Any] = r.get("MotCua") or {}
    agency = r["CoQuanThucHien"]["MaDinhDanh"]
    if agency not in departments:
        raise ValueError(f"CoQuanThucHien {agency!r} is no department of the province")
    level = {v: k for k, v in LEVELS.items()}[r["CapThucHien"]]
    online = {v: k for k, v in ONLINE.items()}.get(r.get("MucDo") or "", "none")
    p: dict[str, Any] = {
        # A record without our key takes its national code as the key (dots are not allowed).
        "code": ext.get("code") or str(r["MaTTHC"]).replace(".", "-"),
        "national_code": r.get("MaTTHC"),
        "name_vi": r["TenTTHC"],
        "name_en": ext.get("name_en") or r["TenTTHC"],
        "sector": r["LinhVuc"],
        "department": departments[agency],
        "level": level,
        "channels": sorted(int(c) for c in r["KenhThucHien"]),
        "online_level": online,
        "electronic_result": bool(r.get("CoKetQuaDienTu", False)),
        "fee_vnd": sum(int(f["SoTien"]) for f in r.get("PhiLePhi", ())),
        "legal_basis": r["CanCuPhapLy"],
        "source": ext.get("source") or f"Cơ sở dữ liệu quốc gia về TTHC, mã {r.get('MaTTHC')}",
    }
    time = r["ThoiHanGiaiQuyet"]
    unit = time["DonVi"]
    if unit == SAME_DAY:
        p["same_day"] = True
        if time.get("GioChot"):
            p["same_day_cutoff"] = time["GioChot"]
    elif unit == HOURS:
        p["legal_hours"] = int(time["SoLuong"])
    elif unit == DAYS:
        p["legal_days"] = int(time["SoLuong"])
    else:
        raise ValueError(f"ThoiHanGiaiQuyet.DonVi {unit!r} is not one of {DAYS!r}, {HOURS!r}, {SAME_DAY!r}")
    for key in ("supplement_policy", "agency_shares", "fee_note", "documents_basis"):
        if ext.get(key) is not None:
            p[key] = ext[key]
    if r.get("NgayHieuLuc"):
        p["effective_from"] = r["NgayHieuLuc"]
    if ext.get("documents_basis"):
        p["documents_basis"] = ext["documents_basis"]
    documents = [_document_from_national(d, i) for i, d in enumerate(r.get("ThanhPhanHoSo", ()), 1)]
    if documents:
        p["documents"] = documents
    return p


def _document_to_national(d: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(d, str):
        return {"TenGiayTo": d, "SoLuong": 1}
    return {
        "MaGiayTo": d["id"],
        "TenGiayTo": d["name_vi"],
        "TenGiayToTiengAnh": d.get("name_en"),
        "LoaiBan": DOCUMENT_FORMS[d["form"]],
        "SoLuong": d.get("count", 1),
        "BatBuoc": d.get("required", True),
    }


def _document_from_national(d: Mapping[str, Any], number: int) -> dict[str, Any]:
    """A document line; a record without our fields is read as one original, required."""
    forms = {v: k for k, v in DOCUMENT_FORMS.items()}
    name = str(d["TenGiayTo"])
    return {
        "id": str(d.get("MaGiayTo") or f"giay-to-{number}"),
        "name_vi": name,
        "name_en": str(d.get("TenGiayToTiengAnh") or name),
        "form": forms.get(str(d.get("LoaiBan", "")), "original"),
        "count": int(d.get("SoLuong", 1)),
        "required": bool(d.get("BatBuoc", True)),
    }


def national_file(procedures: Iterable[Mapping[str, Any]], agency_ids: Mapping[str, str]) -> dict[str, Any]:
    """A whole export: ``{"DanhSachTTHC": [record, ...]}``."""
    return {"DanhSachTTHC": [to_national(p, agency_ids) for p in procedures]}
