"""Loading many dossiers through the real write path, in bulk.

Intake's dossiers go in through ``IntakeApplication.register_many`` (many aggregates per
transaction, codes from ``next_codes``), received over the past weeks (business time); the
services' relays publish them and processing opens the cases as in production. Then officers'
work is replayed in bulk through ``ProcessingApplication``: supplements for some, decisions
for most (some after the appointment: late), results made ready, many cases per save.
No SQL bypasses an event store. Events record the actor a token would give: the centre's
front-desk officer for receipts, an officer of the case's department for its work. Applicants
are sealed as intake's group commit seals them (the subject's data key, created or found with
one statement in the transaction that allocates the codes), so no clear personal data is stored.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

import asyncpg
import psycopg
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from bench.identity import DESK_USER
from bench.workload import INCOMPLETE_SHARE, MISSING, REFUSED_SHARE, Filings
from services.intake.application import IntakeApplication
from services.intake.catalogue import load_catalogue
from services.intake.codes import next_codes
from services.intake.receipt_rules import new_tracking_secret, receipt_terms, tracking_hash
from services.processing.application import ProcessingApplication
from services.processing.domain import Case, case_id_for
from services.processing.rules import CaseRuleViolation
from services.processing.values import StepMeta
from shared.auth.dev_issuer import demo_user
from shared.auth.principal import Principal, Role
from shared.contracts import PersonalData
from shared.eventlog import eventstore_env
from shared.pii import KeyRing, master_key_from_env

BATCH = 500
# Tries per batch of officers' work before the bench gives up on the sweepers writing the same cases.
ATTEMPTS = 20
DAYS_BACK = 45


def officer_actor(department: str) -> dict[str, Any]:
    """The actor an officer of ``department`` records, as the token would make it."""
    officer = Principal(f"canbo.{department.lower()}", frozenset({Role.OFFICER}), department)
    return officer.actor(Role.OFFICER)


class BulkLoader:
    def __init__(
        self, database_url: str, procedures: list[dict[str, Any]], env: Mapping[str, str] | None = None
    ) -> None:
        self.database_url = database_url
        self.keyring = KeyRing(master_key_from_env(env))  # the services' master key (stack.env)
        self.keyring_started = False
        self.catalogue = load_catalogue()
        self.filings = Filings(procedures, seed=2026)
        self.rng = random.Random(766)  # noqa: S311 - reproducible load
        self.intake = IntakeApplication(env=eventstore_env(database_url, "intake"))
        self.processing = ProcessingApplication(env=eventstore_env(database_url, "processing"))
        self.received: list[str] = []
        self.desk = next(p for p in self.catalogue.receiving_points if p.level == "province")
        user = demo_user(DESK_USER)
        if user.agency != self.desk.code:
            raise RuntimeError(f"{user.username} works at {user.agency}, not at the desk {self.desk.code}")
        self.desk_officer = Principal(user.username, frozenset(user.roles), user.agency, user.name)

    def close(self) -> None:
        self.intake.close()
        self.processing.close()

    async def dossiers(self, pool: asyncpg.Pool, count: int) -> dict[str, Any]:
        """Registers ``count`` dossiers; returns the write cost per event, first and last batch."""
        now = datetime.now(UTC)
        costs: list[float] = []
        for start in range(0, count, BATCH):
            n = min(BATCH, count - start)
            ats = sorted(now - timedelta(days=self.rng.uniform(0.5, DAYS_BACK)) for _ in range(n))
            async with pool.acquire() as conn, conn.transaction():
                codes = await next_codes(conn, [(self.desk.agency_id, at) for at in ats])
                registrations = [self._registration(code, at) for code, at in zip(codes, ats, strict=True)]
                await self._seal(conn, registrations)
            began = time.perf_counter()
            results = await asyncio.to_thread(self.intake.register_many, registrations)
            costs.append((time.perf_counter() - began) / n)
            self.received += [
                r.code for r in results if not isinstance(r, Exception) and r.outcome == "received"
            ]
        return {
            "dossiers": count,
            "first_batch_us_per_event": round(costs[0] * 1e6, 1),
            "last_batch_us_per_event": round(costs[-1] * 1e6, 1),
        }

    async def _seal(self, conn: asyncpg.Connection, registrations: list[dict[str, Any]]) -> None:
        """Each applicant sealed under its subject's data key, as intake's group commit does."""
        if not self.keyring_started:
            await self.keyring.start(conn)
            self.keyring_started = True
        subjects = [self.keyring.subject_of("cccd", r["applicant"]["citizen_id"]) for r in registrations]
        keys = await self.keyring.keys_for(
            conn,
            subjects,
            [(r["code"], s, r["occurred_at"]) for r, s in zip(registrations, subjects, strict=True)],
        )
        for r, subject in zip(registrations, subjects, strict=True):
            person = PersonalData(**r["applicant"]).model_dump(mode="json")  # as the request validates it
            r["applicant"] = self.keyring.seal(keys[subject], person).model_dump(mode="json")

    def _registration(self, code: str, at: datetime) -> dict[str, Any]:
        _, body, _ = self.filings.next("bulk")
        procedure = self.catalogue.procedure(body["procedure_code"])
        draw = self.rng.random()
        outcome = "received"
        if draw < REFUSED_SHARE:
            outcome = "refused"
        elif draw < REFUSED_SHARE + INCOMPLETE_SHARE:
            outcome = "incomplete"
        terms = None
        if outcome == "received":
            channel = body["channel"]
            terms = receipt_terms(
                self.catalogue,
                procedure,
                at,
                channel == 3,
                channel == 2,
                True,
                tracking_hash(new_tracking_secret()),
            )
        return {
            "code": code,
            "filing": {
                "procedure_code": procedure.code,
                "department_code": procedure.department,
                "receiving_point": self.desk.code,
                "channel": body["channel"],
                "online_level": body.get("online_level"),
            },
            "outcome": outcome,
            "terms": terms,
            "missing_items": self.rng.sample(MISSING, 2) if outcome == "incomplete" else None,
            "refusal_reasons": "Không thuộc thẩm quyền" if outcome == "refused" else None,
            "occurred_at": at,
            "backdate_reason": "Nhập hồ sơ lịch sử (benchmark)",
            "actor": self.desk_officer.actor(Role.FRONT_DESK, body["channel"]),
            "applicant": body["applicant"],
        }

    def officers_work(self, codes: list[str]) -> dict[str, int]:
        """Supplements, decisions (on time or late) and results, many cases per save."""
        now = datetime.now(UTC)
        done = {"decided": 0, "late": 0, "supplements": 0, "skipped": 0}
        for start in range(0, len(codes), BATCH):
            for attempt in range(ATTEMPTS):
                tally = dict.fromkeys(done, 0)
                cases = []
                chunk = codes[start : start + BATCH]
                found = self._cases(chunk)
                tally["skipped"] += len(chunk) - len(found)
                for case in found:
                    if self._work(case, now, tally):
                        cases.append(case)
                try:
                    if cases:
                        self.processing.save(*cases)
                except IntegrityError:
                    # The running service's sweepers (overdue marking) wrote some of these cases
                    # since we loaded them, as they would beside a real officer: load and redo,
                    # after a pause that grows (on a slow machine the sweeper marks a backlog of
                    # back-dated cases for a while, and five quick attempts could all meet it).
                    if attempt == ATTEMPTS - 1:
                        raise
                    time.sleep(min(2.0, 0.1 * (attempt + 1)))
                    continue
                for key, value in tally.items():
                    done[key] += value
                break
        return done

    def _cases(self, codes: list[str]) -> list[Case]:
        """The cases of many dossiers from one query (one read per case costs ~5 ms here).

        Rebuilt from their stored events with the application's own mapper and projector, as
        its repository would, only not one by one.
        """
        ids = [case_id_for(code) for code in codes]
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM processing.processing_events"
                " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version",
                (ids,),
            ).fetchall()
        cases: list[Case] = []
        for _, group in groupby(rows, key=lambda row: row[0]):
            events = [self.processing.mapper.to_domain_event(StoredEvent(*row)) for row in group]
            case = project_aggregate(None, events)
            if isinstance(case, Case):
                cases.append(case)
        return cases

    def _work(self, case: Any, now: datetime, done: dict[str, int]) -> bool:
        received: datetime = case.received_at
        due: datetime = case.due_at(now)
        meta = StepMeta(
            occurred_at=received,
            actor=officer_actor(case.department_code),
            backdate_reason="Nhập lịch sử xử lý (benchmark)",
        )
        changed = False
        try:
            if self.rng.random() < 0.08:
                case.request_supplement(
                    ["Bản sao có chứng thực"],
                    "Thiếu giấy tờ",
                    replace(meta, occurred_at=received + timedelta(hours=1)),
                )
                case.receive_supplement(replace(meta, occurred_at=received + timedelta(days=2)))
                done["supplements"] += 1
                changed = True
            # Most finish in time; about one in eight overruns its appointment.
            span = (due - received) * self.rng.choice([0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.3])
            decided_at = received + max(span, timedelta(days=2 if changed else 0, hours=2))
            if decided_at < now - timedelta(minutes=10) and self.rng.random() < 0.85:
                case.decide(
                    self.rng.random() < 0.95, "Không đủ điều kiện", replace(meta, occurred_at=decided_at)
                )
                case.make_result_ready(replace(meta, occurred_at=decided_at + timedelta(minutes=5)))
                done["decided"] += 1
                done["late"] += decided_at > due
                changed = True
        except CaseRuleViolation:
            done["skipped"] += 1
        return changed
