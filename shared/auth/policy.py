"""Who may call which route: the one policy table of every service, enforced in one place.

Each row names the roles a route admits and how the caller's unit (agency) is checked:

* ``public``      — no token (catalogue, health, documents); protected otherwise (HMAC, secret)
* ``any_unit``    — the role suffices: reports without personal data, operations
* ``dossier``     — the route loads a dossier, then ``authorize_dossier`` admits the caller only
                    for a dossier of their unit (department, or the desk that received it);
                    any other answers 404, so that a code's existence is not confirmed
* ``department``  — the ``{department}`` in the path must be the caller's unit
* ``desk``        — the desk that receives must be the caller's unit
* ``own``         — a citizen's own filings and uploads: the route admits a citizen only for what
                    they filed or uploaded themselves; anything else answers 404

A route without a row is refused (403 ``no_policy``) and fails the enumeration test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.auth.principal import Role


class Scope(StrEnum):
    PUBLIC = "public"
    ANY_UNIT = "any_unit"
    DOSSIER = "dossier"
    DEPARTMENT = "department"
    DESK = "desk"
    OWN = "own"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    scope: Scope
    note: str = ""

    @property
    def public(self) -> bool:
        return self.scope is Scope.PUBLIC


def _rule(scope: Scope, *roles: Role, note: str = "") -> Rule:
    return Rule(frozenset(roles), scope, note)


FD, OF, LD, OPS, AUD, DPO, CIT = (
    Role.FRONT_DESK,
    Role.OFFICER,
    Role.LEADER,
    Role.OPS,
    Role.AUDITOR,
    Role.DPO,
    Role.CITIZEN,
)
PUBLIC = _rule(Scope.PUBLIC)
# Reading a dossier: its department's officers and leaders, the desk that received it, auditors.
READ_DOSSIER = _rule(Scope.DOSSIER, FD, OF, LD, AUD)
# Acting on a case: its department's officers and leaders.
ACT_ON_CASE = _rule(Scope.DOSSIER, OF, LD)
# Prometheus scrapes without a token, like /health: counts by route template and durable, no
# personal data, no dossier code; kept off the public ingress (docs/deploy/observability.md).
METRICS = _rule(Scope.PUBLIC, note="Prometheus; not routed by the public ingress")
REPORTS = _rule(Scope.ANY_UNIT, LD, AUD, OF, OPS, note="aggregates only, no personal data")

POLICY: dict[str, dict[tuple[str, str], Rule]] = {
    "intake": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/asyncapi.json"): _rule(Scope.PUBLIC, note="the published events, like /docs"),
        ("GET", "/metrics"): METRICS,
        ("GET", "/procedures"): PUBLIC,
        ("GET", "/procedures/{code}"): PUBLIC,
        ("GET", "/departments"): PUBLIC,
        ("POST", "/dossiers"): _rule(Scope.DESK, FD),
        ("POST", "/dossiers/scans"): _rule(
            Scope.DESK, FD, note="PDF/PNG/JPEG by content, size-limited; sealed under the applicant's key"
        ),
        ("POST", "/dossiers/incomplete"): _rule(Scope.DESK, FD),
        ("POST", "/dossiers/refusals"): _rule(Scope.DESK, FD),
        ("POST", "/dossiers/{code}/completion"): _rule(Scope.DOSSIER, FD, note="the desk that registered it"),
        ("GET", "/dossiers/{code}"): READ_DOSSIER,
        ("GET", "/dossiers/{code}/history"): READ_DOSSIER,
        ("GET", "/dossiers/{code}/forms/{form}"): READ_DOSSIER,
        # Online filing: citizens file and follow their own; the desk checks what was filed to it.
        ("POST", "/online/documents"): _rule(Scope.OWN, CIT, note="PDF/PNG/JPEG by content, size-limited"),
        ("POST", "/online/filings"): _rule(Scope.OWN, CIT, note="registered (national status 1)"),
        ("GET", "/online/filings"): _rule(Scope.OWN, CIT, note="the citizen's own filings"),
        ("GET", "/online/queue"): _rule(Scope.DESK, FD, note="the caller's desk: online, to check"),
        ("GET", "/online/filings/{code}"): _rule(
            Scope.DOSSIER, CIT, FD, OF, LD, AUD, note="a citizen: only their own filing"
        ),
        ("GET", "/online/filings/{code}/documents/{document_id}"): _rule(
            Scope.DOSSIER, CIT, FD, OF, LD, AUD, note="a citizen: only their own filing"
        ),
        ("POST", "/online/filings/{code}/receive"): _rule(Scope.DOSSIER, FD, note="the desk it was filed to"),
        ("POST", "/online/filings/{code}/completion-request"): _rule(
            Scope.DOSSIER, FD, note="the desk it was filed to"
        ),
        ("POST", "/online/filings/{code}/refusal"): _rule(Scope.DOSSIER, FD, note="the desk it was filed to"),
        ("POST", "/online/filings/{code}/completion"): _rule(
            Scope.OWN, CIT, note="the citizen who filed it adds what the desk asked for; back to the desk"
        ),
        ("GET", "/track/{code}"): _rule(
            Scope.PUBLIC, note="the tracking secret; an online filing before the desk received it"
        ),
        ("GET", "/dossiers/{code}/personal-data-access"): _rule(
            Scope.ANY_UNIT, AUD, DPO, note="who read the applicant's personal data, when, why"
        ),
        ("GET", "/applicants/masked"): _rule(
            Scope.ANY_UNIT, FD, OF, LD, AUD, note="each dossier's own readers only (work queues)"
        ),
        ("GET", "/registers/{desk}"): _rule(
            Scope.ANY_UNIT, FD, LD, AUD, note="form 07: the dossiers the caller may read"
        ),
        ("POST", "/dossiers/{code}/erasure"): _rule(
            Scope.ANY_UNIT, DPO, OPS, note="crypto-shredding; refused while the retention period runs"
        ),
    },
    "processing": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/asyncapi.json"): _rule(Scope.PUBLIC, note="the published events, like /docs"),
        ("GET", "/metrics"): METRICS,
        ("GET", "/track/{code}"): _rule(Scope.PUBLIC, note="the citizen's tracking secret, rate-limited"),
        ("POST", "/track/{code}/rating"): _rule(
            Scope.PUBLIC, note="the citizen's tracking secret, rate-limited; once, after the result"
        ),
        ("POST", "/track/{code}/complaints"): _rule(
            Scope.PUBLIC, note="the citizen's tracking secret, rate-limited"
        ),
        ("POST", "/kiosk/dossiers/{code}/rating"): _rule(
            Scope.DOSSIER, FD, note="the desk's kiosk: the desk that received the dossier"
        ),
        ("POST", "/kiosk/dossiers/{code}/complaints"): _rule(
            Scope.DOSSIER, FD, note="the desk's kiosk: the desk that received the dossier"
        ),
        ("GET", "/dossiers/{code}"): READ_DOSSIER,
        ("GET", "/dossiers/{code}/history"): READ_DOSSIER,
        ("GET", "/dossiers/{code}/forms/{form}"): READ_DOSSIER,
        ("GET", "/queues/{department}/{queue}"): _rule(Scope.DEPARTMENT, OF, LD, AUD),
        ("POST", "/dossiers/{code}/assign"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/transfer"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/supplement-requests"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/supplement-received"): _rule(Scope.DOSSIER, OF, LD, FD),
        ("POST", "/dossiers/{code}/close-unsupplemented"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/leadership-reports"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/leadership-acknowledgements"): _rule(Scope.DOSSIER, LD),
        ("POST", "/dossiers/{code}/apologies"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/decision"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/result-ready"): ACT_ON_CASE,
        ("POST", "/dossiers/{code}/result-document"): _rule(
            Scope.DOSSIER, OF, LD, note="the department's officers: the electronic result, stored and signed"
        ),
        ("GET", "/track/{code}/result"): _rule(
            Scope.PUBLIC, note="the tracking secret: the electronic result as issued, rate-limited"
        ),
        ("POST", "/dossiers/{code}/result-returned"): _rule(
            Scope.DOSSIER, FD, OF, LD, note="results are handed over at the desk that received"
        ),
        ("POST", "/dossiers/{code}/withdrawal"): _rule(
            Scope.DOSSIER, FD, OF, LD, note="the citizen asks at the desk or the department"
        ),
    },
    "postal": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/asyncapi.json"): _rule(Scope.PUBLIC, note="the published events, like /docs"),
        ("GET", "/metrics"): METRICS,
        ("POST", "/webhooks/postal/{operator}"): _rule(
            Scope.PUBLIC, note="the operator's HMAC signature (two secrets during a rotation)"
        ),
        ("GET", "/webhooks/unmatched"): _rule(Scope.ANY_UNIT, OPS, AUD),
        ("GET", "/shipments/{shipment_id}"): _rule(Scope.ANY_UNIT, FD, OPS, AUD, note="the centre's post"),
        ("GET", "/dossiers/{code}/shipments"): _rule(Scope.ANY_UNIT, FD, OPS, AUD),
        ("POST", "/pickups"): _rule(Scope.ANY_UNIT, FD, note="booked by the centre's desk"),
        ("GET", "/figures/operators"): _rule(Scope.ANY_UNIT, LD, OPS, AUD),
    },
    "payments": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/metrics"): METRICS,
        ("GET", "/asyncapi.json"): _rule(Scope.PUBLIC, note="the published events, like /docs"),
        ("POST", "/webhooks/payments/{provider}"): _rule(
            Scope.PUBLIC, note="the platform's HMAC signature (two secrets during a rotation)"
        ),
        ("GET", "/dossiers/{code}/charges"): READ_DOSSIER,
        ("POST", "/dossiers/{code}/obligations"): _rule(
            Scope.DOSSIER, OF, LD, note="the department processing it asks for the obligation"
        ),
        ("POST", "/charges/{charge_id}/desk-payment"): _rule(
            Scope.DOSSIER, FD, note="cash or card at the desk that received the dossier"
        ),
        ("POST", "/charges/{charge_id}/checkout"): _rule(
            Scope.DOSSIER, FD, OF, LD, note="a payment link for the citizen"
        ),
        ("GET", "/track/{code}/charges"): _rule(
            Scope.PUBLIC, note="the citizen's tracking secret, rate-limited; amounts, no transaction ids"
        ),
        ("POST", "/track/{code}/charges/{charge_id}/checkout"): _rule(
            Scope.PUBLIC, note="the citizen's tracking secret, rate-limited: a payment link"
        ),
    },
    "notify": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/metrics"): METRICS,
        ("GET", "/asyncapi.json"): _rule(Scope.PUBLIC, note="the published events, like /docs"),
        ("GET", "/outbox"): _rule(Scope.ANY_UNIT, OPS, AUD, note="counts and states, no personal data"),
    },
    "scoring": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/asyncapi.json"): _rule(Scope.PUBLIC, note="the published events, like /docs"),
        ("GET", "/metrics"): METRICS,
        ("GET", "/figures"): REPORTS,
        ("GET", "/figures/dossiers"): REPORTS,
        ("GET", "/index766"): REPORTS,
        ("GET", "/ranking"): REPORTS,
        ("GET", "/progress"): REPORTS,
        ("GET", "/progress/months"): REPORTS,
        ("GET", "/progress/dossiers"): _rule(
            Scope.ANY_UNIT, LD, OF, AUD, note="lists only the dossiers the caller may read (the dossier rule)"
        ),
        ("GET", "/indicators/unsupported"): REPORTS,
        ("GET", "/catalogue/indicators"): REPORTS,
        ("GET", "/national-status"): REPORTS,
        ("GET", "/departments"): REPORTS,
        ("GET", "/departments/{code}"): REPORTS,
        ("GET", "/dossiers/{code}"): _rule(Scope.DOSSIER, OF, LD, AUD),
        ("GET", "/dossiers/{code}/history"): _rule(Scope.DOSSIER, OF, LD, AUD),
        ("GET", "/ops/lag"): _rule(Scope.ANY_UNIT, OPS, AUD),
        ("GET", "/ops/dead-letters"): _rule(Scope.ANY_UNIT, OPS, AUD),
        ("POST", "/ops/dead-letters/{schema}/{letter_id}/redrive"): _rule(Scope.ANY_UNIT, OPS),
        ("POST", "/ops/replays"): _rule(Scope.ANY_UNIT, OPS, note="rebuilds scoring's tables from the log"),
        ("GET", "/ops/replays"): _rule(Scope.ANY_UNIT, OPS, AUD),
        ("GET", "/ops/replays/{replay_id}"): _rule(Scope.ANY_UNIT, OPS, AUD),
    },
}


def rule_for(service: str, method: str, path: str) -> Rule | None:
    return POLICY.get(service, {}).get((method.upper(), path))
