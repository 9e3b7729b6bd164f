"""Process settings, read from the environment once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_PORTS = {"intake": 8101, "processing": 8102, "postal": 8103, "scoring": 8104}
# Services added with issue 14 (payments, notifications): `make run`, docker-compose.yml and the
# Kubernetes base start them like the others (one replica each: not scaled on lag).
SIDE_PORTS = {"payments": 8106, "notify": 8107}


@dataclass(frozen=True)
class Settings:
    nats_url: str
    database_url: str
    # The service's own NATS user (docs/security/nats-and-secrets.md). None: connect as the URL
    # says — a NATS without users, where the service also declares the topology itself.
    nats_user: str | None = None
    nats_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        missing = [name for name in ("NATS_URL", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not set: start the servers with `make run` or set them")
        user = os.environ.get("NATS_USER") or None
        password = os.environ.get("NATS_PASSWORD") or None
        if not is_development():
            # Outside development the bus is never open: every service has its own user.
            require_secret("NATS_USER", user)
            require_secret("NATS_PASSWORD", password)
        elif user and not password:
            raise RuntimeError("NATS_USER is set without NATS_PASSWORD")
        return cls(
            nats_url=os.environ["NATS_URL"],
            database_url=os.environ["DATABASE_URL"],
            nats_user=user,
            nats_password=password,
        )


def service_port(service: str) -> int:
    default = DEFAULT_PORTS.get(service) or SIDE_PORTS[service]
    return int(os.environ.get(f"{service.upper()}_PORT", default))


def is_development() -> bool:
    """`make run`, `make test` and `make bench` set ``MOTCUA_ENV=development``: only then may a
    service fall back on generated development secrets; anywhere else a missing secret stops it."""
    return os.environ.get("MOTCUA_ENV", "") == "development"


def require_secret(name: str, value: str | None) -> str:
    """A secret a service cannot run without outside development."""
    if not value:
        raise RuntimeError(
            f"{name} is not set: a service refuses to start without its secrets outside development"
            " (set MOTCUA_ENV=development only on a developer's machine)"
        )
    return value
