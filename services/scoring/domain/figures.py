"""Figures (số liệu) per unit x procedure x period, as sums of each dossier's contribution.

A dossier contributes to two periods of each kind: the one it was registered in (received,
channels, returns, apologies…) and the one it finished in (resolved early / on time / late,
working time used). Because a figure is a plain sum of per-dossier contributions, it is the
same whatever order the events came in, and the projection can keep it up to date by adding
``contribution(new facts) - contribution(old facts)`` for each dossier an event touched.

Units are the competent department and the receiving point (district / commune desks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from services.scoring.domain.dossier_facts import DISLIKE_AT_MOST, DossierFacts
from services.scoring.domain.periods import periods_of

# (dimension, unit, procedure, period kind, period start)
FigureKey = tuple[str, str, str, str, date]
DIMENSIONS = ("department", "receiving_point")

COUNTERS: tuple[str, ...] = (
    "registered",  # every dossier at the counter, whatever the outcome
    "received",  # complete dossiers received (the clock started)
    "refused",  # not received (form 03)
    "incomplete",  # still waiting for completion at the counter (form 02)
    "desk",
    "online_partial",
    "online_full",
    "post",  # filed through the public postal service
    "postal_return",  # result asked for by post
    "fee_bearing",
    "paid_online",
    "scanned",
    "electronic_result",
    "returns",  # supplement requests (trả hồ sơ yêu cầu bổ sung)
    "returned_dossiers",  # dossiers returned at least once
    "second_returns",  # dossiers returned twice or more
    "escalations",
    "apologies",
    "backdated_entries",
    "resolved",  # decided (approved or rejected)
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "stopped",  # withdrawn, stopped or closed for no supplement
    "working_minutes",  # of the resolved ones, for the average working days used
    "from_pickup",  # received dossiers collected by the post (pickup_reference)
    "rated",  # dossiers the citizen rated
    "rated_dislike",  # rated 1 or 2 on the 5-level scale
    "complained",  # dossiers with at least one complaint
    "complaints",
)
# Counters added after the first release: older data folders get their columns (store.schema).
ADDED_COUNTERS: tuple[str, ...] = ("from_pickup", "rated", "rated_dislike", "complained", "complaints")


def _counted(**counts: int) -> dict[str, int]:
    """The counters a dossier adds to, without those it adds nothing to (most are 0)."""
    return {name: n for name, n in counts.items() if n}


def _registered_part(f: DossierFacts) -> dict[str, int]:
    if f.outcome == "registered":  # completed online, back in the desk's queue
        return _counted(registered=1, backdated_entries=f.backdated_entries)
    if f.outcome == "refused":
        return _counted(registered=1, refused=1, backdated_entries=f.backdated_entries)
    if f.outcome == "incomplete":
        return _counted(registered=1, incomplete=1, backdated_entries=f.backdated_entries)
    charged = f.fee_vnd + f.obligations_vnd > 0
    c = _counted(
        registered=1,
        received=1,
        postal_return=int(f.postal_return),
        fee_bearing=int(charged),
        paid_online=int(charged and f.paid_online),
        scanned=int(f.documents_scanned),
        electronic_result=int(f.electronic_result),
        returns=f.supplement_requests,
        returned_dossiers=int(f.supplement_requests >= 1),
        second_returns=int(f.second_return),
        escalations=f.escalations,
        apologies=f.apologies,
        from_pickup=int(f.pickup_reference is not None),
        rated=int(f.rating is not None),
        rated_dislike=int(f.rating is not None and f.rating <= DISLIKE_AT_MOST),
        complained=int(f.complaints > 0),
        complaints=f.complaints,
        backdated_entries=f.backdated_entries,
    )
    if f.channel_kind:
        c[f.channel_kind] = 1
    return c


def _finished_part(f: DossierFacts) -> dict[str, int]:
    if f.finish_kind is None:
        return {}
    if f.finish_kind != "decided":
        return {"stopped": 1}
    c = _counted(resolved=1, working_minutes=f.working_minutes)
    if f.timeliness:
        c[f"resolved_{f.timeliness}"] = 1
    return c


# Where a part of a dossier counts before it is spread over figure keys: the unit of each
# dimension, the procedure, and the periods of the day it happened on.
_Place = tuple[tuple[tuple[str, str], ...], str, tuple[tuple[str, date], ...]]


def _placed_parts(f: DossierFacts) -> list[tuple[_Place, dict[str, int]]]:
    """What a dossier adds and where (nothing until it has been at the counter)."""
    if f.outcome is None or f.registered_at is None or f.department_code is None:
        return []
    units: tuple[tuple[str, str], ...] = (
        ("department", f.department_code),
        ("receiving_point", f.receiving_point or "?"),
    )
    procedure = f.procedure_code or "?"
    placed: list[tuple[_Place, dict[str, int]]] = [
        ((units, procedure, periods_of(f.registered_at)), _registered_part(f))
    ]
    if f.finished_at is not None:
        placed.append(((units, procedure, periods_of(f.finished_at)), _finished_part(f)))
    return placed


def _keys(place: _Place) -> list[FigureKey]:
    units, procedure, periods = place
    return [(dimension, unit, procedure, kind, start) for kind, start in periods for dimension, unit in units]


def contribution(f: DossierFacts) -> dict[FigureKey, Counter[str]]:
    """What one dossier adds to the figures (nothing until it has been at the counter)."""
    out: dict[FigureKey, Counter[str]] = {}
    delta(None, f, out)
    return out


def total(facts: Iterable[DossierFacts]) -> dict[FigureKey, Counter[str]]:
    """The figures of these dossiers. The dossiers of one unit, procedure and day add to the same
    figures, so their parts are summed per day first and spread over the figure keys once per
    day (a replay's dossiers share a few thousand such days; each dossier would otherwise add
    its counters to every figure key of both dimensions and all period kinds)."""
    figures: dict[FigureKey, Counter[str]] = {}
    _spread(_by_place((f, 1) for f in facts), figures)
    return {k: v for k, v in figures.items() if any(v.values())}


def delta(old: DossierFacts | None, new: DossierFacts, into: dict[FigureKey, Counter[str]]) -> None:
    """Adds ``contribution(new) - contribution(old)`` into ``into`` (negative counts kept).

    Netted where the dossier counts first: an event moves a counter or two of a dossier that
    stays on its day, unit and procedure, so most of the two contributions cancel out there,
    before anything is spread over the figure keys (the live consumer does this for every
    dossier of every batch)."""
    _spread(_by_place([(new, 1)] if old is None else [(new, 1), (old, -1)]), into)


def _by_place(signed: Iterable[tuple[DossierFacts, int]]) -> dict[_Place, dict[str, int]]:
    """The dossiers' parts summed (each with its sign) where they count, before any figure key."""
    net: dict[_Place, dict[str, int]] = {}
    for facts, sign in signed:
        # a dossier received and finished on the same day has two parts in one place
        for place, part in _placed_parts(facts):
            counts = net.setdefault(place, {})
            for name, n in part.items():
                counts[name] = counts.get(name, 0) + sign * n
    return net


def _spread(by_place: dict[_Place, dict[str, int]], into: dict[FigureKey, Counter[str]]) -> None:
    """Adds each place's counts, those not 0, to every figure key of that place."""
    for place, counts in by_place.items():
        moved = [(name, n) for name, n in counts.items() if n]
        if not moved:
            continue
        for key in _keys(place):
            target = into.get(key)
            if target is None:
                into[key] = target = Counter()
            for name, n in moved:
                target[name] += n
