"""Where the web finds the identity provider and the four services, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from services.web import PORT
from shared.host.settings import DEFAULT_PORTS, require_secret, service_port

SERVICES = tuple(DEFAULT_PORTS)
CALLBACK_PATH = "/auth/callback"
SIGNED_OUT_PATH = "/signed-out"


@dataclass(frozen=True)
class WebConfig:
    # base URL of each service the web calls, by name (intake, processing, postal, scoring)
    services: dict[str, str]
    # the identity provider's issuer; its discovery document lives at {issuer}/.well-known/…
    issuer: str
    # the web is a confidential client of the provider (authorization code flow with PKCE)
    client_secret: str
    client_id: str = "motcua-web"
    # where citizens reach the web: the QR code on a receipt carries {public_url}/track/{code}?s=…
    public_url: str = f"http://127.0.0.1:{PORT}"
    # registered at the provider; by default {public_url}/auth/callback
    redirect_uri: str = ""
    # only over HTTPS may the browser send the session cookie marked Secure
    secure_cookies: bool = False
    timeout_s: float = 10.0

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"

    @property
    def callback_url(self) -> str:
        return self.redirect_uri or f"{self.public_url}{CALLBACK_PATH}"

    @property
    def signed_out_url(self) -> str:
        return f"{self.public_url}{SIGNED_OUT_PATH}"

    @classmethod
    def from_env(cls) -> WebConfig:
        env = os.environ
        issuer = env.get("MOTCUA_OIDC_ISSUER", "")
        if not issuer:
            raise RuntimeError("MOTCUA_OIDC_ISSUER is not set: the web signs users in there")
        services = {
            name: env.get(f"MOTCUA_WEB_{name.upper()}_URL") or f"http://127.0.0.1:{service_port(name)}"
            for name in (*SERVICES, "payments")  # payments: the citizen pays from the tracking page
        }
        public_url = env.get("MOTCUA_WEB_PUBLIC_URL") or f"http://127.0.0.1:{web_port()}"
        return cls(
            services=services,
            issuer=issuer,
            client_secret=require_secret("MOTCUA_WEB_CLIENT_SECRET", env.get("MOTCUA_WEB_CLIENT_SECRET")),
            client_id=env.get("MOTCUA_WEB_CLIENT_ID", "motcua-web"),
            public_url=public_url.rstrip("/"),
            redirect_uri=env.get("MOTCUA_WEB_REDIRECT_URI", ""),
            secure_cookies=public_url.startswith("https://"),
        )


def web_port() -> int:
    return int(os.environ.get("WEB_PORT", PORT))
