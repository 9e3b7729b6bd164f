"""The NATS users of the bus and their permissions, generated from the topology, and how to connect.

One user per service and one ``ops`` user. A service may publish only its own events
(``<SUBJECT_ROOT>.<service>.>``), fetch from and acknowledge only the durable consumers that
``topology`` gives it, answer redrive requests only for those consumers, and receive replies only
on its own inbox prefix (``_INBOX_<service>.``): with one shared ``_INBOX.>`` any user could
subscribe to it and read the messages JetStream delivers to another user's fetches. ``ops``
declares streams and consumers and is what the ``motcua`` CLI and the tests use.

The embedded nats-server of ``make run`` / ``make test`` / ``make bench`` gets this block with
generated passwords (``services/ops/devservers/nats.py``); ``deploy/nats-users.conf`` is the same block
with passwords taken from the server's environment (regenerate it with
``motcua topology nats-users > deploy/nats-users.conf``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
from nats.aio.client import Client

from shared.eventlog.topology import (
    CONSUMERS,
    SERVICES,
    STREAM,
    SUBJECT_ROOT,
    consumers_reading,
    redrive_prefix,
)

log = logging.getLogger(__name__)

ADMIN_USER = "ops"
USERS = (*SERVICES, ADMIN_USER)


def inbox_prefix(user: str | None) -> str:
    """Each user's replies arrive under its own prefix, which only it may subscribe to."""
    return f"_INBOX_{user}" if user else "_INBOX"


def permissions(service: str, *, stream: str = STREAM, subject_root: str = SUBJECT_ROOT) -> dict[str, Any]:
    """What ``service``'s user may publish and subscribe to (nats-server's permission block)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    durables = [spec.durable for spec in CONSUMERS if spec.owner == service]
    redrive = redrive_prefix(subject_root)
    publish = [
        f"{subject_root}.{service}.>",  # the relay: its own events only
        "$JS.API.INFO",  # /health
    ]
    for durable in durables:
        publish += [
            f"$JS.API.CONSUMER.INFO.{stream}.{durable}",  # waiting for ops to declare it
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",  # fetch
            f"$JS.ACK.{stream}.{durable}.>",  # ack, nak with delay, term
        ]
    audience = [spec.durable for spec in consumers_reading(service)]
    if audience:
        # The relay watches the stream (re-created? its tail lost?) and how far the consumers of
        # its events have acknowledged: its checkpoint for re-publishing after a loss. Read-only.
        publish.append(f"$JS.API.STREAM.INFO.{stream}")
        publish += [f"$JS.API.CONSUMER.INFO.{stream}.{d}" for d in audience if d not in durables]
    if service == "processing":
        # The dossier's intake events by subject, which its intake consumer reads anyway: a case
        # asked for before it opened answers "not yet opened" (services/processing/not_open.py).
        publish.append(f"$JS.API.DIRECT.GET.{stream}.{subject_root}.intake.>")
    if service == "scoring":
        # Scoring serves /ops: lag over every consumer, and asks owners to redrive dead letters.
        publish += [
            *([] if audience else [f"$JS.API.STREAM.INFO.{stream}"]),
            f"$JS.API.CONSUMER.INFO.{stream}.*",
            f"{redrive}.*",
        ]
    subscribe = [f"{inbox_prefix(service)}.>", *(f"{redrive}.{d}" for d in durables)]
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": subscribe},
        # Lets a service answer the redrive requests it receives, and nothing else.
        "allow_responses": True,
    }


def _env_var(user: str) -> str:
    return f"NATS_{user.upper()}_PASSWORD"


def authorization_block(
    passwords: Mapping[str, str] | None = None,
    *,
    stream: str = STREAM,
    subject_root: str = SUBJECT_ROOT,
) -> str:
    """The ``authorization { users = [...] }`` block of nats-server's configuration.

    With ``passwords`` the block holds them (the embedded server's generated config); without,
    each password is a reference to the server's environment (``$NATS_INTAKE_PASSWORD`` …),
    resolved by nats-server when it reads the file.
    """
    marker = "__env__"
    users: list[dict[str, Any]] = [
        {
            "user": service,
            "password": passwords[service] if passwords else marker + _env_var(service),
            "permissions": permissions(service, stream=stream, subject_root=subject_root),
        }
        for service in SERVICES
    ]
    users.append(
        {
            "user": ADMIN_USER,
            "password": passwords[ADMIN_USER] if passwords else marker + _env_var(ADMIN_USER),
            "permissions": {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}},
        }
    )
    body = json.dumps(users, indent=2)
    if not passwords:
        for user in USERS:
            body = body.replace(f'"{marker}{_env_var(user)}"', f"${_env_var(user)}")
    indented = "\n".join(f"  {line}" for line in body.splitlines())
    return (
        f"# Generated from shared/eventlog/topology.py (stream {stream}, subjects {subject_root}.>):"
        " do not edit by hand.\n"
        f"authorization {{\n  users = {indented.lstrip()}\n}}\n"
    )


def server_urls(url: str) -> list[str]:
    """The servers of a ``NATS_URL``: one URL, or several separated by commas (the nodes of a
    cluster: the client connects to any and moves to another when its node goes away)."""
    urls = [part.strip() for part in url.split(",") if part.strip()]
    if not urls:
        raise ValueError("NATS_URL names no server")
    return urls


def strip_credentials(url: str) -> str:
    """The URL(s) without ``user:password@`` (explicit credentials win; URLs get logged)."""
    stripped = []
    for one in server_urls(url):
        parts = urlsplit(one)
        if "@" in parts.netloc:
            one = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        stripped.append(one)
    return ",".join(stripped)


async def log_nats_error(err: Exception) -> None:
    # A denied publish is otherwise only a timeout at the publisher: the server's
    # "Permissions Violation" arrives here, asynchronously.
    log.error("NATS: %s", err)


def connect_options(user: str | None, password: str | None) -> dict[str, Any]:
    """nats-py ``connect`` keywords for ``user`` (none: connect as the URL says, e.g. no auth)."""
    options: dict[str, Any] = {"error_cb": log_nats_error}
    if user:
        options.update(user=user, password=password or "", inbox_prefix=inbox_prefix(user))
    return options


async def connect(
    url: str, user: str | None = None, password: str | None = None, *, reconnect: bool = False
) -> Client:
    """A plain nats-py connection (the CLI, tests), as ``user`` or as the URL says; with
    ``reconnect`` it reconnects for ever (a long-running watcher outlives server restarts)."""
    servers = server_urls(strip_credentials(url) if user else url)
    options = connect_options(user, password)
    if reconnect:
        options.update(max_reconnect_attempts=-1, reconnect_time_wait=0.5)
    return await nats.connect(servers, **options)
