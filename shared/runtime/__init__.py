"""Embedded NATS (JetStream) and PostgreSQL for ``make run`` and ``make test`` (see ``servers``).

The names are loaded lazily so that ``python -m shared.runtime.servers`` does not import the
module twice (once through this package, once as ``__main__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.runtime.servers import (
        RunningServers,
        ServersError,
        remove_data,
        servers_from_env_or_start,
        start_servers,
        stop_recorded_servers,
    )

__all__ = [
    "RunningServers",
    "ServersError",
    "remove_data",
    "servers_from_env_or_start",
    "start_servers",
    "stop_recorded_servers",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("shared.runtime.servers"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
