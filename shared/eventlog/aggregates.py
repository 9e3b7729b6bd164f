"""Loading and saving one aggregate of an ``eventsourcing`` application, the same way in every
service: a missing aggregate is ``None``, and a step is retried when another process saved the
same aggregate first (optimistic concurrency)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

A = TypeVar("A")

CONFLICT_RETRIES = 5


def find(app: Application[Any], aggregate_id: UUID) -> Any | None:
    try:
        return app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None


def act_and_save(app: Application[Any], load: Callable[[], A], action: Callable[[A], bool]) -> bool:
    """Loads the aggregate, applies ``action`` (False: nothing to record) and saves it; a save that
    loses to a concurrent one is retried on the fresh state, ``CONFLICT_RETRIES`` times at most."""
    for attempt in range(CONFLICT_RETRIES):
        aggregate = load()
        if not action(aggregate):
            return False
        try:
            app.save(aggregate)  # type: ignore[arg-type]  # A is the caller's aggregate class
        except IntegrityError:
            if attempt == CONFLICT_RETRIES - 1:
                raise
            continue
        return True
    return False
