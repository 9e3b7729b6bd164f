"""The bench's identity provider: the development issuer of a data folder, its JWKS in a file.

The services verify the bench's tokens exactly as production tokens (signature against the
issuer's published keys, issuer, audience, expiry) through the same settings; only the keys
come from a ``file://`` JWKS instead of the province's provider, so no extra process runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.auth.dev_issuer import DevIssuer

BENCH_ISSUER = "https://login.bench.motcua.local/realms/motcua"
# Who the bench acts as: the centre's front-desk officer receives (their desk, TTPVHCC, is the
# default receiving point); the inspector (auditor) reads dossiers and reports of every unit.
DESK_USER = "tiepnhan"
AUDITOR_USER = "thanhtra"


def issuer_in(folder: Path) -> tuple[DevIssuer, Path]:
    """The folder's issuer (its key made once) and the file its JWKS is published in."""
    issuer = DevIssuer.in_folder(folder, issuer=BENCH_ISSUER)
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    return issuer, jwks


def identity_env(issuer: DevIssuer, jwks: Path) -> dict[str, str]:
    """What a service reads to verify this issuer's tokens (``shared.auth.settings``)."""
    return {
        "MOTCUA_ENV": "development",
        "MOTCUA_OIDC_ISSUER": issuer.issuer,
        "MOTCUA_OIDC_AUDIENCE": issuer.audience,
        "MOTCUA_OIDC_JWKS_URL": jwks.as_uri(),
    }
