"""``python -m services.identity_dev --data-dir .data``: the development identity provider."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from services.identity_dev import PORT, REALM_PATH
from services.identity_dev.app import create_identity_app
from services.identity_dev.flows import Client
from services.web.config import CALLBACK_PATH, SIGNED_OUT_PATH, web_port
from shared.auth.dev_issuer import DevIssuer
from shared.host.dev_secrets import dev_secret
from shared.host.settings import is_development


def issuer_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{REALM_PATH}"


def web_client(data_dir: Path) -> Client:
    """The web, registered as a confidential client with the same environment the web reads."""
    env = os.environ
    public_url = (env.get("MOTCUA_WEB_PUBLIC_URL") or f"http://127.0.0.1:{web_port()}").rstrip("/")
    return Client(
        client_id=env.get("MOTCUA_WEB_CLIENT_ID", "motcua-web"),
        secret=env.get("MOTCUA_WEB_CLIENT_SECRET") or dev_secret(data_dir, "web_client_secret"),
        redirect_uris=(env.get("MOTCUA_WEB_REDIRECT_URI") or f"{public_url}{CALLBACK_PATH}",),
        post_logout_redirect_uris=(f"{public_url}{SIGNED_OUT_PATH}",),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=int(os.environ.get("IDENTITY_PORT", PORT)))
    args = parser.parse_args()
    if not is_development():
        raise SystemExit("the development identity provider runs only with MOTCUA_ENV=development")
    issuer = DevIssuer.in_folder(args.data_dir, issuer=issuer_url(args.port))
    app = create_identity_app(
        issuer, dev_secret(args.data_dir, "demo_password", 9), [web_client(args.data_dir)]
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
