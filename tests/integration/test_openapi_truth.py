"""The OpenAPI documents tell the truth: every status a route can answer is written down, with
the error body it carries, and schemathesis's checks refuse an answer that is not.

The fuzzing (tests/integration/test_fuzz_http.py) sends generated requests to every service
and runs these same checks on every answer; this module shows that the checks have teeth: an
undocumented status or an error body of another shape fails them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from shared.auth.policy import POLICY
from shared.host.openapi_errors import DATA_RULES, HOST_STATUSES, PROTECTED_STATUSES
from shared.host.settings import Settings
from tests.system import build_apps

SERVICES = ("intake", "processing", "postal", "scoring")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def apps(servers: Any) -> dict[str, FastAPI]:
    # The documents only: the apps are built, never started.
    return build_apps(Settings(nats_url=servers.nats_url, database_url=servers.database_url), SERVICES)


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_the_statuses_of_every_layer(
    apps: dict[str, FastAPI], service: str
) -> None:
    operations = _operations(apps[service])
    assert operations
    for method, path, operation in operations:
        documented = {int(s) for s in operation["responses"]}
        where = f"{service} {method} {path}"
        assert set(HOST_STATUSES) <= documented, where
        if not POLICY[service][(method, path)].public:
            assert set(PROTECTED_STATUSES) <= documented, where
        if "{" in path:
            assert 404 in documented, where
        for status, entry in operation["responses"].items():
            if status.startswith("4") or (status.startswith("5") and path != "/health"):
                schema = entry["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (where, status)


def _case(app: FastAPI, method: str, path: str) -> Any:
    schema = schemathesis.openapi.from_dict(app.openapi())
    operation = schema[path][method]
    if method == "POST":
        return operation.Case(path_parameters={"code": "HS-1"}, body={"approved": True})
    return operation.Case(path_parameters={"code": "HS-1"})


def _answer(status: int, body: Any) -> httpx.Response:
    request = httpx.Request("POST", "http://processing/dossiers/HS-1/decision")
    response = httpx.Response(status, json=body, request=request)
    response.elapsed = timedelta(milliseconds=5)  # set by a real transport once read
    return response


ERROR = {"error": {"code": "invalid_transition", "message": {"vi": "Không", "en": "No"}, "state": "x"}}


def _failures(case: Any, response: httpx.Response) -> list[str]:
    """The names of the schemathesis checks that fail on ``response``, as the fuzzing runs them."""
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        return sorted(type(e).__name__ for e in group.exceptions)
    except Failure as failure:
        return [type(failure).__name__]
    return []


def test_schemathesis_fails_an_undocumented_status_or_a_wrong_error_body(apps: dict[str, FastAPI]) -> None:
    case = _case(apps["processing"], "POST", "/dossiers/{code}/decision")
    assert _failures(case, _answer(409, ERROR)) == []  # documented by the route
    assert _failures(case, _answer(401, ERROR)) == []  # documented from the policy table
    assert _failures(case, _answer(413, ERROR)) == []  # documented by the host
    assert _failures(case, _answer(410, ERROR)) == ["UndefinedStatusCode"]  # documented nowhere
    assert _failures(case, _answer(409, {"detail": "conflict"})) == ["JsonSchemaError"]  # not our shape
    assert "ServerError" in _failures(case, _answer(500, ERROR))
    track = _case(apps["processing"], "GET", "/track/{code}")
    assert _failures(track, _answer(429, ERROR)) == []
    assert _failures(track, _answer(401, ERROR)) == ["UndefinedStatusCode"]  # a public route


@pytest.mark.parametrize("service", SERVICES)
def test_rules_a_schema_cannot_state_are_listed_on_real_operations(
    apps: dict[str, FastAPI], service: str
) -> None:
    """``x-error-codes``: the refusals of a schema-valid request (data, state, time, cross-field),
    each explained; a rule written down for a route that does not exist would document nothing."""
    documented = {(method, path): op for method, path, op in _operations(apps[service])}
    for (method, path), statuses in DATA_RULES.get(service, {}).items():
        assert (method, path) in documented, f"{service} {method} {path}: no such operation"
        for status, codes in statuses.items():
            entry = documented[method, path]["responses"][str(status)]
            assert entry["x-error-codes"] == sorted(set(codes))
            assert all(f"`{code}`" in entry["description"] for code in codes)
    for (method, path), operation in documented.items():
        assert "nul_character" in operation["responses"]["400"]["x-error-codes"], (method, path)
