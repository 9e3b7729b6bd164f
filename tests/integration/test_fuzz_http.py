"""Schema fuzzing of every HTTP endpoint of every service, and poison messages on the stream.

Bad input never makes a server error, and every rejection is explained (docs/architecture.md,
"Quality targets"). Schemathesis reads each service's own OpenAPI document and generates
requests that follow it (positive) and that break it (negative); Hypothesis drives them,
derandomized so that CI sees the same cases on every run. The requests go to the real running
system: the four services in this process, each with its real lifespan (PostgreSQL pool, relay,
consumers on real NATS), started once for the module on a background event loop so that no
example restarts anything.

Path parameters are drawn half from what the schema allows (almost always unknown keys) and
half from real keys seeded before the run (dossier codes in every state, procedure and
department codes, form and queue names) mixed with hostile text (NUL, very long, RTL, a lone
surrogate in bodies), so commands also meet real cases in real states; half the bodies get
real procedure, department and desk codes so that they pass the first checks and go deeper.

Every request carries a token of a role the route admits (of the seeded dossiers' unit where the
route checks it), so that it passes the policy and reaches the route. Some bodies are replaced
by JSON nested thousands deep (with and without a NUL inside), and text leaves by decomposed
Vietnamese (NFD) and by full-width or Arabic-Indic digits.

Asserted for every response: no 5xx; every 4xx is JSON with ``error.code`` and a non-empty
``error.message.vi`` and ``error.message.en``; and schemathesis's own checks pass: the status is
documented for the operation, and the body and its content type are the documented ones.

And the positive-data check (schemathesis's ``positive_data_acceptance``, done here because its
own version cannot know which refusals a route documents): a request generated from the schema,
left unaltered (no hostile text, no nesting, real or generated keys), may be refused with 400,
413, 415 or 422 only for a code its operation lists under ``x-error-codes``: rules on data (an
unknown procedure code), on state or on the time now (back-dating), which no schema can state,
and a few rules across fields that the document states in words instead of ``if``/``then``.
Anything else means the schema allows what the service refuses.

Afterwards poison messages go onto the stream (every consumer dead-letters each with a reason),
then a valid dossier travels through all of them, and every relay and consumer must have caught
up: nothing the fuzzing stored jams them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import unicodedata
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import httpx
import nats
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nats.js.errors import NotFoundError
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok

from services.intake.catalogue import load_catalogue
from shared.auth.policy import POLICY, Scope
from shared.auth.principal import Role
from shared.eventlog.topology import CONSUMERS, STREAM, SUBJECT_ROOT, subject_for
from shared.host.settings import Settings
from tests.identity import ISSUER
from tests.system import APPLICANT, System, receive_body, running_system

T = TypeVar("T")

SERVICES = ("intake", "processing", "postal", "scoring")
# Examples per operation and generation mode (49 operations, 27 of them with something to break).
EXAMPLES = 25
# Cases in others' services known to answer 5xx; the test xfails (not strict) if only these fail.
# Keyed by (service, "METHOD /path template"), value: the reason shown.
KNOWN_SERVER_ERRORS: dict[tuple[str, str], str] = {}
# Run on every answer: what the OpenAPI document promises (status, content type, body schema).
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class BackgroundLoop:
    """An event loop on its own thread: the system lives there, sync Hypothesis tests call into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@dataclass
class FuzzTarget:
    loop: BackgroundLoop
    system: System
    settings: Settings
    known: dict[str, list[str]] = field(default_factory=dict)

    def send(self, service: str, request: dict[str, Any]) -> httpx.Response:
        return self.loop.run(self.system.clients[service].request(**request))


async def _fresh_database(admin_url: str) -> str:
    name = f"t_fuzz_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return name


