"""Development secrets: generated once per data folder, so `make run` needs no configuration.

Only `make run`, `make test` and `make bench` use these; production takes every secret from the
environment (or files a KMS mounts) and refuses to start without them.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

FILE_NAME = "dev-secrets.json"


def dev_secret(data_dir: Path, name: str, nbytes: int = 32) -> str:
    """The development secret ``name`` of this data folder, created on first use (URL-safe text)."""
    path = data_dir / FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if name not in known:
        known[name] = secrets.token_urlsafe(nbytes)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return known[name]


def development_secrets(data_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """What `make run`, `make test` and `make bench` add to the services' environment: the
    development flag, the data folder's master key and result signing key, unless the environment
    names its own."""
    added = {"MOTCUA_ENV": env.get("MOTCUA_ENV") or "development"}
    if not env.get("MOTCUA_MASTER_KEY") and not env.get("MOTCUA_MASTER_KEY_FILE"):
        added["MOTCUA_MASTER_KEY"] = dev_secret(data_dir, "master_key")
    if not env.get("MOTCUA_RESULT_SIGNING_KEY") and not env.get("MOTCUA_RESULT_SIGNING_KEY_FILE"):
        # electronic results are signed in development too, so the signature path is always run
        added["MOTCUA_RESULT_SIGNING_KEY"] = dev_secret(data_dir, "result_signing_key")
    return added
