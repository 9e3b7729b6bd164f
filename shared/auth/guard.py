"""The one place that enforces the policy table, for every route of every service.

It runs as an application-wide FastAPI dependency, after routing (so it knows the route's
template) and before the body is validated (so a caller without a token learns that first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from shared.auth.jwks import JwksUnavailable
from shared.auth.policy import Rule, Scope, rule_for
from shared.auth.principal import Principal, Role
from shared.auth.verifier import InvalidToken, TokenVerifier
from shared.host.errors import ApiError
from shared.signals.http import note_outage, note_route


@dataclass(frozen=True)
class Caller:
    """The verified principal and the roles in which it may call the route it called."""

    principal: Principal
    roles: frozenset[Role]
    rule: Rule

    @property
    def role(self) -> Role:
        role = self.principal.acting_role(self.roles)
        if role is None:  # the guard never builds a caller without an admitted role
            raise RuntimeError("caller without an admitted role")
        return role

    def actor(self, channel: int = 1) -> dict[str, Any]:
        return self.principal.actor(self.role, channel)

    def may_see(self, *, departments: Iterable[str | None], desk: str | None) -> bool:
        """Whether the dossier of these departments, received at ``desk``, is this caller's."""
        unit = self.principal.agency
        if Role.AUDITOR in self.roles:
            return True
        if self.roles & {Role.OFFICER, Role.LEADER} and unit in set(departments):
            return True
        # the desk that received a dossier keeps it (hands the result back, takes supplements);
        # a leader of the centre sees what the centre received
        return bool(self.roles & {Role.FRONT_DESK, Role.LEADER}) and desk is not None and unit == desk


def authorize_dossier(
    caller: Caller, code: str, *, departments: Iterable[str | None], desk: str | None
) -> None:
    """404 for a dossier that is not the caller's, exactly as for one that does not exist."""
    if not caller.may_see(departments=departments, desk=desk):
        raise dossier_not_found(code)


def dossier_not_found(code: str) -> ApiError:
    return ApiError(404, "not_found", f"Không tìm thấy hồ sơ {code}", f"Dossier {code} not found")


def unauthenticated(reason: str) -> ApiError:
    error = ApiError(
        401,
        "unauthenticated",
        "Cần đăng nhập: thiếu hoặc sai mã xác thực (bearer token)",
        f"Sign in first: {reason}",
    )
    error.headers = {"WWW-Authenticate": 'Bearer realm="motcua"'}
    return error


def install_guard(app: FastAPI, service: str) -> None:
    """Puts ``service``'s policy in front of every route of ``app`` and shows it in ``/docs``."""
    app.add_middleware(PolicyGuard, service=service, routes=lambda: app.router.routes)
    _document_security(app, service)


