"""The one place that enforces the policy table, for every route of every service.

It runs as an application-wide FastAPI dependency, after routing (so it knows the route's
template) and before the body is validated (so a caller without a token learns that first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.jwks import JwksUnavailable
from shared.auth.policy import Rule, Scope, rule_for
from shared.auth.principal import Principal, Role
from shared.auth.verifier import InvalidToken, TokenVerifier
from shared.host.errors import ApiError

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="oidc-bearer",
    description="An OpenID Connect access token (JWT) from the province's identity provider",
)


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


BEARER = Depends(bearer)


def guard_for(service: str) -> Callable[..., Awaitable[None]]:
    async def guard(request: Request, credentials: HTTPAuthorizationCredentials | None = BEARER) -> None:
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        rule = rule_for(service, request.method, path)
        if rule is None:
            raise ApiError(
                403,
                "no_policy",
                "Đường dẫn này chưa được khai báo quyền truy cập",
                f"No access policy is declared for {request.method} {path}",
            )
        if rule.public:
            return
        if credentials is None or not credentials.credentials:
            raise unauthenticated("no bearer token")
        verifier: TokenVerifier = request.app.state.verifier
        try:
            principal = await verifier.verify(credentials.credentials)
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
                f"Your role does not allow {request.method} {path}",
                allowed_roles=sorted(str(r) for r in rule.roles),
            )
        if rule.scope is Scope.DEPARTMENT and Role.AUDITOR not in admitted:
            department = request.path_params.get("department")
            if department != principal.agency:
                raise ApiError(
                    403,
                    "other_unit",
                    "Bạn chỉ xem được hàng đợi của đơn vị mình",
                    "You may only see your own unit's queues",
                    your_unit=principal.agency,
                )
        request.state.caller = Caller(principal, admitted, rule)

    return guard


def current_caller(request: Request) -> Caller:
    """For handlers of non-public routes: who calls, as the guard verified it."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise unauthenticated("no bearer token")
    return caller


# For a handler's signature: ``caller: Caller = CALLER``.
CALLER = Depends(current_caller)
