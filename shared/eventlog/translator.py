"""Translating stored domain events into published contracts, with the aggregate at hand.

A published event must stand on its own (the dossier's department, its appointment in force),
but a stored event carries only what changed. The translator keeps the aggregates it has seen
and moves each one forward by the event it translates; the relay reads in order, so each
aggregate is loaded from the store at most once while it stays in the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from shared.contracts import AnyEvent

ToContract = Callable[[Any, Any], AnyEvent | None]


# Aggregates kept at hand: a relay reads in commit order, so an aggregate's next event is
# usually close behind; a miss only loads the aggregate again (from its snapshot). 20,000 held
# ~60 MB of processing's memory (with its clocks); 5,000 still held ~24 MB of intake's and ~18 MB
# of processing's once a bulk load had passed through them, for no CPU the bench could measure at
# either size (bench/README.md).
CACHE_SIZE = 500


class ReplayingTranslator:
    def __init__(self, app: Application[Any], to_contract: ToContract, cache_size: int = CACHE_SIZE) -> None:
        self.app = app
        self.to_contract = to_contract
        self.cache_size = cache_size
        self._aggregates: OrderedDict[UUID, Any] = OrderedDict()

    def _aggregate_after(self, e: Any) -> Any:
        cached = self._aggregates.pop(e.originator_id, None)
        if e.originator_version == 1:
            aggregate = e.mutate(None)
        elif cached is not None and cached.version == e.originator_version - 1:
            aggregate = e.mutate(cached)
        else:
            aggregate = self.app.repository.get(e.originator_id, version=e.originator_version)
        self._aggregates[e.originator_id] = aggregate
        if len(self._aggregates) > self.cache_size:
            self._aggregates.popitem(last=False)
        return aggregate

    def advance(self, domain_event: Any) -> None:
        """Moves the cached aggregate by an event translated some other way (a replay that read
        it straight from its row), so that the next event finds it at hand."""
        self._aggregate_after(domain_event)

    def __call__(self, domain_event: Any) -> AnyEvent | None:
        return self.to_contract(domain_event, self._aggregate_after(domain_event))
