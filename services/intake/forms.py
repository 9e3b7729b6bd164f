"""The counter's forms (Circular 03/2025 Annex I), rendered from the dossier's events as HTML:
receipt and appointment slip (form 01), completion request (form 02), refusal (form 03)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

from services.intake.catalogue import Catalogue
from services.intake.domain import Dossier
from services.intake.schemas import ApplicantView
from shared.clock import DEFAULT_CALENDAR
from shared.clock.explain import legal_time_text


def _t(moment: datetime) -> str:
    return DEFAULT_CALENDAR.to_local(moment).strftime("%H:%M ngày %d/%m/%Y")


def _page(title: str, dossier: Dossier, catalogue: Catalogue, a: ApplicantView, body: str) -> str:
    procedure = catalogue.procedure(dossier.filing["procedure_code"])
    return (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head>"
        "<body style='font-family:serif;max-width:46em;margin:2em auto'>"
        "<p><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br>Độc lập - Tự do - Hạnh phúc</p>"
        f"<h1>{escape(title)}</h1><p>Mã hồ sơ: <b>{escape(dossier.code)}</b></p>"
        f"<p>Bộ phận tiếp nhận: {escape(dossier.filing['receiving_point'])}</p>"
        f"<p>Tiếp nhận hồ sơ của: {escape(a.full_name)} — Địa chỉ: {escape(a.address)}"
        f"{' — Điện thoại: ' + escape(a.phone) if a.phone else ''}</p>"
        f"<p>Thủ tục: {escape(procedure.name_vi)} ({escape(procedure.code)})</p>{body}"
        f"<p>Người lập: {escape(dossier.registered_by['user_id'])}, lúc {_t(dossier.registered_at)}</p>"
        "</body></html>"
    )


def receipt(dossier: Dossier, catalogue: Catalogue, a: ApplicantView) -> str:
    terms = dossier.terms or {}
    where = "qua dịch vụ bưu chính công ích" if terms.get("postal_return") else "Bộ phận Một cửa"
    legal = legal_time_text(terms)
    return _page(
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        dossier,
        catalogue,
        a,
        f"<p>Thời điểm tiếp nhận: {_t(terms['received_at'])}</p>"
        + (f"<p>Thời hạn giải quyết: {escape(legal)}</p>" if legal else "")
        + f"<p>Ngày hẹn trả kết quả: <b>{_t(terms['due_at'])}</b></p>"
        f"<p>Nhận kết quả tại: {where}</p>",
    )


def completion_request(dossier: Dossier, catalogue: Catalogue, a: ApplicantView) -> str:
    items = "".join(f"<li>{escape(i)}</li>" for i in dossier.missing_items or [])
    return _page(
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        dossier,
        catalogue,
        a,
        f"<p>Hồ sơ chưa đầy đủ. Đề nghị bổ sung các nội dung sau (một lần):</p><ol>{items}</ol>",
    )


def refusal(dossier: Dossier, catalogue: Catalogue, a: ApplicantView) -> str:
    return _page(
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        dossier,
        catalogue,
        a,
        f"<p>Lý do từ chối: {escape(dossier.refusal_reasons or '')}</p>",
    )


FORMS: dict[str, tuple[tuple[str, ...], Callable[[Dossier, Catalogue, ApplicantView], str]]] = {
    "receipt": (("received",), receipt),
    "completion-request": (("incomplete",), completion_request),
    "refusal": (("refused",), refusal),
}


def form_applies(name: str, dossier: Dossier) -> bool:
    return dossier.outcome in FORMS[name][0]


def render_form(name: str, dossier: Dossier, catalogue: Catalogue, applicant: ApplicantView) -> str | None:
    if not form_applies(name, dossier):
        return None
    return FORMS[name][1](dossier, catalogue, applicant)
