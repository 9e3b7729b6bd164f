"""Where the web finds the identity provider and the four services, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from services.web import PORT
from shared.host.settings import DEFAULT_PORTS, service_port

SERVICES = tuple(DEFAULT_PORTS)


@dataclass(frozen=True)
class WebConfig:
    # base URL of each service the web calls, by name (intake, processing, postal, scoring)
    services: dict[str, str]
    # the identity provider's token endpoint (Keycloak: {issuer}/protocol/openid-connect/token)
    token_url: str
    client_id: str = "motcua-web"
    # where citizens reach the web: the QR code on a receipt carries {public_url}/track/{code}?s=…
    public_url: str = f"http://127.0.0.1:{PORT}"
    # only over HTTPS may the browser send the session cookie marked Secure
    secure_cookies: bool = False
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls) -> WebConfig:
        env = os.environ
        issuer = env.get("MOTCUA_OIDC_ISSUER", "")
        token_url = env.get("MOTCUA_WEB_TOKEN_URL") or (
            f"{issuer.rstrip('/')}/protocol/openid-connect/token" if issuer else ""
        )
        if not token_url:
            raise RuntimeError(
                "MOTCUA_WEB_TOKEN_URL (or MOTCUA_OIDC_ISSUER) is not set: the web signs users in there"
            )
        services = {
            name: env.get(f"MOTCUA_WEB_{name.upper()}_URL") or f"http://127.0.0.1:{service_port(name)}"
            for name in (*SERVICES, "payments")  # payments: the citizen pays from the tracking page
        }
        public_url = env.get("MOTCUA_WEB_PUBLIC_URL") or f"http://127.0.0.1:{web_port()}"
        return cls(
            services=services,
            token_url=token_url,
            client_id=env.get("MOTCUA_WEB_CLIENT_ID", "motcua-web"),
            public_url=public_url.rstrip("/"),
            secure_cookies=public_url.startswith("https://"),
        )


def web_port() -> int:
    return int(os.environ.get("WEB_PORT", PORT))