async def _drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def _reset_stream(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    with contextlib.suppress(NotFoundError):
        await nc.jetstream().delete_stream(STREAM)
    await nc.close()


@pytest.fixture(scope="module")
def target(servers: Any) -> Iterator[FuzzTarget]:
    loop = BackgroundLoop()
    name = loop.run(_fresh_database(servers.database_url))
    loop.run(_reset_stream(servers.nats_url))
    base = servers.database_url.rsplit("/", 1)[0]
    config = Settings(nats_url=servers.nats_url, database_url=f"{base}/{name}")
    started: Future[System] = Future()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with running_system(config) as system:
                started.set_result(system)
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    served = asyncio.run_coroutine_threadsafe(serve(), loop.loop)
    system = started.result(timeout=120)
    fuzz = FuzzTarget(loop=loop, system=system, settings=config)
    fuzz.known = loop.run(_seed(system), timeout=120)
    try:
        yield fuzz
    finally:
        loop.loop.call_soon_threadsafe(stop.set)
        with contextlib.suppress(Exception):
            served.result(timeout=60)
        loop.run(_drop_database(servers.database_url, name))
        loop.close()


async def _seed(system: System) -> dict[str, list[str]]:
    """Dossiers in many states, so that fuzzed commands meet real cases and not only 404s."""
    catalogue = load_catalogue()
    procedure = next(
        p for p in catalogue.procedures if 1 in {int(c) for c in p.channels} and p.legal_days is not None
    )
    codes: list[str] = []

    async def receive(**overrides: Any) -> str:
        r = await system.intake.post("/dossiers", json=receive_body(procedure.code, **overrides))
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    for _ in range(4):
        codes.append(await receive())
    codes.append(await receive(postal_return=True))
    incomplete = await system.intake.post(
        "/dossiers/incomplete", json=receive_body(procedure.code, missing_items=["Tờ khai"])
    )
    refused = await system.intake.post(
        "/dossiers/refusals", json=receive_body(procedure.code, reasons="Không thuộc thẩm quyền")
    )
    assert incomplete.status_code == refused.status_code == 201, (incomplete.text, refused.text)
    codes += [incomplete.json()["code"], refused.json()["code"]]

    async def opened(code: str) -> None:
        for _ in range(200):
            if (await system.processing.get(f"/dossiers/{code}")).status_code == 200:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no case opened for {code}")

    for code in codes[:5]:
        await opened(code)
    # one decided with its result ready, one waiting for a supplement, one withdrawn
    actor: dict[str, Any] = {}
    steps = [
        (codes[1], "decision", {"approved": True, **actor}),
        (codes[1], "result-ready", actor),
        (codes[2], "supplement-requests", {"missing_items": ["Bản sao CCCD"], "reason": "Thiếu", **actor}),
        (codes[3], "withdrawal", {"reason": "Công dân rút hồ sơ", **actor}),
        (codes[4], "decision", {"approved": False, "reasons": "Không đủ điều kiện", **actor}),
    ]
    for code, command, body in steps:
        r = await system.processing.post(f"/dossiers/{code}/{command}", json=body)
        assert r.status_code == 200, r.text
    from services.intake.forms import FORMS as INTAKE_FORMS
    from services.processing.forms import FORMS as PROCESSING_FORMS
    from services.processing.work_queues import QUEUES

    return {
        "dossier": codes,
        "procedure": [p.code for p in catalogue.procedures[:5]],
        "all_procedures": [p.code for p in catalogue.procedures],
        "receiving_point": [r.code for r in catalogue.receiving_points],
        "department": sorted({procedure.department, *(d.code for d in catalogue.departments[:3])}),
        "intake_form": sorted(INTAKE_FORMS),
        "processing_form": sorted(PROCESSING_FORMS),
        "queue": list(QUEUES),
        "home_department": [procedure.department],
        "home_procedure": [procedure.code],
    }


def _admitted(service: str, method: str, path: str, known: dict[str, list[str]]) -> str | None:
    """A bearer token of every role the route admits, of the unit that lets it reach the route:
    the seeded dossiers' department for a department's own actions, the centre's desk otherwise."""
    rule = POLICY[service].get((method.upper(), path))
    if rule is None or rule.public:
        return None
    roles = tuple(sorted(rule.roles))
    departmental = (
        rule.scope is Scope.DOSSIER and Role.AUDITOR not in rule.roles and Role.FRONT_DESK not in rule.roles
    )
    unit = known["home_department"][0] if departmental or rule.scope is Scope.DEPARTMENT else "TTPVHCC"
    return f"Bearer {ISSUER.token(f'fuzz.{service}', roles, unit)}"


# Values a schema allows that platforms choke on: PostgreSQL refuses U+0000 in text, a lone
# surrogate cannot be encoded as UTF-8, long values overflow columns and messages.
HOSTILE_TEXT = [
    "\x00",
    "Hồ sơ\x00số 1",
    "x" * 5000,
    "🙂" * 300,
    "\u202eRTL",
    "'; DROP TABLE intake.events; --",
    "../../etc/passwd",
    "%00%ff",
    "   ",
    "9" * 400,
]
HOSTILE_BODY_TEXT = [
    *HOSTILE_TEXT,
    "\ud800 lone surrogate",
    unicodedata.normalize("NFD", "Nguyễn Thị Ánh, phường Hải Châu"),
    "００１１９００１２３４５",  # a CCCD in full-width digits
    "٠٠١١٩٠٠١٢٣٤٥",  # and in Arabic-Indic digits
    "\u3000\t ",  # only whitespace, an ideographic space among it
]
# Whole bodies that a recursive parser or validator would choke on.
NESTED_BODIES = [
    b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b'{"reason": ' + b"[" * 20_000 + b'"\\u0000"' + b"]" * 20_000 + b"}",
    b"[" * 3000 + b'{"x": "\x00"}' + b"]" * 3000,
    b'{"a": {"b": {"c": ' * 2000 + b"1" + b"}}}" * 2000,
]


def _known_values(known: dict[str, list[str]], service: str, path: str, param: str) -> list[str]:
    if param == "code":
        if path.startswith("/procedures"):
            return known["procedure"]
        if path.startswith("/departments"):
            return known["department"]
        return known["dossier"]
    if param == "department":
        return known["department"]
    if param == "queue":
        return known["queue"]
    if param == "form":
        return known.get(f"{service}_form", [])
    return []


def _with_real_keys(
    operation: Any, mode: GenerationMode, service: str, known: dict[str, list[str]]
) -> st.SearchStrategy[Any]:
    """The schema's own strategy, or the same with path parameters set to real keys or hostile text."""
    plain: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]
    if not names:
        return plain
    pools = {name: [*_known_values(known, service, operation.path, name), *HOSTILE_TEXT] for name in names}
    real = st.fixed_dictionaries({n: st.sampled_from(v) for n, v in pools.items()}).flatmap(
        lambda fixed: operation.as_strategy(generation_mode=mode, path_parameters=fixed)
    )
    return st.one_of(plain, real)


