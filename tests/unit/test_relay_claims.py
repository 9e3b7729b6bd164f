"""A writer's claim on rows a relay read has already returned: published and counted once.

Writers claim their committed rows from their saving threads, while the relay reads the log in a
thread of its own. A read can see a commit before its writer has claimed it; if the claim then
stood, the writer and the relay would both publish the rows (the stream keeps one copy by message
id, but both would count them). These tests make that interleaving happen on purpose, inside the
relay's own ``publish_pending``, with the log read and the stream replaced by recorders: the race
is in the relay's bookkeeping, not in PostgreSQL or NATS (``test_direct_publish`` runs the whole
path against the real servers, where the race is too rare to catch on demand).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from shared.eventlog.relay import OutboxRelay


def _relay(position: int) -> tuple[OutboxRelay, list[list[Any]]]:
    relay = OutboxRelay(
        name="intake",
        schema="intake",
        app=SimpleNamespace(),  # type: ignore[arg-type]
        translate=lambda event: event,
        js=SimpleNamespace(),  # type: ignore[arg-type]
        pool=SimpleNamespace(),
        batch_size=100,
    )
    relay._running = True
    relay._position = position
    published: list[list[Any]] = []

    async def publish(contracts: list[Any]) -> int:
        published.append(list(contracts))
        return sum(len(batch) for batch in published)

    async def save_position(position: int, published: int, types: Any) -> None:
        return None

    relay._publish = publish  # type: ignore[method-assign]
    relay._save_position = save_position  # type: ignore[method-assign]
    return relay, published


def _contract(n: int) -> Any:
    return SimpleNamespace(event_id=f"e{n}", event_type="intake.dossier_received.v1")


def test_a_claim_made_while_the_relay_read_the_same_rows_is_dropped() -> None:
    async def scenario() -> None:
        relay, published = _relay(position=10)
        claims: list[Any] = []

        def read_batch(position: int, stop: int | None) -> tuple[int, int, list[Any]]:
            # The read sees ids 11..14 committed; their writer claims 13..14 only now, after
            # the relay looked for claims and before its read hands the rows over.
            claims.append(relay.claim_committed(13, 14))
            return 14, 4, [_contract(n) for n in range(11, 15)]

        relay._read_batch = read_batch  # type: ignore[method-assign, assignment]
        await relay.publish_pending()
        claim = claims[0]
        assert claim is not None, "the claim was made (the relay had not read past 10 when it came)"
        assert [c.event_id for c in published[0]] == ["e11", "e12", "e13", "e14"], "the relay publishes all"
        # The writer goes on with its own publish: the stream dedups the copy, nothing counts it.
        took = await relay.publish_claimed(claim, [(13, _contract(13)), (14, _contract(14))])
        assert took is False, "the writer learns the relay had them"
        status = relay.status()
        assert status["published_by_relay"] == 4
        assert status["published_directly"] == 0
        assert status["published"] == 4 and status["position"] == 14
        assert 13 not in relay._direct, "no claim left for the relay to wait on"

    asyncio.run(scenario())


def test_a_claim_on_rows_a_read_returned_is_refused_and_later_rows_are_still_claimed() -> None:
    async def scenario() -> None:
        relay, published = _relay(position=10)
        refused: list[Any] = []

        def read_batch(position: int, stop: int | None) -> tuple[int, int, list[Any]]:
            return 14, 4, [_contract(n) for n in range(11, 15)]

        publish = relay._publish

        async def publish_then_claim(contracts: list[Any]) -> int:
            # While the relay publishes its read (its position not moved yet), the rows' writer
            # claims them, and another writer a range that starts inside the read.
            refused.extend([relay.claim_committed(13, 14), relay.claim_committed(14, 16)])
            return await publish(contracts)

        relay._read_batch = read_batch  # type: ignore[method-assign, assignment]
        relay._publish = publish_then_claim  # type: ignore[method-assign]
        await relay.publish_pending()
        assert refused == [None, None], "the relay read them: it publishes them"
        relay._publish = publish  # type: ignore[method-assign]
        claim = relay.claim_committed(15, 16)
        assert claim is not None, "rows past the read are the writer's to publish"
        assert await relay.publish_claimed(claim, [(15, _contract(15)), (16, _contract(16))]) is True
        assert relay.status()["published_directly"] == 2
        assert [len(batch) for batch in published] == [4, 2]

    asyncio.run(scenario())
