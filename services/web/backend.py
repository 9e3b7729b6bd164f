"""The four services' APIs and the identity provider, as the web calls them.

Every call carries the signed-in user's token: the services decide who may do what (their one
policy table); the web only shows what they answer. An error of a service keeps its code and its
two messages, so the page can say exactly what the API said.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
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
    """The identity provider refused the code or refresh token (used, expired, or not ours)."""


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint answered, with lifetimes turned into instants."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    refresh_expires_at: float | None = None
    id_token: str | None = None


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
        self._discovery: dict[str, Any] | None = None

    async def aclose(self) -> None:
        for client in (*self.clients.values(), self.identity):
            await client.aclose()

    async def discovery(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once (its endpoints do not move while we run)."""
        if self._discovery is None:
            try:
                response = await self.identity.get(self.config.discovery_url)
                document = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                raise _unavailable("identity") from None
            needed = ("issuer", "authorization_endpoint", "token_endpoint")
            if not isinstance(document, dict) or not all(isinstance(document.get(k), str) for k in needed):
                raise _unavailable("identity")
            if document["issuer"].rstrip("/") != self.config.issuer.rstrip("/"):
                # OpenID Connect Discovery §4.3: a document for another issuer is not ours to use
                raise _unavailable("identity")
            self._discovery = document
        return self._discovery

    async def exchange_code(self, code: str, verifier: str) -> TokenSet:
        """The tokens for an authorization code, with the PKCE verifier that began the log-in."""
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.callback_url,
                "code_verifier": verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        endpoint = str((await self.discovery())["token_endpoint"])
        try:
            response = await self.identity.post(
                endpoint,
                data=form,
                # client_secret_basic: the secret never travels in a body that might be logged
                auth=(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError:
            raise _unavailable("identity") from None
        if response.status_code in (400, 401):
            raise LoginRefused
        if response.status_code != 200:
            raise _unavailable("identity")
        try:
            body = response.json()
        except ValueError:
            raise _unavailable("identity") from None
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise _unavailable("identity")
        now = time.time()
        expires_in = body.get("expires_in")
        refresh_in = body.get("refresh_expires_in")
        return TokenSet(
            access_token=access,
            expires_at=now + float(expires_in) if isinstance(expires_in, int | float) else now + 300,
            refresh_token=body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None,
            refresh_expires_at=now + float(refresh_in)
            if isinstance(refresh_in, int | float) and refresh_in
            else None,
            id_token=body.get("id_token") if isinstance(body.get("id_token"), str) else None,
        )

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