def _realistic_fields(known: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Real values for the fields that otherwise stop almost every request at the first check."""
    return st.fixed_dictionaries(
        {
            "procedure_code": st.sampled_from(known["all_procedures"]),
            "to_department": st.sampled_from(known["department"]),
            "receiving_point": st.none() | st.sampled_from(known["receiving_point"]),
            "occurred_at": st.none(),
            "backdate_reason": st.none(),
        }
    )


def _hostile_leaf(body: Any, index: int, value: str) -> Any:
    """``body`` with its ``index``-th string (counting modulo their number) replaced by ``value``."""
    leaves: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            if isinstance(child, str):
                leaves.append((node, key))
            else:
                walk(child)

    copy = json.loads(json.dumps(body))
    walk(copy)
    if leaves:
        node, key = leaves[index % len(leaves)]
        node[key] = value
    return copy


def _patched(body: dict[str, Any], hints: dict[str, Any]) -> dict[str, Any]:
    patched = dict(body)
    for name, value in hints.items():
        if name in patched or name in ("occurred_at", "backdate_reason"):
            if value is None:
                patched.pop(name, None)
            else:
                patched[name] = value
    return patched


def _request(case: Any) -> dict[str, Any]:
    """Schemathesis's requests-style kwargs, as httpx wants them."""
    kwargs = case.as_transport_kwargs(base_url="")
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": {k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
        "params": kwargs.get("params") or None,
    }
    if kwargs.get("data") is not None:
        request["content"] = kwargs["data"]
    elif kwargs.get("json") is not None:
        request["content"] = json.dumps(kwargs["json"]).encode()
    if kwargs.get("cookies"):
        request["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    return request


def _explained(response: httpx.Response) -> str | None:
    """None if the response is acceptable, otherwise what is wrong with it."""
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:500]}"
    if response.status_code < 400:
        return None
    try:
        error = response.json()["error"]
        code, vi, en = error["code"], error["message"]["vi"], error["message"]["en"]
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} without an explained error body: {response.text[:500]}"
    if not (isinstance(code, str) and code and isinstance(vi, str) and vi and isinstance(en, str) and en):
        return f"{response.status_code} with an empty code or message: {response.text[:500]}"
    return None


