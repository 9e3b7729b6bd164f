"""Identifiers that are part of the published language: a dossier's id follows from its code.

Dossier codes are never reused (Circular 03/2025; Circular 04/2025 Art. 23), so the id of a
dossier is a name-based UUID of its code. Every service can therefore find a dossier's events on
the bus (its id is in the subject) from the code a citizen or an officer quotes.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

DOSSIER_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/dossier")


def dossier_id_for(code: str) -> UUID:
    return uuid5(DOSSIER_NAMESPACE, code)
