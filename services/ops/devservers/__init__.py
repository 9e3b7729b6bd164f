"""Development servers: embedded NATS (JetStream) and PostgreSQL for ``make run``, ``make test``,
the bench and the fault suite. Nothing in production imports this package.

``python -m services.ops.devservers up|down|status|clean`` is its command line.
"""

from __future__ import annotations

from services.ops.devservers.folder import ServersError
from services.ops.devservers.servers import (
    RunningServers,
    recorded_urls,
    remove_data,
    servers_from_env_or_start,
    start_postgres,
    start_servers,
    stop_recorded_servers,
)

__all__ = [
    "RunningServers",
    "ServersError",
    "recorded_urls",
    "remove_data",
    "servers_from_env_or_start",
    "start_postgres",
    "start_servers",
    "stop_recorded_servers",
]
