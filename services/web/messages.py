"""Extracts the pages' message keys into ``locale/messages.pot`` and brings the ``vi`` and ``en``
catalogues up to date: ``python -m services.web.messages``.

Keys come from every ``t("key")`` in the templates (Jinja2's Babel extractor) and the web's code
(Babel's Python extractor), and from ``texts.TEXTS`` for the keys pages build at run time
(``t("state_" ~ state)``). A translation already in a ``.po`` file is kept (the translator's
word wins); a new key gets its text from ``texts.TEXTS``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from services.web.i18n import LANGUAGES, LOCALE_DIR
from services.web.texts import TEXTS

WEB = Path(__file__).parent
KEYWORDS = {"t": None}
# Fixed, so that running the extraction twice changes no file.
CREATED = datetime(2026, 1, 1)


def _extract(method_map: list[tuple[str, str]]) -> Iterable[tuple[str, str, int]]:
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        if isinstance(message, str) and message:
            yield message, filename, lineno


def template_keys() -> dict[str, list[tuple[str, int]]]:
    """Every constant key a template passes to ``t``, with where it is used."""
    found: dict[str, list[tuple[str, int]]] = {}
    for key, filename, lineno in _extract([("templates/**.html", "jinja2.ext:babel_extract")]):
        found.setdefault(key, []).append((filename, lineno))
    return found


def code_keys() -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for key, filename, lineno in _extract([("*.py", "python")]):
        found.setdefault(key, []).append((filename, lineno))
    return found


def template_catalog() -> Catalog:
    pot = Catalog(project="motcua web", creation_date=CREATED, fuzzy=False)
    used: dict[str, list[tuple[str, int]]] = {}
    for found in (template_keys(), code_keys()):
        for key, places in found.items():
            used.setdefault(key, []).extend(places)
    for key in sorted(set(used) | set(TEXTS)):
        vi = TEXTS.get(key, ("", ""))[0]
        pot.add(key, locations=sorted(used.get(key, [])), auto_comments=[vi] if vi else [])
    return pot


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=100, sort_output=True, omit_header=False)


def update() -> list[str]:
    """Writes the template and both catalogues; returns the keys that have no text in a language."""
    pot = template_catalog()
    _write(LOCALE_DIR / "messages.pot", pot)
    missing: list[str] = []
    for index, lang in enumerate(LANGUAGES):
        path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        old: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as fp:
                old = {str(m.id): str(m.string) for m in read_po(fp, locale=lang) if m.id and m.string}
        po = Catalog(
            locale=lang, project="motcua web", creation_date=CREATED, revision_date=CREATED, fuzzy=False
        )
        for message in pot:
            if not message.id:
                continue
            key = str(message.id)
            text = old.get(key) or (TEXTS[key][index] if key in TEXTS else "")
            if not text:
                missing.append(f"{lang}: {key}")
            po.add(key, text, locations=message.locations, auto_comments=message.auto_comments)
        _write(path, po)
    return missing


if __name__ == "__main__":
    gaps = update()
    for gap in gaps:
        print("no text:", gap, file=sys.stderr)
    sys.exit(1 if gaps else 0)
