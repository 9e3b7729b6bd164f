"""Where tokens come from: the province's identity provider in production, by configuration only.

* ``MOTCUA_OIDC_ISSUER`` — the ``iss`` every token must carry (Keycloak: ``https://host/realms/NAME``)
* ``MOTCUA_OIDC_JWKS_URL`` — the issuer's keys (Keycloak: ``…/protocol/openid-connect/certs``);
  ``file:///path`` reads them from a file
* ``MOTCUA_OIDC_AUDIENCE`` — the ``aud`` tokens must be issued for (default ``motcua``)
* ``MOTCUA_OIDC_ALGORITHMS`` — accepted signature algorithms (default ``RS256,ES256,PS256``)
* ``MOTCUA_OIDC_ROLES_CLAIM``, ``MOTCUA_OIDC_AGENCY_CLAIM``, ``MOTCUA_OIDC_USER_CLAIM`` — claim
  paths (defaults ``realm_access.roles``, ``agency``, ``preferred_username``)
* ``MOTCUA_OIDC_ROLE_MAP`` — the provider's role names for ours: ``mc-tiepnhan=front_desk,…``
"""

from __future__ import annotations

import os

from shared.auth.claims import ClaimMap
from shared.auth.jwks import JwksCache
from shared.auth.principal import Role
from shared.auth.verifier import TokenVerifier
from shared.host.settings import require_secret


def verifier_from_env() -> TokenVerifier:
    env = os.environ
    issuer = require_secret("MOTCUA_OIDC_ISSUER", env.get("MOTCUA_OIDC_ISSUER"))
    jwks_url = require_secret("MOTCUA_OIDC_JWKS_URL", env.get("MOTCUA_OIDC_JWKS_URL"))
    role_names: dict[str, Role] = {}
    for pair in env.get("MOTCUA_OIDC_ROLE_MAP", "").split(","):
        theirs, sep, ours = pair.partition("=")
        if sep:
            role_names[theirs.strip()] = Role(ours.strip())
    claims = ClaimMap(
        roles=env.get("MOTCUA_OIDC_ROLES_CLAIM", "realm_access.roles"),
        agency=env.get("MOTCUA_OIDC_AGENCY_CLAIM", "agency"),
        user=env.get("MOTCUA_OIDC_USER_CLAIM", "preferred_username"),
        role_names=role_names,
    )
    algorithms = tuple(
        a.strip() for a in env.get("MOTCUA_OIDC_ALGORITHMS", "RS256,ES256,PS256").split(",") if a.strip()
    )
    return TokenVerifier(
        issuer=issuer,
        audience=env.get("MOTCUA_OIDC_AUDIENCE", "motcua"),
        jwks=JwksCache(jwks_url),
        claims=claims,
        algorithms=algorithms,
    )
