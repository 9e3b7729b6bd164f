"""Bearer tokens: what is accepted and what is refused, against a real key pair and JWKS file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.claims import ClaimMap
from shared.auth.dev_issuer import DevIssuer
from shared.auth.jwks import JwksCache, JwksUnavailable
from shared.auth.principal import Principal, Role
from shared.auth.verifier import InvalidToken, TokenVerifier
from shared.host.rate_limit import RateLimiter

ISS = "https://login.example.gov.vn/realms/tinh"


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer.in_folder(tmp_path, issuer=ISS)


def _verifier(issuer: DevIssuer, folder: Path, **kwargs: object) -> TokenVerifier:
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    return TokenVerifier(issuer=ISS, audience="motcua", jwks=JwksCache(jwks.as_uri()), **kwargs)  # type: ignore[arg-type]


async def test_a_genuine_token_gives_its_user_roles_and_unit(issuer: DevIssuer, tmp_path: Path) -> None:
    verifier = _verifier(issuer, tmp_path)
    principal = await verifier.verify(issuer.token("canbo.an", (Role.OFFICER,), "STP"))
    assert principal == Principal("canbo.an", frozenset({Role.OFFICER}), "STP")
    assert principal.actor(Role.OFFICER) == {
        "user_id": "canbo.an",
        "role": "officer",
        "agency": "STP",
        "channel": 1,
    }


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"aud": "another-app"}, "audience"),
        ({"iss": "https://evil.example/realms/x"}, "issuer"),
        ({"realm_access": {"roles": ["offline_access"]}}, "no motcua role"),
    ],
)
async def test_wrong_claims_are_refused_with_the_reason(
    issuer: DevIssuer, tmp_path: Path, claims: dict[str, object], reason: str
) -> None:
    verifier = _verifier(issuer, tmp_path)
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(issuer.token("x", (Role.OFFICER,), "STP", **claims))


async def test_a_token_without_a_unit_is_refused(issuer: DevIssuer, tmp_path: Path) -> None:
    with pytest.raises(InvalidToken, match="no unit"):
        await _verifier(issuer, tmp_path).verify(issuer.token("x", (Role.OFFICER,), ""))


async def test_a_small_clock_drift_is_tolerated(issuer: DevIssuer, tmp_path: Path) -> None:
    verifier = _verifier(issuer, tmp_path)
    drifted = issuer.token("x", (Role.OFFICER,), "STP", now=time.time() + 20)  # nbf 20 s ahead
    assert (await verifier.verify(drifted)).user_id == "x"


async def test_forged_and_downgraded_tokens_are_refused(issuer: DevIssuer, tmp_path: Path) -> None:
    verifier = _verifier(issuer, tmp_path)
    claims = {
        "iss": ISS,
        "aud": "motcua",
        "sub": "s",
        "exp": int(time.time()) + 60,
        "preferred_username": "x",
        "realm_access": {"roles": ["leader"]},
        "agency": "STP",
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(unsigned)
    # the public key used as an HMAC secret (algorithm confusion)
    public_pem = issuer.jwks()["keys"][0]["n"]
    confused = jwt.encode(claims, public_pem, algorithm="HS256", headers={"kid": issuer.kid})
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(confused)
    stranger = DevIssuer(rsa.generate_private_key(public_exponent=65537, key_size=2048), ISS)
    with pytest.raises(InvalidToken, match="key the issuer does not publish"):
        await verifier.verify(stranger.token("x", (Role.LEADER,), "STP"))
    with pytest.raises(InvalidToken, match="not a JWT"):
        await verifier.verify("not-a-token")
    tampered = issuer.token("x", (Role.OFFICER,), "STP")
    head, body, sig = tampered.split(".")
    with pytest.raises(InvalidToken):
        await verifier.verify(f"{head}.{body[:-4]}AAAA.{sig}")


async def test_a_rotated_key_is_fetched_when_a_token_names_it(tmp_path: Path) -> None:
    old = DevIssuer.in_folder(tmp_path / "old", issuer=ISS)
    new = DevIssuer.in_folder(tmp_path / "new", issuer=ISS)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(old.jwks()))
    cache = JwksCache(jwks.as_uri(), min_refetch_s=0.0)
    verifier = TokenVerifier(issuer=ISS, audience="motcua", jwks=cache)
    assert (await verifier.verify(old.token("a", (Role.OFFICER,), "STP"))).user_id == "a"
    jwks.write_text(json.dumps({"keys": old.jwks()["keys"] + new.jwks()["keys"]}))
    assert (await verifier.verify(new.token("b", (Role.OFFICER,), "STP"))).user_id == "b"


async def test_unknown_kids_do_not_refetch_on_every_request(tmp_path: Path) -> None:
    issuer = DevIssuer.in_folder(tmp_path, issuer=ISS)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    cache = JwksCache(jwks.as_uri(), min_refetch_s=3600.0)
    assert await cache.key(issuer.kid) is not None
    jwks.unlink()  # a refetch now would fail loudly: none must happen within the interval
    assert await cache.key("forged-kid-1") is None
    assert await cache.key(issuer.kid) is not None


async def test_no_keys_at_all_is_an_outage_not_a_bad_token(tmp_path: Path) -> None:
    with pytest.raises(JwksUnavailable):
        await JwksCache((tmp_path / "missing.json").as_uri()).key("k")


def test_claim_paths_and_role_names_follow_the_provider() -> None:
    claims = {"sub": "u-1", "email": "an@tinh.gov.vn", "groups": ["mc-leader", "staff"], "org": ["STP"]}
    mapping = ClaimMap(roles="groups", agency="org", user="email", role_names={"mc-leader": Role.LEADER})
    assert mapping.principal(claims) == Principal("an@tinh.gov.vn", frozenset({Role.LEADER}), "STP")


def test_the_acting_role_is_the_strongest_the_route_admits() -> None:
    both = Principal("a", frozenset({Role.FRONT_DESK, Role.OFFICER}), "STP")
    assert both.acting_role(frozenset({Role.FRONT_DESK, Role.OFFICER})) is Role.OFFICER
    assert both.acting_role(frozenset({Role.FRONT_DESK})) is Role.FRONT_DESK
    assert both.acting_role(frozenset({Role.LEADER})) is None


def test_rate_limit_allows_a_burst_then_asks_to_wait() -> None:
    limit = RateLimiter(per_minute=60, burst=3)
    for _ in range(3):
        limit.check("1.2.3.4", now=100.0)
    with pytest.raises(Exception) as refused:
        limit.check("1.2.3.4", now=100.0)
    assert getattr(refused.value, "status", None) == 429 and refused.value.headers == {"Retry-After": "1"}  # type: ignore[attr-defined]
    limit.check("5.6.7.8", now=100.0)  # another client is not affected
    limit.check("1.2.3.4", now=101.1)  # a token came back after a second
