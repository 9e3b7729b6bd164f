"""``make bench`` is not part of CI; its modules must still import and its in-process probes run
(``bench/token_cost.py`` once imported a name the guard no longer had, and the bench crashed
after twelve minutes of load)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(BENCH)]) if m.name != "__main__")


@pytest.mark.parametrize("name", MODULES)
def test_every_bench_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")


def test_the_token_probe_runs_through_the_guard() -> None:
    from bench import token_cost

    figures = token_cost.measure(n_cached=200, n_uncached=5, rounds=1)
    # a cached verification is a dictionary hit, an uncached one checks an RSA signature
    assert 0 < figures["cached_us"] < figures["uncached_us"]
    assert figures["calls"] == {"cached": 200, "uncached": 5, "rounds": 1}
