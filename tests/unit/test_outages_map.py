"""Which failures are a dependency's outage, and which dependency: the 503's ``dependency``."""

from __future__ import annotations

import asyncpg
import pytest

from shared.host.outages import outage_of


def _raised_from(filename: str, exc: BaseException) -> BaseException:
    """``exc`` as if raised by code in ``filename`` (a driver's module, say)."""
    try:
        exec(compile("raise exc", filename, "exec"), {"exc": exc})
    except BaseException as raised:
        return raised
    raise AssertionError("not raised")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("/venv/site-packages/asyncpg/protocol/protocol.py", "postgres"),
        ("/venv/site-packages/psycopg/connection.py", "postgres"),
        ("/venv/site-packages/nats/aio/client.py", "nats"),
        ("/work/services/intake/api.py", "network"),
    ],
)
def test_a_lost_socket_is_named_after_the_driver_it_was_raised_in(filename: str, expected: str) -> None:
    lost = _raised_from(filename, ConnectionError("unexpected connection_lost() call"))
    assert outage_of(lost) == expected


def test_driver_errors_and_bugs() -> None:
    assert outage_of(asyncpg.CannotConnectNowError("the database system is shutting down")) == "postgres"
    wrapped = RuntimeError("save failed")
    wrapped.__cause__ = asyncpg.ConnectionDoesNotExistError("closed in the middle of operation")
    assert outage_of(wrapped) == "postgres"
    assert outage_of(asyncpg.UniqueViolationError("duplicate key")) is None  # a bug, stays a 500
    assert outage_of(ValueError("bad")) is None
