"""Consumer lag and dead letters across every service, for ``/ops`` and the ``motcua`` CLI."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.eventlog import CONSUMERS, STREAM
from shared.eventlog.dead_letters import list_dead_letters
from shared.eventlog.redrive import RedriveFailed, request_redrive
from shared.eventlog.topology import ConsumerSpec, receives_event_type, sources_of

__all__ = ["SCHEMAS", "RedriveFailed", "UnknownDeadLetter", "dead_letters", "lag", "redrive"]

SCHEMAS = ("intake", "processing", "postal", "scoring")
RELAYS = ("intake", "processing", "postal")


class UnknownDeadLetter(LookupError):
    pass


async def lag(js: JetStreamContext, conn: asyncpg.Connection | None = None) -> dict[str, Any]:
    """Per durable consumer: the stream's last sequence against the consumer's ack floor; with
    ``conn``, also what each consumer has processed against what PostgreSQL holds (``store``):
    a consumer at lag 0 on NATS that is behind the stores lost events in JetStream."""
    if conn is None:
        return await nats_lag(js)
    # In this order: published (PostgreSQL), then lag (NATS), then processed (PostgreSQL). A
    # consumer whose NATS lag is 0 has then acknowledged, so committed, all it was given of
    # what the relays had published when they were read.
    relays = await relay_states(conn)
    answer = await nats_lag(js)
    answer["relays"] = relays
    answer["store"] = await store_check(conn, relays, answer["consumers"])
    return answer


async def relay_states(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    """Per relay: its position, how many events it has published from its PostgreSQL store, its
    checkpoint and its self-healing (how often, when, why)."""
    out: dict[str, dict[str, Any]] = {}
    for schema in RELAYS:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.relay_position"):
            continue
        row = await conn.fetchrow(
            f"SELECT position, published, checkpoint, stream_created, heals, last_healed_at, last_heal,"
            f" published_types::text FROM {schema}.relay_position WHERE relay = $1",
            schema,
        )
        if row is None:
            out[schema] = {"position": 0, "published": 0, "published_types": {}, "checkpoint": 0, "heals": 0}
            continue
        out[schema] = {
            "position": row["position"],
            "published": row["published"],
            "published_types": None if row["published_types"] is None else json.loads(row["published_types"]),
            "checkpoint": row["checkpoint"],
            "stream_created": row["stream_created"],
            "heals": row["heals"],
            "last_healed_at": row["last_healed_at"].isoformat() if row["last_healed_at"] else None,
            "last_heal": row["last_heal"],
        }
    return out


async def store_check(
    conn: asyncpg.Connection, relays: dict[str, dict[str, Any]], consumers: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per consumer: events its sources' relays published from PostgreSQL against the events it
    has processed (its tracking table) or dead-lettered. Counting the tracking rows is one
    index-only scan per consumer; the relays keep their count as they publish."""
    by_name = {c["consumer"]: c for c in consumers}
    rows = []
    for spec in CONSUMERS:
        rows.append(await _consumer_store(conn, spec, relays, by_name.get(spec.durable, {})))
    flagged = [r for r in rows if r["status"] != "ok"]
    return {
        "consumers": rows,
        "behind_store": sum(1 for r in rows if r["status"] == "behind_store"),
        "relay_heals": sum(int(r.get("heals") or 0) for r in relays.values()),
        "ok": not flagged,
    }


async def _consumer_store(
    conn: asyncpg.Connection, spec: ConsumerSpec, relays: dict[str, dict[str, Any]], nats: dict[str, Any]
) -> dict[str, Any]:
    sources = sources_of(spec)
    published = [given_to(spec, relays.get(s, {})) for s in sources]
    schema = spec.owner
    row: dict[str, Any] = {"consumer": spec.durable, "sources": list(sources)}
    if any(p is None for p in published) or not await conn.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"{schema}.processed_events"
    ):
        return {**row, "status": "unknown", "published": None, "processed": None}
    processed = int(
        await conn.fetchval(
            f"SELECT count(*) FROM {schema}.processed_events WHERE consumer = $1", spec.durable
        )
    )
    # A dead letter may be delivered again after a re-publish: counted once per payload.
    dead = int(
        await conn.fetchval(
            f"SELECT count(DISTINCT md5(payload)) FROM {schema}.dead_letters"
            " WHERE consumer = $1 AND redriven_at IS NULL",
            spec.durable,
        )
    )
    expected = sum(int(p or 0) for p in published)
    behind = max(0, expected - processed - dead)
    row.update(published=expected, processed=processed, dead_lettered=dead, behind=behind)
    nats_lag = nats.get("lag") if nats.get("declared") else None
    if not behind:
        return {**row, "status": "ok"}
    if nats_lag is None:
        return {**row, "status": "consumer_missing", **_explain("consumer_missing", spec, behind)}
    if nats_lag > 0:
        return {**row, "status": "catching_up"}
    return {**row, "status": "behind_store", **_explain("behind_store", spec, behind)}


def given_to(spec: ConsumerSpec, relay: dict[str, Any]) -> int | None:
    """How many of the events a relay published reach ``spec``: all of them, or those of the
    types its subjects take (None: not known yet). A consumer that was given every type before
    its subjects were narrowed keeps the ignored events it had recorded among its processed
    ones: a shortfall smaller than those goes unseen there."""
    types: dict[str, int] | None = relay.get("published_types")
    if types is None:
        return None
    return sum(n for event_type, n in types.items() if receives_event_type(spec, event_type))


