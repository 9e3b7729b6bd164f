"""Two replicas of every service at once, under load, one of each killed with -9.

Two processes of each service (intake, processing, postal, scoring) run against one NATS and
one PostgreSQL (``suite.fault_stack``). Before the load, the same request with the same
Idempotency-Key is sent to both intakes at once: each pair must come out as one dossier. The
load is spread over the intakes running; a third of the way in, the replica of each service
that holds its relay's lock (for scoring, which has none, its first) is killed with -9, and the
load carries on against the survivors. The requests the killed intake never answered are then
sent again, with their keys, to the surviving one. Once converged:

* every dossier stored has one case in processing and is counted once in scoring; every request
  answered has its dossier stored; every dossier stored was answered to one key (lost, doubled);
* ``motcua verify``: 0 differences;
* every singleton whose holder was killed (the relays, processing's overdue sweeper, postal's
  booking rounds) is held by a survivor, in a new term (the lock moved).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.identity import DESK_USER
from bench.workload import applicant
from services.ops.launcher import ROOT
from tests.faults.suite import SERVICES, FaultStack, check, converged, fault_stack, offer, verify

# A crashed intake's claims expire quickly, so that their retries are answered within the run;
# what a killed replica had fetched goes to the other after 10 s instead of 30.
ENV = {"INTAKE_KEY_LEASE_S": "3", "MOTCUA_ACK_WAIT_S": "10"}


@dataclass
class ReplicaOutcome:
    offered: int = 0
    accepted: int = 0
    lost: int = 0
    doubled: int = 0
    server_errors: int = 0
    failed: int = 0  # no answer (the killed intake's requests in flight), before the retries
    retried: int = 0  # of those, answered when sent again with their keys
    unexplained: int = 0  # dossiers stored that no answered request stands for
    pairs: int = 0  # same request, same key, at both intakes at once
    pairs_split: int = 0  # pairs that came out as two dossiers (or none)
    differences: int = -1
    converged_s: float | None = None
    killed: list[str] = field(default_factory=list)
    # singleton (service/name) -> (holder before, holder after, terms before, terms after)
    moves: dict[str, tuple[str, str, int, int]] = field(default_factory=dict)
    notes: str = ""

    @property
    def lock_moved(self) -> bool:
        killed = set(self.killed)
        return bool(self.moves) and all(
            after not in killed and after != before and terms_after > terms_before
            for before, after, terms_before, terms_after in self.moves.values()
            if before in killed
        )

    @property
    def ok(self) -> bool:
        return (
            self.converged_s is not None
            and not (self.lost or self.doubled or self.unexplained or self.pairs_split or self.differences)
            and self.retried == self.failed
            and self.lock_moved
        )

    def row(self, rate: float, seconds: float) -> str:
        converged = "not converged" if self.converged_s is None else f"{self.converged_s}"
        moved = "; ".join(
            f"{name}: {before} → {after}" for name, (before, after, _, _) in sorted(self.moves.items())
        )
        return (
            f"| two of each, the relay holders killed (-9) | {self.offered} offered at {rate:g}/s over"
            f" {seconds:g} s, {self.accepted} accepted ({self.retried} after a retry with the same key)"
            f" | {self.lost} | {self.doubled + self.unexplained + self.pairs_split} | {self.server_errors}"
            f" | {self.failed} | {self.differences} differences | {converged} | {moved} |"
        )


HEADER = (
    "| scenario | load | lost | doubled | 5xx | no answer | verify | converged in s | locks moved |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


async def health(stack: FaultStack, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.url(name), timeout=5) as client:
        answer = await client.get("/health")
    data: dict[str, Any] = answer.json()
    return data


async def holders(stack: FaultStack) -> dict[str, tuple[str, int]]:
    """Singleton (``service/name``) -> (the instance holding it, its terms), as each running
    instance reports it (only its holder says ``held_here``)."""
    held: dict[str, tuple[str, int]] = {}
    for service in SERVICES:
        for name in stack.instances(service):
            for singleton, status in (await health(stack, name)).get("singletons", {}).items():
                if status["held_here"]:
                    key = f"{service}/{singleton}"
                    assert key not in held, f"{key} held by {held[key][0]} and {name} at once"
                    held[key] = (name, int(status["terms"]))
    return held


WANTED = ("intake/relay", "processing/relay", "processing/overdue-sweeper", "postal/relay", "postal/booking")


async def wait_held(stack: FaultStack, timeout: float = 30) -> dict[str, tuple[str, int]]:
    deadline = time.monotonic() + timeout
    while True:
        held = await holders(stack)
        if all(key in held for key in WANTED) or time.monotonic() > deadline:
            return held
        await asyncio.sleep(0.3)


async def desk_procedures(stack: FaultStack) -> list[str]:
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=10) as client:
        procedures = (await client.get("/procedures")).json()
    return [p["code"] for p in procedures if 1 in [int(c) for c in p["channels"]]]


async def file_until_answered(
    stack: FaultStack,
    client: httpx.AsyncClient,
    instance: str,
    key: str,
    body: dict[str, Any],
    timeout: float = 60,
) -> str | None:
    """Files ``body`` with ``key`` at ``instance`` until it is answered with a dossier (a 409 says
    the key's first request is in flight, or its claim has not expired yet); returns its code."""
    headers = {"Authorization": f"Bearer {stack.token(DESK_USER)}", "Idempotency-Key": key}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = await client.post(f"{stack.url(instance)}/dossiers", json=body, headers=headers)
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        if answer.status_code in (200, 201):
            code: str = answer.json()["code"]
            return code
        if answer.status_code != 409:
            raise AssertionError(f"{instance} answered {answer.status_code}: {answer.text[:500]}")
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    return None


async def same_key_at_both(stack: FaultStack, pairs: int) -> tuple[list[str], int]:
    """Each request sent with one key to two intakes at once; returns the codes and the pairs
    that did not come out as exactly one dossier."""
    rng = random.Random("pairs")
    first, second = stack.instances("intake")[:2]
    codes, split = [], 0
    desk = await desk_procedures(stack)
    async with httpx.AsyncClient(timeout=15) as client:
        for serial in range(pairs):
            body = {"procedure_code": rng.choice(desk), "applicant": applicant(rng), "channel": 1}
            key = f"pair-{serial}-{time.time()}"
            a, b = await asyncio.gather(
                file_until_answered(stack, client, first, key, body),
                file_until_answered(stack, client, second, key, body),
            )
            if a is None or a != b:
                split += 1
            if a is not None:
                codes.append(a)
    return codes, split


def run_replicas(
    data_dir: Path, *, rate: float, seconds: float, pairs: int = 10, timeout_s: float = 180
) -> ReplicaOutcome:
    outcome = ReplicaOutcome()
    with fault_stack(data_dir, replicas=2, env=ENV) as stack:
        before = asyncio.run(wait_held(stack))
        missing = [key for key in WANTED if key not in before]
        if missing:
            outcome.notes = f"never held: {', '.join(missing)}"
            return outcome
        codes, outcome.pairs_split = asyncio.run(same_key_at_both(stack, pairs))
        outcome.pairs = pairs
        stack.accepted.update(codes)
        victims = [
            before[f"{service}/relay"][0] if f"{service}/relay" in before else stack.instances(service)[0]
            for service in SERVICES
        ]

        async def drive() -> Any:
            load = asyncio.create_task(offer(stack, rate, seconds, tag=f"replicas-{time.time()}"))
            await asyncio.sleep(seconds / 3)
            for victim in victims:
                await asyncio.to_thread(stack.kill, victim)
            outcome.killed = victims
            return await load

        load = asyncio.run(drive())
        outcome.offered, outcome.server_errors, outcome.failed = load.offered, load.server_errors, load.failed
        stack.accepted.update(load.accepted)

        async def retry() -> list[str | None]:
            (survivor,) = stack.instances("intake")
            async with httpx.AsyncClient(timeout=15) as client:
                return await asyncio.gather(
                    *(
                        file_until_answered(stack, client, survivor, key, body)
                        for key, body in load.unanswered
                    )
                )

        retried = [code for code in asyncio.run(retry()) if code is not None]
        outcome.retried = load.recovered + len(retried)
        stack.accepted.update(retried)
        outcome.accepted = len(load.accepted) + len(retried)
        if load.other:
            outcome.notes = ", ".join(f"{n}×{s}" for s, n in sorted(load.other.items()))

        since = time.monotonic()
        while time.monotonic() - since < timeout_s:
            if asyncio.run(converged(stack, stack.servers.database_url)):
                outcome.converged_s = round(time.monotonic() - since, 1)
                break
            time.sleep(0.5)
        outcome.lost, outcome.doubled = check(stack)
        outcome.unexplained = len(asyncio.run(_scored(stack.servers.database_url)) - stack.accepted)
        outcome.differences = verify(stack)
        if outcome.differences:
            outcome.notes = _verify_text(stack)
        after = asyncio.run(wait_held(stack))
        for key, (holder, terms) in before.items():
            now, terms_now = after.get(key, ("nobody", terms))
            outcome.moves[key] = (holder, now, terms, terms_now)
    return outcome


async def _scored(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {r["dossier_code"] for r in await conn.fetch("SELECT dossier_code FROM scoring.dossier_facts")}
    finally:
        await conn.close()


def _verify_text(stack: FaultStack) -> str:
    """What ``motcua verify`` says, for the report of a run that found differences."""
    result = subprocess.run(
        [sys.executable, "-m", "services.ops.cli", "verify", "--database-url", stack.servers.database_url],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result.stdout[-3000:]
