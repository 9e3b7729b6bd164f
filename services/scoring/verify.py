"""Verifying the live projection against the log (``motcua verify``): zero differences expected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

import asyncpg

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import COUNTERS, FigureKey
from services.scoring.rebuild import Projection


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    column: str
    expected: Any
    actual: Any


async def live_figures(conn: asyncpg.Connection) -> dict[FigureKey, Counter[str]]:
    rows = await conn.fetch("SELECT * FROM scoring.figures")
    live: dict[FigureKey, Counter[str]] = {}
    for r in rows:
        counts = Counter({c: r[c] for c in COUNTERS if r[c]})
        if counts:  # rows that went back to zero mean nothing
            key = (r["dimension"], r["unit"], r["procedure_code"], r["period_kind"], r["period_start"])
            live[key] = counts
    return live


async def compare(conn: asyncpg.Connection, expected: Projection) -> list[Difference]:
    diffs: list[Difference] = []
    rows = await conn.fetch("SELECT * FROM scoring.dossier_facts")
    live = {r["dossier_id"]: DossierFacts.from_row(r) for r in rows}
    for dossier_id in sorted(set(live) | set(expected.facts), key=str):
        want, have = expected.facts.get(dossier_id), live.get(dossier_id)
        key = (want or have).dossier_code if (want or have) else str(dossier_id)  # type: ignore[union-attr]
        if want is None or have is None:
            diffs.append(Difference("dossier_facts", key, "*", want is not None, have is not None))
            continue
        for f in fields(DossierFacts):
            if getattr(want, f.name) != getattr(have, f.name):
                diffs.append(
                    Difference("dossier_facts", key, f.name, getattr(want, f.name), getattr(have, f.name))
                )
    figures = await live_figures(conn)
    for fkey in sorted(set(figures) | set(expected.figures)):
        want_c, have_c = expected.figures.get(fkey, Counter()), figures.get(fkey, Counter())
        for counter in COUNTERS:
            if want_c.get(counter, 0) != have_c.get(counter, 0):
                diffs.append(
                    Difference(
                        "figures",
                        "/".join(map(str, fkey)),
                        counter,
                        want_c.get(counter, 0),
                        have_c.get(counter, 0),
                    )
                )
    events = await conn.fetchval("SELECT count(*) FROM scoring.events")
    if events != len(expected.events):
        diffs.append(Difference("events", "*", "count", len(expected.events), events))
    return diffs