def _nonconforming(case: Any, response: httpx.Response) -> str | None:
    """What schemathesis finds wrong with ``response`` against the operation's document, or None."""
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except FailureGroup as group:
        found = [f"{type(e).__name__}: {e.title}" for e in group.exceptions if isinstance(e, Failure)]
        return "not as documented: " + "; ".join(found) + f" ({response.status_code}: {response.text[:300]})"
    except Failure as failure:
        return f"not as documented: {type(failure).__name__}: {failure.title} ({response.text[:300]})"
    return None


# What a request the schema allows may still be refused with: only the codes its operation lists
# under ``x-error-codes`` (a rule on data, state, time or across fields, explained there).
REJECTIONS = (400, 413, 415, 422)


def _rejected_positive(operation: Any, response: httpx.Response) -> str | None:
    """schemathesis's ``positive_data_acceptance``, with the route's documented rules: a
    schema-valid request refused for another reason means the schema does not tell the truth."""
    if response.status_code not in REJECTIONS:
        return None
    code = response.json()["error"]["code"]
    entry = operation.definition.raw["responses"].get(str(response.status_code), {})
    if code in entry.get("x-error-codes", ()):
        return None
    return (
        f"a schema-valid request refused {response.status_code} {code}, a rule the schema does not"
        f" state nor x-error-codes list: {response.text[:300]}"
    )


def _fuzz_operation(target: FuzzTarget, service: str, operation: Any) -> list[str]:
    """Runs both generation modes against one operation; returns the distinct problems found."""
    problems: dict[str, str] = {}
    modes = [GenerationMode.POSITIVE]
    if _negatable(operation.definition.raw):
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:
        _fuzz_mode(target, service, operation, mode, problems)
    return list(problems.values())


def _negatable(definition: dict[str, Any]) -> bool:
    """Whether a request can break the schema: a body, a typed parameter, or a constrained path."""
    if "requestBody" in definition:
        return True
    for parameter in definition.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") != "path" or set(schema) - {"type", "title", "description"}:
            return True
        if schema.get("type") != "string":
            return True
    return False


def _fuzz_mode(
    target: FuzzTarget, service: str, operation: Any, mode: GenerationMode, problems: dict[str, str]
) -> None:
    label = f"{operation.method.upper()} {operation.path} [{mode.value}]"
    token = _admitted(service, operation.method, operation.path, target.known)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(
        case=_with_real_keys(operation, mode, service, target.known),
        hints=st.none() | _realistic_fields(target.known),
        hostile=st.none() | st.tuples(st.integers(0, 63), st.sampled_from(HOSTILE_BODY_TEXT)),
        nested=st.none() | st.none() | st.none() | st.sampled_from(NESTED_BODIES),
    )
    def check(
        case: Any, hints: dict[str, Any] | None, hostile: tuple[int, str] | None, nested: bytes | None
    ) -> None:
        request = _request(case)
        if token is not None and "authorization" not in {k.lower() for k in request["headers"]}:
            request["headers"]["Authorization"] = token
        body = case.body
        if hints and isinstance(body, dict):
            body = _patched(body, hints)
        if hostile and isinstance(body, dict | list):
            body = _hostile_leaf(body, *hostile)
        if body is not case.body:  # JSON escapes what UTF-8 cannot carry (a lone surrogate)
            request["content"] = json.dumps(body).encode()
        if nested is not None and request["method"] in ("POST", "PUT", "PATCH"):
            request["content"] = nested
            request["headers"]["Content-Type"] = "application/json"
        schema_valid = (
            mode is GenerationMode.POSITIVE
            and hostile is None
            and nested is None
            and not set(map(str, (case.path_parameters or {}).values())) & set(HOSTILE_TEXT)
        )
        try:
            response = target.send(service, request)
            problem = _explained(response) or _nonconforming(case, response)
            if problem is None and schema_valid:
                problem = _rejected_positive(operation, response)
            status = str(response.status_code)
        except Exception as exc:  # the ASGI transport re-raises what the app did not handle
            problem, status = f"unhandled {exc!r}"[:500], type(exc).__name__
        if problem is not None:
            shown = json.dumps({k: v for k, v in request.items() if v is not None}, default=repr)
            problems.setdefault(f"{status} {problem[:100]}", f"{label} {problem}\n    request: {shown[:800]}")

    check()


