"""Detached signatures of the results an agency issues electronically.

A result document (the decision, the certificate, the licence) is stored as issued and its
signature kept beside it, apart from the bytes: whoever holds the document, its signature and the
agency's public key can check that it is the document issued, unchanged. ``ResultSigner`` is
the seam: ``Ed25519Signer`` signs with a key from the configuration; a provincial CA's remote
signing service or an HSM is another implementation of the same three members (see
docs/electronic-results.md). Without a configured key results are issued unsigned, and say so.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALGORITHM = "Ed25519"


class ResultSigner(Protocol):
    @property
    def key_id(self) -> str:
        """Names the key (or certificate) that signed, so a verifier finds the right public key."""
        ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, content: bytes) -> bytes:
        """The detached signature of ``content`` (a remote service may be sent its SHA-256 instead)."""
        ...


@dataclass(frozen=True)
class Signature:
    algorithm: str
    key_id: str
    value: str  # base64
    public_key: str | None  # base64 of the raw public key, when the signer can give it

    def record(self) -> dict[str, str | None]:
        return {
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "value": self.value,
            "public_key": self.public_key,
        }


class Ed25519Signer:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()
        self._key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> str:
        return ALGORITHM

    def sign(self, content: bytes) -> bytes:
        return self._private.sign(content)

    @classmethod
    def from_secret(cls, secret: str) -> Ed25519Signer:
        """A key derived from a secret text (as the master key is), for a deployment without a PEM."""
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"motcua-result-signing").derive(
            secret.encode()
        )
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, pem: bytes) -> Ed25519Signer:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("MOTCUA_RESULT_SIGNING_KEY_FILE must hold an Ed25519 private key (PKCS#8 PEM)")
        return cls(key)


def signer_from_env() -> Ed25519Signer | None:
    """``MOTCUA_RESULT_SIGNING_KEY_FILE`` (an Ed25519 PKCS#8 PEM) or ``MOTCUA_RESULT_SIGNING_KEY``
    (a secret text of at least 32 characters); None: results are issued unsigned."""
    path = os.environ.get("MOTCUA_RESULT_SIGNING_KEY_FILE")
    if path:
        return Ed25519Signer.from_pem(Path(path).read_bytes())
    secret = os.environ.get("MOTCUA_RESULT_SIGNING_KEY")
    if secret:
        if len(secret) < 32:
            raise ValueError("MOTCUA_RESULT_SIGNING_KEY must be at least 32 characters")
        return Ed25519Signer.from_secret(secret)
    return None


def sign(signer: ResultSigner, content: bytes) -> Signature:
    return Signature(
        algorithm=signer.algorithm,
        key_id=signer.key_id,
        value=base64.b64encode(signer.sign(content)).decode(),
        public_key=getattr(signer, "public_key", None),
    )


def verify(public_key_b64: str, signature_b64: str, content: bytes) -> bool:
    """Whether an Ed25519 signature made by ``Ed25519Signer`` holds for ``content``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64), content)
    except (InvalidSignature, ValueError):
        return False
    return True
