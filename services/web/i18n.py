"""The pages' language: Vietnamese first, English on request, through Babel message catalogues.

The catalogues (``locale/vi/LC_MESSAGES/messages.po``, ``locale/en/...``) are read with
``babel.messages.pofile.read_po`` when the web starts, not compiled to ``.mo``: a clean clone
then runs without a build step, and a translator's edit of a ``.po`` file is live on restart.
The message ids are the keys templates pass to ``t(key)``; ``python -m services.web.messages``
extracts them again from the templates and the code after words were added to ``texts.py``.

One request speaks one language: ``?lang=en`` chooses it (and stores it in the ``lang``
cookie so it survives navigation and signing in), else the cookie, else Vietnamese. The
printed forms are legal documents and are always Vietnamese, whatever the page language.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "lang"
# Legal documents (Circular 03/2025 Annex I) are printed in Vietnamese only.
VIETNAMESE_ONLY = ("/forms/",)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

_current: ContextVar[str] = ContextVar("lang", default=DEFAULT)


def current() -> str:
    return _current.get()


def normalise(value: str | None) -> str | None:
    """A supported language code from what a link or cookie says, or None."""
    code = (value or "").strip().lower()[:2]
    return code if code in LANGUAGES else None


@contextmanager
def use_lang(lang: str) -> Iterator[None]:
    token = _current.set(normalise(lang) or DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The translated messages of one language, by key; untranslated entries left out so the
    caller's fallback applies to them."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string}


def gettext(key: str, lang: str | None = None) -> str | None:
    return catalogue(lang or current()).get(key)


# -- dates and numbers, per the page's locale ------------------------------------------------

# Vietnamese tables keep the desk's habit "08:05 17/03/2026"; English says "17 Mar 2026, 08:05".
_PATTERNS = {
    "short": {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"},
    "long": {"vi": "HH 'giờ' mm 'phút, ngày' dd/MM/yyyy", "en": "HH:mm, d MMMM yyyy"},
    "clock": {"vi": "HH:mm:ss", "en": "HH:mm:ss"},
}
DAY_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def moment_text(moment: datetime, style: str, lang: str | None = None) -> str:
    code = lang or current()
    pattern = _PATTERNS[style][code]
    return format_datetime(moment, pattern, tzinfo=LOCAL, locale=Locale.parse(code))


def number_text(value: float, digits: int = 2, lang: str | None = None) -> str:
    """``87,50`` in Vietnamese, ``87.50`` in English (Babel's CLDR symbols, grouping included)."""
    fmt = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=fmt, locale=Locale.parse(lang or current()))


# -- the request's language -----------------------------------------------------------------


def lang_url(path: str, query: str, lang: str) -> str:
    """The same page in another language: the query kept, ``lang`` replaced."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "lang"]
    pairs.append(("lang", lang))
    return f"{path}?{urlencode(pairs)}"


class LanguageMiddleware:
    """Sets the request's language before any handler runs (pure ASGI, so the context variable
    reaches the handler and the template rendering in the same task)."""

    def __init__(self, app: ASGIApp, secure_cookies: bool = False) -> None:
        self.app = app
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        chosen = normalise(query.get("lang"))
        lang = chosen or normalise(_cookie(scope, COOKIE)) or DEFAULT
        if str(scope.get("path", "")).startswith(VIETNAMESE_ONLY):
            lang = "vi"
        scope.setdefault("state", {})["lang"] = lang

        async def remember(message: Message) -> None:
            if chosen and message["type"] == "http.response.start":
                cookie = f"{COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax"
                if self.secure:
                    cookie += "; Secure"
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        token = _current.set(lang)
        try:
            await self.app(scope, receive, remember)
        finally:
            _current.reset(token)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed cookie header chooses nothing
                return None
            if name in jar:
                return jar[name].value
    return None