def _operations(target: FuzzTarget, service: str) -> list[Any]:
    schema = schemathesis.openapi.from_dict(target.system.apps[service].openapi())
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}: an operation schemathesis cannot read: {result}"
        operations.append(result.ok())
    assert operations, f"{service} documents no operation"
    return operations


@pytest.mark.parametrize("service", SERVICES)
def test_every_endpoint_explains_every_rejection(target: FuzzTarget, service: str) -> None:
    failures: dict[str, list[str]] = {}
    for operation in _operations(target, service):
        found = _fuzz_operation(target, service, operation)
        if found:
            failures[f"{operation.method.upper()} {operation.path}"] = found
    unexpected = {op: found for op, found in failures.items() if (service, op) not in KNOWN_SERVER_ERRORS}
    assert not unexpected, "\n".join(p for found in unexpected.values() for p in found)
    if failures:
        pytest.xfail("; ".join(KNOWN_SERVER_ERRORS[(service, op)] for op in failures))


# --- text as people type it ------------------------------------------------------------------

NFD_NAME = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
NFD_ADDRESS = unicodedata.normalize("NFD", "Số 5 đường Lê Lợi, phường Thuận Hóa, Huế")


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_a_name_typed_decomposed_is_stored_composed(target: FuzzTarget, ensure_ascii: bool) -> None:
    procedure = target.known["home_procedure"][0]
    applicant = {**APPLICANT, "full_name": "  " + NFD_NAME + " ", "address": NFD_ADDRESS}
    body = json.dumps(receive_body(procedure, applicant=applicant), ensure_ascii=ensure_ascii).encode()
    headers = {"Content-Type": "application/json"}
    received = target.send(
        "intake", {"method": "POST", "url": "/dossiers", "content": body, "headers": headers}
    )
    assert received.status_code == 201, received.text
    code = received.json()["code"]
    stored = target.send("intake", {"method": "GET", "url": f"/dossiers/{code}"}).json()["applicant"]
    assert stored["full_name"] == unicodedata.normalize("NFC", NFD_NAME) != NFD_NAME
    assert stored["address"] == unicodedata.normalize("NFC", NFD_ADDRESS)
    # a query parameter too: the unit a report is asked for is the composed one
    asked = target.send(
        "scoring", {"method": "GET", "url": "/national-status", "params": {"department": NFD_NAME}}
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["query"]["department"] == unicodedata.normalize("NFC", NFD_NAME)


@pytest.mark.parametrize(
    ("service", "url", "field", "value"),
    [
        ("intake", "/dossiers", "citizen_id", "００１１９００１２３４５"),
        ("intake", "/dossiers", "citizen_id", "٠٠١١٩٠٠١٢٣٤٥"),
        ("intake", "/dossiers", "phone", "٠٩١٢٣٤٥٦٧٨"),
        ("intake", "/dossiers", "full_name", " \u3000\t"),
        ("postal", "/pickups", "phone", "０９１２３４５６７８"),
        ("postal", "/pickups", "full_name", "\u00a0 "),
    ],
)
def test_digits_are_ascii_and_names_not_blank(
    target: FuzzTarget, service: str, url: str, field: str, value: str
) -> None:
    procedure = target.known["home_procedure"][0]
    if service == "intake":
        body = receive_body(procedure, applicant={**APPLICANT, field: value})
    else:
        contact = {"full_name": "Ngọc", "phone": "0912345678", "address": "Huế", field: value}
        body = {"procedure_code": procedure, "applicant": contact}
    refused = target.send(service, {"method": "POST", "url": url, "json": body})
    assert refused.status_code == 422, refused.text
    assert field in str(refused.json()["error"]["problems"])


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("intake", "/dossiers"),
        ("processing", "/dossiers/{code}/decision"),
        ("postal", "/pickups"),
        ("scoring", "/ops/dead-letters/scoring/1/redrive"),
    ],
)
@pytest.mark.parametrize("nested", NESTED_BODIES[:2])
def test_deeply_nested_json_is_refused_by_every_service(
    target: FuzzTarget, service: str, url: str, nested: bytes
) -> None:
    url = url.format(code=target.known["dossier"][0])  # each service's default user is admitted
    headers = {"Content-Type": "application/json"}
    refused = target.send(service, {"method": "POST", "url": url, "content": nested, "headers": headers})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "too_deeply_nested"


