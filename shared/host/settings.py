"""Process settings, read from the environment once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PORTS = {"intake": 8101, "processing": 8102, "postal": 8103, "scoring": 8104}


@dataclass(frozen=True)
class Settings:
    nats_url: str
    database_url: str

    @classmethod
    def from_env(cls) -> Settings:
        missing = [name for name in ("NATS_URL", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not set: start the servers with `make run` or set them")
        return cls(nats_url=os.environ["NATS_URL"], database_url=os.environ["DATABASE_URL"])


def service_port(service: str) -> int:
    return int(os.environ.get(f"{service.upper()}_PORT", DEFAULT_PORTS[service]))
