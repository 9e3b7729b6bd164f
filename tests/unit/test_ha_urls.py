"""Several servers in NATS_URL and several hosts in DATABASE_URL (docs/deploy/high-availability.md)."""

from __future__ import annotations

import json

import pytest
from eventsourcing.persistence import InfrastructureFactory

from shared.eventlog.nats_users import server_urls, strip_credentials
from shared.eventlog.store import FailoverPostgresFactory, eventstore_env, parse_database_url
from shared.host.host import _broker
from shared.host.settings import Settings

CLUSTER = "nats://n1.example:4222, nats://n2.example:4222,nats://n3.example:4222"


def test_a_nats_url_may_name_every_node_of_a_cluster() -> None:
    assert server_urls(CLUSTER) == [
        "nats://n1.example:4222",
        "nats://n2.example:4222",
        "nats://n3.example:4222",
    ]
    assert server_urls("nats://one:4222") == ["nats://one:4222"]
    with pytest.raises(ValueError):
        server_urls(" , ")


def test_credentials_are_stripped_from_every_url_of_the_list() -> None:
    url = "nats://ops:s3cret@a:1,nats://ops:s3cret@b:2,nats://c:3"
    stripped = strip_credentials(url)
    assert stripped == "nats://a:1,nats://b:2,nats://c:3"
    assert "s3cret" not in stripped


def test_a_service_s_broker_gets_each_server_separately() -> None:
    """nats-py reads a single string as one URL: a comma-joined list would be one bad server."""
    settings = Settings(CLUSTER, "postgresql://u@h/db", nats_user="intake", nats_password="x")
    broker = _broker(settings)
    servers = broker._connection_kwargs["servers"]
    assert list(servers) == server_urls(CLUSTER)


def test_a_database_url_with_two_hosts_reaches_the_event_store_with_both() -> None:
    url = (
        "postgresql://app:p%40ss@db-a:5432,db-b:5433/motcua?target_session_attrs=read-write&connect_timeout=3"
    )
    target = parse_database_url(url)
    assert target.hosts == (("db-a", 5432), ("db-b", 5433))
    assert (target.user, target.password, target.dbname) == ("app", "p@ss", "motcua")
    env = eventstore_env(url, "intake")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db-a,db-b", "5432,5433")
    assert json.loads(env["POSTGRES_CONNECT_PARAMS"]) == {
        "target_session_attrs": "read-write",
        "connect_timeout": "3",
    }
    # The pool of the event store's library is built with them (it connects lazily: no server here).
    factory = InfrastructureFactory.construct(env)
    assert isinstance(factory, FailoverPostgresFactory)
    kwargs = factory.datastore.pool.kwargs
    assert kwargs["host"] == "db-a,db-b" and kwargs["port"] == "5432,5433"
    assert kwargs["target_session_attrs"] == "read-write"
    factory.close()


def test_single_host_urls_read_as_before() -> None:
    target = parse_database_url("postgresql://postgres@127.0.0.1:5432/motcua")
    assert target.hosts == (("127.0.0.1", 5432),) and target.params == {}
    assert parse_database_url("postgresql://u@[::1]:6000/db").hosts == (("::1", 6000),)
    assert parse_database_url("postgresql://u@h/db").hosts == (("h", 5432),)
    with pytest.raises(ValueError):
        parse_database_url("mysql://u@h/db")