def _explain(status: str, spec: ConsumerSpec, behind: int) -> dict[str, Any]:
    """Cause and cure, in Vietnamese and English, for a consumer behind PostgreSQL."""
    sources = ", ".join(sources_of(spec))
    c = spec.durable
    if status == "consumer_missing":
        return {
            "cause": {
                "vi": f"Bộ tiêu thụ {c} không tồn tại trên NATS; còn {behind} sự kiện của {sources}"
                " chưa xử lý.",
                "en": f"Consumer {c} does not exist on NATS; {behind} event(s) of {sources} not processed.",
            },
            "cure": {
                "vi": "Trình giữ cấu trúc (`motcua topology keep`) sẽ khai báo lại trong vài giây; nếu"
                " nó không chạy, chạy `motcua topology declare` với người dùng ops.",
                "en": "The topology keeper (`motcua topology keep`) declares it again within seconds;"
                " if it is not running, run `motcua topology declare` as the ops user.",
            },
        }
    return {
        "cause": {
            "vi": f"Độ trễ trên NATS của {c} là 0 nhưng còn {behind} sự kiện đã lưu trong PostgreSQL"
            f" ({sources}) mà nó chưa xử lý: JetStream đã mất sự kiện đã được xác nhận (luồng bị tạo"
            " lại, thư mục dữ liệu bị xoá, hoặc ghi chưa đồng bộ bị mất khi sập).",
            "en": f"{c} is at lag 0 on NATS but {behind} event(s) stored in PostgreSQL ({sources})"
            " were never processed by it: JetStream lost acknowledged events (the stream re-created,"
            " its data directory deleted, or unsynced writes lost in a crash).",
        },
        "cure": {
            "vi": "Các relay tự phát lại từ PostgreSQL khi thấy luồng bị tạo lại (xem `relays`, `heals`)."
            " Nếu vẫn còn lệch: đặt lại vị trí relay của dịch vụ nguồn về điểm kiểm (checkpoint) hoặc 0"
            " rồi khởi động lại dịch vụ đó (theo dõi đã xử lý bỏ qua bản trùng); với scoring có thể"
            " chạy `motcua replay scoring`; sau đó `motcua verify`.",
            "en": "The relays re-publish from PostgreSQL on their own when they see the stream"
            " re-created (see `relays`, `heals`). If it stays behind: reset the source service's relay"
            " position to its checkpoint (or 0) and restart that service (tracking skips duplicates);"
            " for scoring, `motcua replay scoring` also works; then `motcua verify`.",
        },
    }


async def nats_lag(js: JetStreamContext) -> dict[str, Any]:
    """Per durable consumer: the stream's last sequence against the consumer's ack floor."""
    stream = await js.stream_info(STREAM)
    last = stream.state.last_seq
    consumers = []
    for spec in CONSUMERS:
        try:
            info = await js.consumer_info(STREAM, spec.durable)
        except NotFoundError:
            consumers.append({"consumer": spec.durable, "declared": False})
            continue
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        consumers.append(
            {
                "consumer": spec.durable,
                "declared": True,
                "filter_subject": " ".join(spec.filter_subjects),
                "ack_floor": floor,
                "behind_stream": max(0, last - floor),  # includes events outside its filter
                "lag": (info.num_pending or 0) + (info.num_ack_pending or 0),
                "pending": info.num_pending or 0,
                "ack_pending": info.num_ack_pending or 0,
                "redelivered": info.num_redelivered or 0,
                "waiting": info.num_waiting or 0,
            }
        )
    return {"stream": STREAM, "last_seq": last, "messages": stream.state.messages, "consumers": consumers}


async def dead_letters(conn: asyncpg.Connection, include_redriven: bool = False) -> list[dict[str, Any]]:
    out = []
    for schema in SCHEMAS:
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.dead_letters")
        if not exists:
            continue
        for dl in await list_dead_letters(conn, schema, include_redriven=include_redriven, limit=1000):
            out.append(
                {
                    "schema": schema,
                    "id": dl.id,
                    "consumer": dl.consumer,
                    "subject": dl.subject,
                    "stream_seq": dl.stream_seq,
                    "reason": dl.reason,
                    "dead_at": dl.dead_at.isoformat(),
                    "redriven_at": dl.redriven_at.isoformat() if dl.redriven_at else None,
                    "payload": dl.payload.decode("utf-8", errors="replace")[:4000],
                }
            )
    return out


async def redrive(conn: asyncpg.Connection, nc: Client, schema: str, letter_id: int) -> dict[str, Any]:
    """Has the service owning the dead letter's consumer run it through that consumer again.

    Only that consumer sees it again (``shared/eventlog/redrive.py``): re-publishing to the
    stream would hand it to every consumer of the subject. Raises ``UnknownDeadLetter``, or
    ``RedriveFailed`` with the owner's reason (still failing, owner not running).
    """
    if schema not in SCHEMAS:
        raise UnknownDeadLetter(schema)
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.dead_letters")
    consumer = (
        await conn.fetchval(f"SELECT consumer FROM {schema}.dead_letters WHERE id = $1", letter_id)
        if exists
        else None
    )
    if consumer is None:
        raise UnknownDeadLetter(f"{schema}/{letter_id}")
    try:
        answer = await request_redrive(nc, consumer, letter_id)
    except RedriveFailed as exc:
        if exc.code == "unknown_dead_letter":
            raise UnknownDeadLetter(f"{schema}/{letter_id}") from exc
        raise
    return {"schema": schema, "id": letter_id, "consumer": consumer, **answer}
