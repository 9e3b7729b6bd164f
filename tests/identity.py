"""The test suite's identity provider: the development issuer, its JWKS in a file, tokens per user.

Imported by ``tests/conftest.py`` before any service app is built, so that every app verifies
tokens exactly as in production, against this issuer's published key.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from shared.auth.dev_issuer import DEMO_USERS, DevIssuer, demo_user
from shared.auth.principal import Role

_FOLDER = Path(tempfile.mkdtemp(prefix="motcua-test-identity-"))
ISSUER = DevIssuer.in_folder(_FOLDER, issuer="https://login.test.motcua.local/realms/motcua")
JWKS_FILE = _FOLDER / "jwks.json"
JWKS_FILE.write_text(json.dumps(ISSUER.jwks()))

os.environ["MOTCUA_ENV"] = "development"
os.environ["MOTCUA_OIDC_ISSUER"] = ISSUER.issuer
os.environ["MOTCUA_OIDC_AUDIENCE"] = ISSUER.audience
os.environ["MOTCUA_OIDC_JWKS_URL"] = JWKS_FILE.as_uri()

# Test users beyond the demo ones: whole-system checks that read across units.
EXTRA_USERS: dict[str, tuple[tuple[Role, ...], str]] = {
    "kiemtra.vanhanh": ((Role.AUDITOR, Role.OPS), "TTPVHCC"),
    "buudien.tiepnhan": ((Role.FRONT_DESK, Role.OPS), "TTPVHCC"),
}


def token(user: str) -> str:
    if user in EXTRA_USERS:
        roles, unit = EXTRA_USERS[user]
        return ISSUER.token(user, roles, unit)
    return ISSUER.token_for(demo_user(user))


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user)}"}


__all__ = ["DEMO_USERS", "ISSUER", "auth", "token"]


def officer(department: str) -> dict[str, str]:
    """A department officer (cán bộ chuyên môn) of ``department``."""
    return {
        "Authorization": f"Bearer {ISSUER.token(f'canbo.{department.lower()}', (Role.OFFICER,), department)}"
    }


def leader(department: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {ISSUER.token(f'lanhdao.{department.lower()}', (Role.LEADER,), department)}"
    }


AUDITOR = "thanhtra"