# --- poison messages -------------------------------------------------------------------------

DURABLES_BY_SCHEMA = {
    "processing": ("processing-intake", "processing-postal", "processing-queues"),
    "postal": ("postal-processing", "postal-intake"),
    "scoring": ("scoring",),
}


def _taken_names(service: str) -> set[str]:
    """The event names (``dossier_received``) the consumers of ``service``'s events filter on."""
    names = set()
    for spec in CONSUMERS:
        for wanted in spec.filter_subjects:
            parts = wanted.removeprefix(f"{SUBJECT_ROOT}.").split(".")
            if len(parts) == 4 and parts[0] == service and parts[2] != "*":
                names.add(parts[2])
    return names


def _poison(template: dict[str, Any]) -> dict[str, bytes]:
    """Payloads no consumer can ever process, each for its own reason."""

    def variant(**changes: Any) -> bytes:
        event = {**template, "event_id": f"poison:{uuid.uuid4()}:1", **changes}
        return json.dumps(event).encode()

    applicant = {**template.get("applicant", {}), "full_name": "Nguyễn\x00Văn A"}
    return {
        "invalid_json": b"{not json",
        "not_utf8": b"\xff\xfe\xfd",
        "not_an_object": b"[1, 2, 3]",
        "wrong_schema": b'{"event_type": "intake.dossier_received.v1", "dossier_code": 7}',
        "unknown_event_type": variant(event_type="intake.dossier_teleported.v9"),
        "future_version": variant(event_type="intake.dossier_received.v3"),
        "nul_in_text": variant(applicant=applicant),
        "time_out_of_range": variant(occurred_at="9999-12-31T23:59:59-23:59"),
        "huge": variant(padding="x" * 900_000),
    }


async def _first_event(nats_url: str, event_type: str) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(f"{subject_for(event_type, '*')}", ordered_consumer=True)
        msg = await sub.next_msg(timeout=5)
        event: dict[str, Any] = json.loads(msg.data)
        return event
    finally:
        await nc.close()


