"""Indicators and codes our events cannot support yet, and what would supply them."""

from __future__ import annotations

UNSUPPORTED: tuple[dict[str, str], ...] = ()
