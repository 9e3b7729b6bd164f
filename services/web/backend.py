"""The four services' APIs and the identity provider, as the web calls them.

Every call carries the signed-in user's token: the services decide who may do what (their one
policy table); the web only shows what they answer. An error of a service keeps its code and its
two messages, so the page can say exactly what the API said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from services.web.config import WebConfig
from services.web.texts import TEXTS


class BackendError(Exception):
    """A 4xx/5xx from a service (or none at all), with the code and messages to show."""

    def __init__(self, status: int, code: str, vi: str, en: str, details: dict[str, Any] | None = None):
        super().__init__(f"{status} {code}: {en}")
        self.status = status
        self.code = code
        self.vi = vi
        self.en = en
        self.details = details or {}


class LoginRefused(Exception):
    """The identity provider refused the user name or password."""


def _unavailable(service: str) -> BackendError:
    vi, en = TEXTS["service_unavailable"]
    return BackendError(503, "service_unavailable", vi, en, {"service": service})


class Backend:
    def __init__(
        self, config: WebConfig, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
    ) -> None:
        transports = transports or {}
        self.config = config
        self.clients = {
            name: httpx.AsyncClient(base_url=url, transport=transports.get(name), timeout=config.timeout_s)
            for name, url in config.services.items()
        }
        self.identity = httpx.AsyncClient(transport=transports.get("identity"), timeout=config.timeout_s)

    async def aclose(self) -> None:
        for client in (*self.clients.values(), self.identity):
            await client.aclose()

    async def password_grant(self, username: str, password: str) -> str:
        """The access token for a user name and password (OpenID Connect password grant)."""
        try:
            response = await self.identity.post(
                self.config.token_url,
                data={
                    "grant_type": "password",
                    "client_id": self.config.client_id,
                    "username": username,
                    "password": password,
                    "scope": "openid",
                },
            )
        except httpx.HTTPError:
            raise _unavailable("identity") from None
        if response.status_code in (400, 401):
            raise LoginRefused
        if response.status_code != 200:
            raise _unavailable("identity")
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise _unavailable("identity")
        return token

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = await self.clients[service].request(
                method, path, json=json, params=params, headers=sent
            )
        except httpx.HTTPError:
            raise _unavailable(service) from None
        if response.status_code >= 500:
            raise _unavailable(service)
        if response.status_code >= 400:
            raise _error_of(response)
        if "json" not in response.headers.get("content-type", ""):
            return response.text
        return response.json()


def _error_of(response: httpx.Response) -> BackendError:
    """The service's own error (code, vi, en) — or a plain one if the body is not ours."""
    try:
        error = response.json().get("error", {})
        message = error.get("message", {})
        details = {k: v for k, v in error.items() if k not in ("code", "message")}
        return BackendError(
            response.status_code, str(error["code"]), str(message["vi"]), str(message["en"]), details
        )
    except (ValueError, KeyError, AttributeError, TypeError):
        vi, en = TEXTS["invalid_input"]
        return BackendError(response.status_code, f"http_{response.status_code}", vi, en)


async def send_document(
    backend: Backend,
    path: str,
    token: str,
    content: bytes,
    media_type: str,
    params: Mapping[str, str],
    *,
    headers: Mapping[str, str] | None = None,
    service: str = "intake",
) -> Any:
    """Uploads a file's bytes as they are (the service checks what they are)."""
    try:
        response = await backend.clients[service].post(
            path,
            content=content,
            params=params,
            headers={**(headers or {}), "Authorization": f"Bearer {token}", "Content-Type": media_type},
        )
    except httpx.HTTPError:
        raise _unavailable(service) from None
    if response.status_code >= 500:
        raise _unavailable(service)
    if response.status_code >= 400:
        raise _error_of(response)
    return response.json()


async def fetch_document(
    backend: Backend,
    path: str,
    token: str | None,
    *,
    service: str = "intake",
    headers: Mapping[str, str] | None = None,
) -> tuple[bytes, str]:
    """A stored document's bytes and media type, as the service hands them out."""
    sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        response = await backend.clients[service].get(path, headers=sent)
    except httpx.HTTPError:
        raise _unavailable(service) from None
    if response.status_code >= 500:
        raise _unavailable(service)
    if response.status_code >= 400:
        raise _error_of(response)
    return response.content, response.headers.get("content-type", "application/octet-stream")
