"""From a token's claims to a principal, for any standard OpenID Connect provider.

Keycloak puts realm roles in ``realm_access.roles``; other providers use ``roles`` or
``groups``; the province's provider names roles its own way. Where to look and how its role
names map to ours is configuration, not code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.auth.principal import Principal, Role

# The unit of a citizen, who belongs to none (the dev issuer's citizens carry it too).
CITIZEN_UNIT = "CONGDAN"


class ClaimsRefused(Exception):
    """The token is genuine but does not say who, what or where well enough."""


@dataclass(frozen=True)
class ClaimMap:
    roles: str = "realm_access.roles"
    agency: str = "agency"
    user: str = "preferred_username"
    name: str = "name"
    # provider role name -> ours; names equal to ours need no entry
    role_names: dict[str, Role] = field(default_factory=dict)

    def principal(self, claims: dict[str, Any]) -> Principal:
        user = _at(claims, self.user) or claims.get("sub")
        if not isinstance(user, str) or not user or len(user) > 128:
            raise ClaimsRefused(f"no usable user id in '{self.user}' or 'sub'")
        raw_roles = _at(claims, self.roles)
        if isinstance(raw_roles, str):
            raw_roles = raw_roles.split()
        roles = frozenset(r for r in (self._role(x) for x in raw_roles or []) if r is not None)
        if not roles:
            raise ClaimsRefused(f"no motcua role in '{self.roles}'")
        agency = _at(claims, self.agency)
        if isinstance(agency, list) and len(agency) == 1:
            agency = agency[0]
        if agency is None and roles == {Role.CITIZEN}:
            # the national citizen log-in knows people, not units: a citizen belongs to none
            agency = CITIZEN_UNIT
        if not isinstance(agency, str) or not agency or len(agency) > 64:
            raise ClaimsRefused(f"no unit (agency) in '{self.agency}'")
        name = _at(claims, self.name)
        return Principal(user, roles, agency, name if isinstance(name, str) else None)

    def _role(self, raw: Any) -> Role | None:
        if not isinstance(raw, str):
            return None
        if raw in self.role_names:
            return self.role_names[raw]
        try:
            return Role(raw)
        except ValueError:
            return None  # the provider's other roles (offline_access, …) are not ours


def _at(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
