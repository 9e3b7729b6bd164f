"""The master key: wraps and unwraps data keys, and nothing else.

Behind a two-method interface so that a KMS (Vault transit, a cloud KMS, an HSM) can replace
the local key without touching the callers. Every wrapped key is stored with the id of the
master key that wrapped it, so the master key can rotate: the new key wraps new data keys, the
previous ones still unwrap old ones, and ``motcua rotate-master-key`` rewraps them all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.host.settings import is_development, require_secret

NONCE_BYTES = 12
MIN_SECRET_CHARS = 32


class UnknownMasterKey(Exception):
    """A wrapped key names a master key this process does not hold."""


class MasterKey(Protocol):
    @property
    def key_id(self) -> str:
        """The id of the key that wraps new data keys."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, key_id: str, context: bytes) -> bytes:
        """Raises ``UnknownMasterKey`` for a key id it does not hold, ``InvalidTag`` if tampered."""
        ...


class LocalMasterKey:
    """A master key held in process memory, from a secret text (environment or file).

    The 256-bit key is derived from the secret with HKDF-SHA256, so any high-entropy text of at
    least 32 characters will do (``openssl rand -base64 32``). Its id is a hash of the derived
    key: a new secret gets a new id by itself.
    """

    def __init__(self, current: str, previous: tuple[str, ...] = ()) -> None:
        keys = [_derive(current), *(_derive(p) for p in previous)]
        self._keys = {_key_id(k): AESGCM(k) for k in keys}
        self._current = _key_id(keys[0])

    @property
    def key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._keys[self._current].encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, key_id: str, context: bytes) -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise UnknownMasterKey(key_id)
        return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)


def _derive(secret: str) -> bytes:
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"a master key secret has at least {MIN_SECRET_CHARS} characters")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"motcua-master-key", info=b"wrap data keys")
    return hkdf.derive(secret.encode())


def _key_id(key: bytes) -> str:
    return "local:" + hashlib.sha256(b"motcua-key-id" + key).hexdigest()[:16]


def _read(env: Mapping[str, str], name: str) -> str | None:
    """``NAME`` itself, or the content of the file named by ``NAME_FILE`` (a mounted secret)."""
    value = env.get(name)
    if value:
        return value.strip()
    path = env.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return None


def master_key_from_env(env: Mapping[str, str] | None = None) -> LocalMasterKey:
    """``MOTCUA_MASTER_KEY`` (or ``MOTCUA_MASTER_KEY_FILE``); during a rotation the retired
    secrets in ``MOTCUA_MASTER_KEY_PREVIOUS`` (or ``…_PREVIOUS_FILE``), comma-separated.

    Outside development a missing key stops the service. In development (``MOTCUA_ENV``) the
    launcher passes the data folder's generated key; a bare process falls back on the one of
    ``MOTCUA_DATA_DIR`` (default ``.data``).
    """
    env = os.environ if env is None else env
    current = _read(env, "MOTCUA_MASTER_KEY")
    if not current and is_development():
        from shared.host.dev_secrets import dev_secret

        current = dev_secret(Path(env.get("MOTCUA_DATA_DIR", ".data")), "master_key")
    current = require_secret("MOTCUA_MASTER_KEY", current)
    previous = tuple(
        p.strip() for p in (_read(env, "MOTCUA_MASTER_KEY_PREVIOUS") or "").split(",") if p.strip()
    )
    return LocalMasterKey(current, previous)
