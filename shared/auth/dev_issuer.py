"""The development identity provider: its own key pair, its JWKS, demo users per role and unit.

`make run` and the tests need tokens without an external provider. This issuer signs them the
way Keycloak does (RS256, ``kid``, ``realm_access.roles``), so the services verify them with the
same code, configuration and JWKS fetch as in production — only the issuer's URL differs.
It is refused outside development (``MOTCUA_ENV=development``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.claims import CITIZEN_UNIT
from shared.auth.principal import Role

DEV_ISSUER = "http://127.0.0.1:8100/realms/motcua"
AUDIENCE = "motcua"
KEY_FILE = "dev-issuer-key.pem"


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[Role, ...]
    agency: str
    name: str
    # identity claims a citizen's token carries (the national log-in's, named as in OIDC)
    claims: tuple[tuple[str, Any], ...] = ()


# Units are the catalogue's codes: desks (TTPVHCC, PHUONG-DT) and departments (STP, UBNDX, …).
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("tiepnhan", (Role.FRONT_DESK,), "TTPVHCC", "Nguyễn Văn An"),
    DemoUser("tiepnhan.dongthanh", (Role.FRONT_DESK,), "PHUONG-DT", "Lê Thị Hoa"),
    DemoUser("canbo.stp", (Role.OFFICER,), "STP", "Phạm Minh Tuấn"),
    DemoUser("canbo.ubndx", (Role.OFFICER,), "UBNDX", "Đỗ Thu Trang"),
    DemoUser("canbo.stc", (Role.OFFICER,), "STC", "Vũ Quốc Bảo"),
    DemoUser("canbo.sxd", (Role.OFFICER,), "SXD", "Hoàng Anh Dũng"),
    DemoUser("lanhdao.stp", (Role.LEADER,), "STP", "Trần Văn Hùng"),
    DemoUser("lanhdao.ubndx", (Role.LEADER,), "UBNDX", "Bùi Thị Lan"),
    DemoUser("lanhdao.tthcc", (Role.LEADER,), "TTPVHCC", "Ngô Đức Thắng"),
    DemoUser("vanhanh", (Role.OPS,), "TTPVHCC", "Đặng Hữu Phước"),
    DemoUser("thanhtra", (Role.AUDITOR,), "TTPVHCC", "Mai Thị Hạnh"),
    DemoUser("baove.dulieu", (Role.DPO,), "TTPVHCC", "Lý Văn Khoa"),
    # Citizens, as the national citizen log-in would present them (docs/security/identity.md).
    DemoUser(
        "congdan.ngoc",
        (Role.CITIZEN,),
        CITIZEN_UNIT,
        "Trần Thị Bích Ngọc",
        (
            ("citizen_id", "001190012345"),
            ("birthdate", "1990-03-15"),
            ("address", {"formatted": "Số 12 Phố Huế, phường Hai Bà Trưng, Hà Nội"}),
            ("phone_number", "0912345678"),
        ),
    ),
    DemoUser(
        "congdan.minh",
        (Role.CITIZEN,),
        CITIZEN_UNIT,
        "Lê Quang Minh",
        (
            ("citizen_id", "079085001234"),
            ("birthdate", "1985-07-02"),
            ("address", {"formatted": "Số 5 đường Trần Phú, phường Đông Thành"}),
        ),
    ),
)


def demo_user(username: str) -> DemoUser:
    for user in DEMO_USERS:
        if user.username == username:
            return user
    raise KeyError(username)


class DevIssuer:
    def __init__(self, key: rsa.RSAPrivateKey, issuer: str = DEV_ISSUER, audience: str = AUDIENCE) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        numbers = key.public_key().public_numbers()
        self.kid = f"dev-{numbers.n % 10**12:012d}"

    @classmethod
    def in_folder(cls, folder: Path, issuer: str = DEV_ISSUER) -> DevIssuer:
        """The issuer of a data folder: the key is made once and kept (tokens survive restarts)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / KEY_FILE
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pem)
            os.chmod(tmp, 0o600)
            tmp.replace(path)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA key")
        return cls(loaded, issuer)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(
        self,
        username: str,
        roles: tuple[Role, ...] | list[str],
        agency: str,
        *,
        name: str | None = None,
        ttl_s: int = 8 * 3600,
        now: float | None = None,
        **extra: Any,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{username}")),
            "preferred_username": username,
            "realm_access": {"roles": [str(r) for r in roles]},
            "agency": agency,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_s,
            "jti": uuid.uuid4().hex,
            **({"name": name} if name else {}),
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def token_for(self, user: DemoUser | str, **kwargs: Any) -> str:
        found = demo_user(user) if isinstance(user, str) else user
        return self.token(
            found.username, found.roles, found.agency, name=found.name, **{**dict(found.claims), **kwargs}
        )
