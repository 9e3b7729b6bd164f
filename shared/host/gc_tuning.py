"""The garbage collector tuned for a request-serving process.

CPython collects its youngest generation every 700 net container allocations. A receipt
allocates a few thousand (request parsing, validation, the event, the answer), so the collector
ran several times per request and, every tenth run, walked the older generation too: all the
modules, the catalogue, the routes and the pools built at start-up, which never become garbage.
Once a service has started, ``tune_after_start`` moves everything that exists into the
permanent generation (``gc.freeze``: never scanned again) and lets the young generation grow
to ``MOTCUA_GC_YOUNG`` objects (default 50,000) before it is collected.

Measured in ``bench/intake_ab.py`` at 64 clients, alternating runs on one machine: intake's CPU
per dossier 0.938 -> 0.785 ms (-16 %), the whole system's 3.39 -> 3.12 ms (bench/README.md).
Reference counting still frees almost everything at once; only reference cycles wait longer,
and 50,000 young objects are a few megabytes at most. ``MOTCUA_GC_YOUNG=0`` keeps Python's
defaults.
"""

from __future__ import annotations

import gc
import logging
import os

log = logging.getLogger(__name__)

YOUNG_ENV = "MOTCUA_GC_YOUNG"
DEFAULT_YOUNG = 50_000
# Older generations: collected after this many collections of the one below (Python's are 10).
OLDER = 20


def young_threshold(environ: dict[str, str] | None = None) -> int:
    """The young generation's threshold from the environment (0: leave the collector alone)."""
    raw = (environ if environ is not None else os.environ).get(YOUNG_ENV, "").strip()
    if not raw:
        return DEFAULT_YOUNG
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{YOUNG_ENV} must be a whole number of objects, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{YOUNG_ENV} must not be negative, not {value}")
    return value


_tuned = False


def tune_after_start(environ: dict[str, str] | None = None) -> bool:
    """Once per process (a test process starts many services: what the first left frozen stays
    frozen, the later ones' objects are collected as usual). True if it tuned now."""
    global _tuned
    young = young_threshold(environ)
    if young == 0 or _tuned:
        return False
    gc.collect()  # what start-up left as garbage goes now, not into the permanent generation
    gc.freeze()
    gc.set_threshold(young, OLDER, OLDER)
    _tuned = True
    frozen = gc.get_freeze_count()
    log.info("gc: %d start-up objects frozen, young generation collected every %d", frozen, young)
    return True