class PolicyGuard:
    """Pure ASGI, outermost: it finds the route itself, as the router will, so a request pays
    one regular expression per route and no dependency injection (FastAPI's per-dependency
    bookkeeping cost intake several per cent of its CPU per dossier)."""

    def __init__(self, app: ASGIApp, *, service: str, routes: Callable[[], list[BaseRoute]]) -> None:
        self.app = app
        self.service = service
        self._routes = routes
        # per method, (path pattern, template) of each API route, in the router's order
        self._table: dict[str, list[tuple[re.Pattern[str], str]]] | None = None

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            found = self._route_of(scope)
            caller = None
            if found is not None:
                note_route(scope, *found)  # the metrics' route label, the logs' dossier
                caller = await self.admit(scope, found[0], found[1], scope["app"].state.verifier)
        except ApiError as error:
            if error.status == 503:
                note_outage(scope, "identity")
            response = JSONResponse(error.body(), status_code=error.status, headers=error.headers)
            await response(scope, receive, send)
            return
        if caller is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        # Handlers read it with ``acting_caller()``: the route runs in this task, so the value
        # set here is the one it sees (a FastAPI dependency cost each request ~2 % of intake).
        token = _ACTING.set(caller)
        try:
            await self.app(scope, receive, send)
        finally:
            _ACTING.reset(token)

    def _route_of(self, scope: AsgiScope) -> tuple[str, dict[str, Any]] | None:
        """The route template and path parameters, or None for a path the router will refuse.

        The route's own pattern, matched directly: ``APIRoute.matches`` builds a child scope for
        every route it tries, a measurable share of a request."""
        if self._table is None:
            table: dict[str, list[tuple[re.Pattern[str], str]]] = {}
            for route in _api_routes(self._routes()):
                for route_method in route.methods or ():
                    table.setdefault(route_method, []).append((route.path_regex, route.path))
            self._table = table
        path, method = scope["path"], scope["method"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy mounting the service under a prefix
            path = path[len(root) :]
        for pattern, template in self._table.get(method, ()):
            found = pattern.match(path)
            if found is not None:
                return template, found.groupdict()
        return None

    async def admit(
        self, scope: AsgiScope, path: str, path_params: dict[str, Any], verifier: TokenVerifier
    ) -> Caller | None:
        """The verified caller of route ``path`` (its template), or None for a public route."""
        method = scope["method"]
        rule = rule_for(self.service, method, path)
        if rule is None:
            raise ApiError(
                403,
                "no_policy",
                "Đường dẫn này chưa được khai báo quyền truy cập",
                f"No access policy is declared for {method} {path}",
            )
        if rule.public:
            return None
        token = _bearer(scope)
        if not token:
            raise unauthenticated("no bearer token")
        try:
            principal = await verifier.verify(token)
        except InvalidToken as exc:
            raise unauthenticated(str(exc)) from None
        except JwksUnavailable:
            outage = ApiError(
                503,
                "identity_provider_unavailable",
                "Không kiểm tra được mã xác thực lúc này, vui lòng thử lại",
                "The identity provider's keys cannot be fetched now; retry shortly",
            )
            outage.headers = {"Retry-After": "5"}
            raise outage from None
        admitted = principal.roles & rule.roles
        if not admitted:
            raise ApiError(
                403,
                "forbidden_role",
                "Vai trò của bạn không được thực hiện thao tác này",
                f"Your role does not allow {method} {path}",
                allowed_roles=sorted(str(r) for r in rule.roles),
            )
        own_unit = path_params.get("department") == principal.agency
        if rule.scope is Scope.DEPARTMENT and Role.AUDITOR not in admitted and not own_unit:
            raise ApiError(
                403,
                "other_unit",
                "Bạn chỉ xem được hàng đợi của đơn vị mình",
                "You may only see your own unit's queues",
                your_unit=principal.agency,
            )
        return Caller(principal, admitted, rule)


def _api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, including those of included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
            continue
        nested = getattr(route, "original_router", None)
        if nested is None:
            continue  # the documents' routes: public, and not in the policy table
        prefix = getattr(getattr(route, "include_context", None), "prefix", "")
        if prefix:  # a template with a prefix would be matched wrongly: refuse to start serving
            raise RuntimeError(f"the policy guard does not support router prefixes ({prefix!r})")
        yield from _api_routes(nested.routes)


def _bearer(scope: AsgiScope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _document_security(app: FastAPI, service: str) -> None:
    """``/docs`` shows the bearer scheme on every route that needs it, and none on the others."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {})["securitySchemes"] = {
            "oidc-bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An OpenID Connect access token from the province's identity provider",
            }
        }
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                rule = rule_for(service, method, path)
                if rule is not None and not rule.public:
                    operation["security"] = [{"oidc-bearer": []}]
                    roles = ", ".join(sorted(str(r) for r in rule.roles))
                    operation["description"] = (
                        f"{operation.get('description', '')}\n\n**Access:** {roles} ({rule.scope})"
                    ).strip()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_ACTING: ContextVar[Caller | None] = ContextVar("motcua_acting_caller", default=None)


def acting_caller() -> Caller:
    """For handlers of non-public routes: who calls, as the guard verified it for this request."""
    caller = _ACTING.get()
    if caller is None:
        raise unauthenticated("no bearer token")
    return caller
