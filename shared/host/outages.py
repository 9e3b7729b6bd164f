"""Which failures are a dependency's outage (PostgreSQL or NATS down, restarting, unreachable),
and the one answer every service gives to them: 503 with ``Retry-After``, never 500.

A request cut short by an outage has either not been done or will be found done by its retry
(intake's idempotency keys, commands' own checks), so "try again shortly" is the truth; a 500
would say "our bug, report it", which it is not.
"""

from __future__ import annotations

import asyncpg
import nats.errors
import nats.js.errors
import psycopg
import psycopg_pool
from eventsourcing import persistence

from shared.host.errors import ApiError

# Seconds a client should wait before retrying: a PostgreSQL restart or a NATS reconnect
# usually takes a few seconds; a client that retries sooner only adds load.
RETRY_AFTER_S = 2

# asyncpg: the server went away, is starting or shutting down, or refuses new connections.
_POSTGRES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE 08: connection exceptions
    asyncpg.CannotConnectNowError,  # 57P03: starting up / shutting down
    asyncpg.AdminShutdownError,  # 57P01: terminated by an administrator (a restart)
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.ConnectionDoesNotExistError,  # "connection was closed in the middle of operation"
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing" (never a bad statement)
    asyncpg.exceptions._base.InternalClientError,  # "cannot switch to state": a connection cut mid-call
    psycopg.OperationalError,  # the event store's driver: connection lost, admin shutdown, ...
    psycopg.InterfaceError,  # "the connection is closed"
    psycopg_pool.PoolTimeout,
    persistence.OperationalError,  # the event store library's wrapping of the above
    persistence.InterfaceError,
)
_NATS: tuple[type[BaseException], ...] = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError,
)
# Refused, reset or unreachable sockets: whichever client met them, a dependency is not there.
_NETWORK: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


def outage_of(exc: BaseException) -> str | None:
    """``"postgres"``, ``"nats"`` or ``"network"`` if ``exc`` (or what caused it) is an outage."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _POSTGRES):
            return "postgres"
        if isinstance(current, _NATS):
            return "nats"
        if isinstance(current, _NETWORK):
            return _raised_in(current) or "network"
        if isinstance(current, BaseExceptionGroup):
            for inner in current.exceptions:
                found = outage_of(inner)
                if found:
                    return found
        current = current.__cause__ or current.__context__
    return None


# A refused or reset socket names no dependency, but the driver it was raised in does: asyncpg
# raises a bare ConnectionError ("unexpected connection_lost() call") when PostgreSQL goes away.
_DRIVERS = (("/asyncpg/", "postgres"), ("/psycopg", "postgres"), ("/nats/", "nats"))


def _raised_in(exc: BaseException) -> str | None:
    frame = exc.__traceback__
    found = None
    while frame is not None:  # the innermost driver frame wins
        filename = frame.tb_frame.f_code.co_filename.replace("\\", "/")
        found = next((name for part, name in _DRIVERS if part in filename), found)
        frame = frame.tb_next
    return found


def dependency_unavailable(dependency: str) -> ApiError:
    names = {"postgres": "PostgreSQL", "nats": "NATS"}
    name = names.get(dependency, "PostgreSQL/NATS")
    error = ApiError(
        503,
        "dependency_unavailable",
        f"Hệ thống tạm thời không kết nối được {name}; yêu cầu chưa được thực hiện hoặc sẽ được nhận ra"
        f" khi gửi lại: vui lòng thử lại sau {RETRY_AFTER_S} giây (cùng Idempotency-Key nếu có)",
        f"{name} is unavailable right now; the request was not done, or its retry will find it done:"
        f" retry in {RETRY_AFTER_S} s (with the same Idempotency-Key, if any)",
        dependency=dependency,
    )
    error.headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error


# What the error handlers are registered for: every class an outage can surface as, before
# it is told apart from a genuine bug of the same family (a unique violation is a PostgresError).
HANDLED: tuple[type[Exception], ...] = (
    OSError,  # ConnectionError, TimeoutError
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions._base.InternalClientError,
    psycopg.Error,
    psycopg_pool.PoolTimeout,
    persistence.PersistenceError,
    nats.errors.Error,
)
