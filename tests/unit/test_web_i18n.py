"""The web speaks Vietnamese first and English on request, through Babel message catalogues:
every key a template uses has both languages, the switch survives navigation and signing in,
dates and numbers follow the language, and the printed forms stay Vietnamese."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from starlette.types import Receive, Scope, Send

from services.web import explain, formats, i18n, messages
from services.web.texts import TEXTS, t
from tests.unit.test_web_pages import _sign_in, web

__all__ = ["web"]  # the pages' fixture, shared with test_web_pages


def test_every_key_a_template_uses_has_both_languages_in_the_catalogues() -> None:
    used = messages.template_keys()
    assert "login_intro" in used and "desk_title" in used  # the extraction does find the keys
    for lang in i18n.LANGUAGES:
        texts = i18n.catalogue(lang)
        missing = sorted(key for key in used if not texts.get(key))
        assert not missing, f"no {lang} text for {missing}: run python -m services.web.messages"
    assert i18n.catalogue("vi")["desk_title"] != i18n.catalogue("en")["desk_title"]


def test_the_catalogues_hold_every_word_of_the_texts_table() -> None:
    # a word added to texts.py but not extracted would fall back silently: the pages read the catalogues
    for lang in i18n.LANGUAGES:
        absent = sorted(set(TEXTS) - set(i18n.catalogue(lang)))
        assert not absent, f"{lang} catalogue lacks {absent[:5]}: run python -m services.web.messages"


def test_t_speaks_the_request_language_and_vietnamese_by_default() -> None:
    assert t("sign_out") == "Đăng xuất"
    with i18n.use_lang("en"):
        assert t("sign_out") == "Sign out"
        assert t("no_such_key") == "no_such_key"
    assert t("sign_out", "en") == "Sign out"


def test_dates_and_numbers_follow_the_language() -> None:
    at = datetime(2026, 3, 17, 1, 5, tzinfo=UTC)  # 08:05 in Hà Nội
    assert formats.form_time(at) == "08 giờ 05 phút, ngày 17/03/2026"
    assert formats.short_time(at) == "08:05 17/03/2026"
    assert formats.number(1234.5, 1) == "1.234,5"
    with i18n.use_lang("en"):
        assert formats.short_time(at) == "17 Mar 2026, 08:05"
        assert formats.form_time(at) == "08:05, 17 March 2026"
        assert formats.number(1234.5, 1) == "1,234.5"


def test_english_pages_tell_the_steps_and_the_clock_in_english() -> None:
    case = {
        "state": "in_processing",
        "clock": {"explanation": ["received 2026-03-17 08:05"], "late_reasons": []},
    }
    with i18n.use_lang("en"):
        assert explain.step_of({"event": "SupplementRequested"}) == "Supplement requested"
        assert explain.step_of({"event": "Decided", "details": {"approved": False}}) == "Decision: refused"
        assert explain.explanation(case, []) == ["received 2026-03-17 08:05"]
        left, late = explain.time_left(
            datetime(2026, 3, 17, 1, 0, tzinfo=UTC), datetime(2026, 3, 18, 1, 0, tzinfo=UTC)
        )
        assert late and left.startswith("overdue by ")
    assert explain.step_of({"event": "SupplementRequested"}) == "Yêu cầu bổ sung, hoàn thiện hồ sơ"


async def test_the_switch_sets_html_lang_and_survives_navigation_and_signing_in(
    web: httpx.AsyncClient,
) -> None:
    # the signed-out page: public, rendered by the web itself (/login goes to the provider)
    first = await web.get("/signed-out")
    assert '<html lang="vi">' in first.text and "<h1>Bạn đã đăng xuất</h1>" in first.text
    assert 'href="/signed-out?lang=en"' in first.text  # the header's switch
    english = await web.get("/signed-out?lang=en")
    assert '<html lang="en">' in english.text and "<h1>You have signed out</h1>" in english.text
    assert re.search(r"lang=en; Path=/;.*SameSite=Lax", english.headers["set-cookie"])
    again = await web.get("/signed-out")  # no query: the cookie remembers
    assert '<html lang="en">' in again.text
    await _sign_in(web, "tiepnhan")
    desk = await web.get("/desk")
    assert '<html lang="en">' in desk.text and "<h1>Receive a dossier</h1>" in desk.text
    back = await web.get("/desk?lang=vi")
    assert "<h1>Tiếp nhận hồ sơ</h1>" in back.text and "lang=vi" in back.headers["set-cookie"]
    bogus = await web.get("/signed-out?lang=xx")  # an unknown language chooses nothing and changes nothing
    assert '<html lang="vi">' in bogus.text and "set-cookie" not in bogus.headers


async def test_printed_forms_are_vietnamese_whatever_the_page_language() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(i18n.current())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=i18n.LanguageMiddleware(app)), base_url="http://w"
    )
    async with client:
        await client.get("/forms/register?lang=en")
        await client.get("/officer", cookies={"lang": "en"})
        await client.get("/forms/X/01", cookies={"lang": "en"})
    assert seen == ["vi", "en", "vi"]
