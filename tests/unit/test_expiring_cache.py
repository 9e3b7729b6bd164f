"""``ExpiringCache`` against a plain model of what it promises: never more than ``size``
entries, never an expired value, the least recently used dropped first, and expired entries at
the cold end dropped as new ones come."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.expiring_cache import ExpiringCache


@dataclass
class Model:
    """The same promises, the slow obvious way: a list in order of use, oldest first."""

    size: int
    entries: list[tuple[int, str, float]] = field(default_factory=list)  # key, value, until

    def get(self, key: int, now: float) -> str | None:
        for i, (k, value, until) in enumerate(self.entries):
            if k == key:
                del self.entries[i]
                if until < now:
                    return None
                self.entries.append((k, value, until))
                return value
        return None

    def put(self, key: int, value: str, until: float, now: float) -> None:
        self.entries = [e for e in self.entries if e[0] != key] + [(key, value, until)]
        if len(self.entries) > self.size:
            self.entries.pop(0)
        while self.entries and self.entries[0][2] < now:
            self.entries.pop(0)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["get", "put", "pop"]),
        st.integers(0, 4),  # key
        st.floats(0, 2),  # time passing before the step
        st.floats(-1, 60),  # lifetime of a put (negative: expired when it comes)
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 4), steps=STEPS)
# a use moves an entry away from the cold end: the third key pushes out the second, not the first
@example(
    size=2,
    steps=[("put", 1, 0, 50), ("put", 2, 0, 50), ("get", 1, 0, 0), ("put", 3, 0, 50), ("get", 1, 0, 0)],
)
def test_keeps_the_promises_of_the_model(size: int, steps: list[tuple[str, int, float, float]]) -> None:
    cache: ExpiringCache[int, str] = ExpiringCache(size)
    model = Model(size)
    now = 0.0
    for n, (op, key, passing, lifetime) in enumerate(steps):
        now += passing
        if op == "get":
            assert cache.get(key, now) == model.get(key, now)
        elif op == "put":
            value = f"v{n}"
            assert cache.put(key, value, now + lifetime, now) == value
            model.put(key, value, now + lifetime, now)
        else:
            cache.pop(key)
            model.entries = [e for e in model.entries if e[0] != key]
        assert len(cache) == len(model.entries) <= size


def test_a_value_is_never_returned_after_its_deadline() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(10)
    cache.put("token", 1, until=100.0, now=0.0)
    assert cache.get("token", 100.0) == 1
    assert cache.get("token", 100.5) is None
    assert len(cache) == 0


def test_an_empty_cache_is_refused() -> None:
    with pytest.raises(ValueError):
        ExpiringCache(0)
