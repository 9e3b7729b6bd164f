"""Every status a route can answer is in its OpenAPI document, with the error body it carries.

Most refusals do not belong to one route but to the layer that makes them, so they are written
down here once and added to every operation when the document is built:

* the host, for every route: 400 (unreadable request, NUL character), 413 (body too large),
  422 (invalid request, the body nested too deep) and 503 (a dependency is down: retry later);
* the policy table, per route: 401 and 403 for every protected route; 404 for every route with
  a key in its path (an unknown key, or a dossier of another unit, which reads the same);
* the route itself, with ``responses=errors(409, ...)``: what only it can answer (a state
  conflict, a rate limit, a second success status for a retried request).

A client generated from the document therefore knows every status it may meet, and the
schema fuzzing in the test suite refuses any answer whose status is not written down here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from shared.auth.policy import rule_for


class ErrorMessage(BaseModel):
    vi: str = Field(min_length=1, description="Tiếng Việt")
    en: str = Field(min_length=1, description="English")


class ErrorDetail(BaseModel):
    # Details beside the code differ per refusal (allowed values, limits, the problems found).
    model_config = ConfigDict(extra="allow")

    code: str = Field(min_length=1, description="machine-readable, stable: e.g. not_found")
    message: ErrorMessage


class ErrorBody(BaseModel):
    """Every 4xx and 5xx: a machine-readable code and the message in Vietnamese and English."""

    error: ErrorDetail


# What each status means wherever it is answered (a route may say more in its own entry).
MEANINGS: dict[int, str] = {
    400: "The request cannot be read (e.g. a NUL character in the path, query or body)",
    401: "No valid bearer token (WWW-Authenticate says how to sign in)",
    403: "The caller's role or unit may not do this",
    404: "Not found, or not the caller's to see (the two read the same)",
    409: "Conflicts with the current state (the answer names it and what is allowed)",
    410: "Gone for good: erased with the data subject's personal data (crypto-shredding)",
    413: "The body is larger than the service accepts",
    415: "The content type is not one the route accepts (checked against the bytes themselves)",
    422: "The request is not valid (the answer lists the problems)",
    429: "Too many requests from this client: retry after Retry-After seconds",
    503: "A dependency (database, message bus, identity provider) is unavailable: retry later",
}
HOST_STATUSES = (400, 413, 422, 503)

# Refusals of a request that the schema allows. Each depends on data (a code not in the
# catalogue, the case's state, the time now) or on a rule across fields that the document states
# in words; the operation's entry for the status lists them as ``x-error-codes``, so that a
# client (and the schema fuzzing's positive-data check) knows a schema-valid request may still
# meet exactly these, and no others.
RULES: dict[str, str] = {
    "nul_character": "a text holds U+0000 (no text anywhere may)",
    "unknown_procedure": "the procedure code is not in the catalogue",
    "unknown_receiving_point": "the receiving point is not in the catalogue",
    "desk_retired": "the desk no longer receives dossiers",
    "channel_not_allowed": "the procedure does not accept that channel (catalogue)",
    "online_level_mismatch": "online_level is given for channel 2 (online), and only for it",
    "pickup_needs_postal_channel": "a dossier collected by the post is filed through channel 3",
    "occurred_in_future": "occurred_at lies in the future",
    "backdate_reason_required": "occurred_at more than 5 minutes back needs backdate_reason",
    "backdate_too_old": "occurred_at lies further back than the back-dating limit",
    "before_filing": "occurred_at lies before the filing",
    "documents_required": "the procedure requires documents that were not attached",
    "document_unavailable": "a document id is unknown, not the caller's, or already used",
    "document_empty": "the uploaded file is empty",
    "idempotency_key_reused": "the Idempotency-Key was used before with another body",
    "unknown_operator": "the postal operator is not configured",
    "invalid_notice": "the operator's notice does not fit its own format",
    "unknown_department": "the department is not in the catalogue",
    "same_department": "the case is already at that department",
    "missing_items_required": "a supplement request lists the missing items",
    "reasons_required": "a refusal (approved false) gives its reasons",
    "new_appointment_not_later": "the new appointment is not later than the current one",
    "new_appointment_not_working_time": "the new appointment is not within working hours",
    "leadership_report_not_needed": "the case is not late: no report to the leadership is due",
    "not_postal": "the result is returned by post only for a postal dossier",
    "out_of_order": "the case is not in a state that allows this step",
}
BACKDATING = ("occurred_in_future", "backdate_reason_required", "backdate_too_old")
_FILING: tuple[str, ...] = ("unknown_procedure", "unknown_receiving_point", "desk_retired")
_FILING += (
    "channel_not_allowed",
    "online_level_mismatch",
    "pickup_needs_postal_channel",
    "idempotency_key_reused",
    *BACKDATING,
)
_CASE = ("out_of_order", *BACKDATING)
# service -> (METHOD, path) -> status -> codes (every operation's 400 also lists nul_character)
DATA_RULES: dict[str, dict[tuple[str, str], dict[int, tuple[str, ...]]]] = {
    "intake": {
        ("GET", "/procedures/{code}"): {422: ("unknown_procedure",)},
        ("POST", "/dossiers"): {422: _FILING},
        ("POST", "/dossiers/incomplete"): {422: _FILING},
        ("POST", "/dossiers/refusals"): {422: _FILING},
        ("POST", "/dossiers/{code}/completion"): {422: (*BACKDATING, "before_filing")},
        ("POST", "/online/documents"): {422: ("document_empty",)},
        ("POST", "/online/filings"): {
            422: ("unknown_procedure", "channel_not_allowed", "documents_required", "document_unavailable")
        },
        ("POST", "/online/filings/{code}/receive"): {422: (*BACKDATING, "before_filing")},
        ("POST", "/online/filings/{code}/completion-request"): {422: (*BACKDATING, "before_filing")},
        ("POST", "/online/filings/{code}/refusal"): {422: (*BACKDATING, "before_filing")},
    },
    "processing": {
        ("POST", "/dossiers/{code}/assign"): {422: _CASE},
        ("POST", "/dossiers/{code}/transfer"): {422: (*_CASE, "unknown_department", "same_department")},
        ("POST", "/dossiers/{code}/supplement-requests"): {422: (*_CASE, "missing_items_required")},
        ("POST", "/dossiers/{code}/supplement-received"): {422: _CASE},
        ("POST", "/dossiers/{code}/close-unsupplemented"): {422: _CASE},
        ("POST", "/dossiers/{code}/leadership-reports"): {422: (*_CASE, "leadership_report_not_needed")},
        ("POST", "/dossiers/{code}/leadership-acknowledgements"): {422: _CASE},
        ("POST", "/dossiers/{code}/apologies"): {
            422: (*_CASE, "new_appointment_not_later", "new_appointment_not_working_time")
        },
        ("POST", "/dossiers/{code}/decision"): {422: (*_CASE, "reasons_required")},
        ("POST", "/dossiers/{code}/result-ready"): {422: _CASE},
        ("POST", "/dossiers/{code}/result-returned"): {422: (*_CASE, "not_postal")},
        ("POST", "/dossiers/{code}/withdrawal"): {422: _CASE},
    },
    "postal": {
        ("POST", "/pickups"): {422: ("unknown_operator", "idempotency_key_reused")},
        ("POST", "/webhooks/postal/{operator}"): {422: ("unknown_operator", "invalid_notice", *BACKDATING)},
    },
}
PROTECTED_STATUSES = (401, 403)
_REF = {"$ref": "#/components/schemas/ErrorBody"}


def errors(*statuses: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """A route's own statuses, for its decorator's ``responses=``; ``meanings`` by ``s409=...``."""
    return {
        status: {"model": ErrorBody, "description": meanings.get(f"s{status}", MEANINGS[status])}
        for status in statuses
    }


def document_errors(app: FastAPI, service: str) -> None:
    """Adds the host's and the policy's statuses to every operation of ``app``'s document."""
    previous: Callable[[], dict[str, Any]] = app.openapi
    built: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if built:
            return built[0]
        schema = previous()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        definitions = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(definitions.pop("$defs", {}))
        components["ErrorBody"] = definitions
        # FastAPI's own 422 body is not what the error handlers send
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                _document(operation, _statuses(service, method, path, operation))
                rules = {
                    400: ("nul_character",),
                    **DATA_RULES.get(service, {}).get((method.upper(), path), {}),
                }
                _document_rules(operation, rules)
        built.append(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _statuses(service: str, method: str, path: str, operation: dict[str, Any]) -> list[int]:
    statuses = list(HOST_STATUSES)
    rule = rule_for(service, method, path)
    if rule is None or not rule.public:  # a route without a row answers 403 no_policy
        statuses += PROTECTED_STATUSES
    if any(p.get("in") == "path" for p in operation.get("parameters", ())):
        statuses.append(404)
    return statuses


def _document(operation: dict[str, Any], statuses: list[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), {"description": MEANINGS[status]})
    for code, entry in responses.items():
        # a route's own entries and FastAPI's 422 carry the error body, unless a route said
        # otherwise (/health answers 503 with its checks)
        if code.startswith(("4", "5")) and not _own_schema(entry):
            entry["content"] = {"application/json": {"schema": _REF}}
            if code == "422":
                entry["description"] = MEANINGS[422]


def _own_schema(entry: dict[str, Any]) -> bool:
    schema = entry.get("content", {}).get("application/json", {}).get("schema")
    return bool(schema) and schema != {"$ref": "#/components/schemas/HTTPValidationError"}


def _document_rules(operation: dict[str, Any], rules: dict[int, tuple[str, ...]]) -> None:
    responses: dict[str, Any] = operation["responses"]
    for status, codes in rules.items():
        entry = responses.setdefault(str(status), {"description": MEANINGS[status]})
        entry["x-error-codes"] = sorted(set(codes))
        said = "; ".join(f"`{code}`: {RULES[code]}" for code in sorted(set(codes)))
        entry["description"] = f"{entry['description']}. Also for a request the schema allows: {said}"