async def _publish(nats_url: str, messages: list[tuple[str, bytes]]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for subject, data in messages:
        await js.publish(subject, data, stream=STREAM)
    await nc.close()


async def _consumers_drained(system: System, nats_url: str, timeout: float = 20.0) -> dict[str, Any]:
    """Waits until every relay has published all its service recorded and every durable consumer
    has nothing pending; returns what is left if not."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            left: dict[str, Any] = {}
            for name in SERVICES:
                relay = system.host(name).relay
                if relay is not None:
                    recorded = await asyncio.to_thread(relay.app.recorder.max_notification_id) or 0
                    published = await relay.position()
                    if published < recorded:
                        left[f"relay {name}"] = {"recorded": recorded, "published": published}
            for durables in DURABLES_BY_SCHEMA.values():
                for durable in durables:
                    info = await js.consumer_info(STREAM, durable)
                    if info.num_pending or info.num_ack_pending:
                        left[durable] = {"pending": info.num_pending, "ack_pending": info.num_ack_pending}
            if not left or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        await nc.close()
    if left:
        left["errors"] = {
            c.spec.durable: c.stats.errors[-3:] for name in SERVICES for c in system.host(name).consumers
        }
    return left


def _eventually(
    target: FuzzTarget, service: str, url: str, until: Any = bool, timeout: float = 15.0
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = target.send(service, {"method": "GET", "url": url})
        if response.status_code == 200 and until(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"{service} {url}: {response.status_code} {response.text[:300]}")
        time.sleep(0.05)


def test_poison_messages_are_dead_lettered_and_consumers_carry_on(target: FuzzTarget) -> None:
    system, nats_url, loop = target.system, target.settings.nats_url, target.loop
    template = loop.run(_first_event(nats_url, "intake.dossier_received.v2"))
    poison = _poison(template)
    published: dict[str, str] = {}  # subject -> kind
    messages = []
    for service in ("intake", "processing", "postal"):
        # consumers are given some event types only: poison under each name one of them takes
        for name in ("poison", *_taken_names(service)):
            for kind, data in poison.items():
                subject = subject_for(f"{service}.{name}.v1", uuid.uuid4())
                published[subject] = kind
                messages.append((subject, data))
    loop.run(_publish(nats_url, messages))

    # a valid dossier afterwards travels through every consumer: received, decided, posted back
    procedure = next(p for p in load_catalogue().procedures if p.legal_days is not None)
    received = target.send(
        "intake",
        {"method": "POST", "url": "/dossiers", "json": receive_body(procedure.code, postal_return=True)},
    )
    assert received.status_code == 201, received.text
    code = received.json()["code"]
    case = _eventually(target, "processing", f"/dossiers/{code}")
    assert case.json()["state"] == "in_processing"
    for command, body in (("decision", {"approved": True}), ("result-ready", {})):
        r = target.send(
            "processing",
            {"method": "POST", "url": f"/dossiers/{code}/{command}", "json": body},
        )
        assert r.status_code == 200, r.text
    _eventually(target, "postal", f"/dossiers/{code}/shipments", until=lambda r: len(r.json()) == 1)
    _eventually(target, "scoring", f"/dossiers/{code}", until=lambda r: r.json().get("result_ready_at"))

    left = loop.run(_consumers_drained(system, nats_url))
    assert not left, f"consumers stuck: {left}"

    for schema, durables in DURABLES_BY_SCHEMA.items():
        host = next(system.host(n) for n in SERVICES if system.host(n).schema == schema)
        rows = loop.run(
            host.pool.fetch(
                f"SELECT consumer, subject, reason FROM {schema}.dead_letters"
                " WHERE subject = ANY($1::text[])",
                list(published),
            )
        )
        seen = {(r["consumer"], r["subject"]): r["reason"] for r in rows}
        for durable in durables:
            spec = next(
                c.spec for n in SERVICES for c in system.host(n).consumers if c.spec.durable == durable
            )
            expected = [s for s in published if spec.receives(s)]
            assert expected, durable
            missing = [published[s] for s in expected if not seen.get((durable, s), "").strip()]
            assert not missing, f"{durable} did not dead-letter with a reason: {missing}"


# Poison whose *reason* quotes a NUL back: pydantic's messages repeat an unknown tag or a bad
# UUID character, and shared/eventlog/dead_letters.py stores the reason in a text column, which
# refuses U+0000. The INSERT fails, the consumer takes it for a transient failure, and the batch
# is redelivered for ever: one such message stops every consumer. The fix belongs in
# shared/eventlog (escape NUL in the reason and headers before storing), outside this change.
# Runs last in the module: when it fails, the consumers it jammed serve no other test.
NUL_IN_REASON = {
    "nul_in_event_type": {"event_type": "intake.dossier\x00received.v1"},
    "nul_in_uuid": {"dossier_id": "\x00" * 36},
}


@pytest.mark.parametrize("kind", list(NUL_IN_REASON))
def test_poison_whose_reason_quotes_a_nul_is_dead_lettered(target: FuzzTarget, kind: str) -> None:
    loop, nats_url = target.loop, target.settings.nats_url
    template = loop.run(_first_event(nats_url, "intake.dossier_received.v2"))
    data = json.dumps({**template, "event_id": f"poison:{uuid.uuid4()}:1", **NUL_IN_REASON[kind]}).encode()
    subject = subject_for(f"intake.poison_{kind}.v1", uuid.uuid4())
    loop.run(_publish(nats_url, [(subject, data)]))
    scoring = target.system.host("scoring")
    deadline = time.monotonic() + 5
    while True:
        rows = loop.run(
            scoring.pool.fetch("SELECT reason FROM scoring.dead_letters WHERE subject = $1", subject)
        )
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows and rows[0]["reason"].strip()
    assert not loop.run(_consumers_drained(target.system, nats_url, timeout=5))
