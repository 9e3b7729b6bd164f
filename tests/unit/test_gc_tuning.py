"""The collector's tuning: read from the environment, applied once per process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.host.gc_tuning import DEFAULT_YOUNG, YOUNG_ENV, young_threshold


def test_default_and_explicit_thresholds() -> None:
    assert young_threshold({}) == DEFAULT_YOUNG
    assert young_threshold({YOUNG_ENV: " "}) == DEFAULT_YOUNG
    assert young_threshold({YOUNG_ENV: "12000"}) == 12_000
    assert young_threshold({YOUNG_ENV: "0"}) == 0


@pytest.mark.parametrize("raw", ["lots", "1e4", "-5"])
def test_a_bad_threshold_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ValueError, match=YOUNG_ENV):
        young_threshold({YOUNG_ENV: raw})


def _in_fresh_interpreter(code: str) -> str:
    # A process of its own: freezing the test runner's objects would change every later test.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_tuning_freezes_what_exists_and_raises_the_threshold_once() -> None:
    out = _in_fresh_interpreter(
        "import gc\n"
        "from shared.host.gc_tuning import tune_after_start\n"
        "keep = [[i] for i in range(1000)]\n"
        "first = tune_after_start({'MOTCUA_GC_YOUNG': '30000'})\n"
        "frozen = gc.get_freeze_count()\n"
        "again = tune_after_start({'MOTCUA_GC_YOUNG': '900'})\n"
        "print(first, again, frozen >= 1000, gc.get_threshold())"
    )
    assert out == "True False True (30000, 20, 20)"


def test_zero_leaves_pythons_defaults() -> None:
    out = _in_fresh_interpreter(
        "import gc\n"
        "from shared.host.gc_tuning import tune_after_start\n"
        "before = gc.get_threshold()\n"
        "tuned = tune_after_start({'MOTCUA_GC_YOUNG': '0'})\n"
        "print(tuned, gc.get_threshold() == before, gc.get_freeze_count())"
    )
    assert out == "False True 0"
