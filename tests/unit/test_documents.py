"""The project's documents stand alone: nothing cites a design file outside the repository, and
every ``docs/…`` reference (and the section it names) exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", ".git", ".data", "results", "__pycache__", ".mypy_cache", ".ruff_cache"}
SUFFIXES = {".py", ".md", ".conf", ".toml", ".yml", ".yaml", ".json", ".txt", ""}
OUTSIDE = ("DESIGN " + "§", "shared/" + "DESIGN.md")
REFERENCE = re.compile(r'(docs/[\w./-]+\.md)(?:,\s+"([^"]+)")?')


def _texts() -> list[tuple[Path, str]]:
    found = []
    for path in ROOT.rglob("*"):
        if SKIP & set(path.relative_to(ROOT).parts) or not path.is_file() or path.suffix not in SUFFIXES:
            continue
        try:
            found.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return found


def _headings(doc: Path) -> set[str]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    return {line.lstrip("#").strip() for line in lines if line.startswith("#")}


def test_nothing_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {marker}"
        for path, text in _texts()
        for marker in OUTSIDE
        if marker in text
    ]
    assert offenders == []


def test_every_docs_reference_and_section_exists() -> None:
    cited = 0
    for path, text in _texts():
        for target, section in REFERENCE.findall(text):
            doc = ROOT / target
            assert doc.is_file(), f"{path.relative_to(ROOT)} cites missing {target}"
            if section:
                where = f"{path.relative_to(ROOT)}: no section {section!r} in {target}"
                assert section in _headings(doc), where
            cited += 1
    assert cited >= 10, "the code and README point into docs/"


def test_the_documents_are_there() -> None:
    for name in ("domain-rules.md", "architecture.md", "pitfalls.md"):
        assert (ROOT / "docs" / name).stat().st_size > 1000, name
    records = sorted((ROOT / "docs" / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert len(records) >= 5
    index = (ROOT / "docs" / "decisions" / "README.md").read_text(encoding="utf-8")
    assert all(r.name in index for r in records), "every decision record is listed in the index"
