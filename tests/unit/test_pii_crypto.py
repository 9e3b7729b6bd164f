"""Sealing personal data: round trip, wrong key, tampering, master keys and their rotation."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts import SealedPersonalData
from shared.pii import DataKey, KeyRing, LocalMasterKey, SealBroken, master_key_from_env
from shared.pii.master import UnknownMasterKey
from shared.pii.retention import retained_until

PERSON = {"full_name": "Trần Thị Bích Ngọc", "citizen_id": "001190012345", "address": "Số 12 Phố Huế"}
SECRET = "a-development-secret-of-at-least-32-chars"


def _key() -> DataKey:
    return DataKey(uuid.uuid4(), os.urandom(32))


def test_round_trip_and_no_clear_text_in_the_ciphertext() -> None:
    key = _key()
    sealed = KeyRing.seal(key, PERSON)
    assert KeyRing.open_with(key, sealed) == PERSON
    raw = base64.b64decode(sealed.ciphertext)
    assert b"001190012345" not in raw and PERSON["full_name"].encode() not in raw
    assert "001190012345" not in sealed.model_dump_json()
    assert KeyRing.seal(key, PERSON).ciphertext != sealed.ciphertext, "a fresh nonce every time"


def test_wrong_key_is_refused() -> None:
    sealed = KeyRing.seal(_key(), PERSON)
    other = _key()
    with pytest.raises(SealBroken):
        KeyRing.open_with(other, sealed)  # another reference
    with pytest.raises(SealBroken):
        KeyRing.open_with(DataKey(sealed.key_ref, os.urandom(32)), sealed)  # same ref, other bytes


def test_tampering_is_detected() -> None:
    key = _key()
    sealed = KeyRing.seal(key, PERSON)
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[20] ^= 0x01
    tampered = SealedPersonalData(key_ref=key.key_ref, ciphertext=base64.b64encode(bytes(raw)).decode())
    with pytest.raises(SealBroken):
        KeyRing.open_with(key, tampered)
    with pytest.raises(SealBroken):
        KeyRing.open_with(key, {"key_ref": str(key.key_ref), "ciphertext": "not base64!"})


def test_master_key_wraps_and_rotates() -> None:
    old = LocalMasterKey(SECRET)
    wrapped = old.wrap(b"k" * 32, b"context")
    assert old.unwrap(wrapped, old.key_id, b"context") == b"k" * 32
    with pytest.raises(Exception):  # noqa: B017 - InvalidTag: the context is authenticated
        old.unwrap(wrapped, old.key_id, b"another context")
    rotated = LocalMasterKey("a-brand-new-secret-for-the-master-key-2026", previous=(SECRET,))
    assert rotated.key_id != old.key_id
    assert rotated.unwrap(wrapped, old.key_id, b"context") == b"k" * 32, "old keys still unwrap"
    with pytest.raises(UnknownMasterKey):
        LocalMasterKey("a-brand-new-secret-for-the-master-key-2026").unwrap(wrapped, old.key_id, b"context")


def test_master_key_is_required_outside_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("MOTCUA_ENV", "production")
    with pytest.raises(RuntimeError, match="MOTCUA_MASTER_KEY"):
        master_key_from_env({})
    with pytest.raises(ValueError, match="32 characters"):
        master_key_from_env({"MOTCUA_MASTER_KEY": "short"})
    assert master_key_from_env({"MOTCUA_MASTER_KEY": SECRET}).key_id == LocalMasterKey(SECRET).key_id


def test_master_key_from_a_file(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "master.key")
    with open(path, "w") as f:
        f.write(SECRET + "\n")
    assert master_key_from_env({"MOTCUA_MASTER_KEY_FILE": path}).key_id == LocalMasterKey(SECRET).key_id


def test_retention_counts_from_the_latest_dossier() -> None:
    from datetime import UTC, datetime

    first, last = datetime(2020, 2, 29, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)
    assert retained_until([first, last], 10) == datetime(2034, 2, 28, tzinfo=UTC)
    assert retained_until([], 10) is None


def test_the_stored_form_is_the_models_json_and_opens() -> None:
    key = DataKey(uuid.uuid4(), AESGCM.generate_key(bit_length=256))
    person = {"full_name": "Lê Văn Tám", "citizen_id": "001090000001", "address": "Huế"}
    stored = KeyRing.sealed_json(key, person)
    assert stored == SealedPersonalData.model_validate(stored).model_dump(mode="json")
    assert set(stored) == {"key_ref", "ciphertext"} and stored["key_ref"] == str(key.key_ref)
    assert KeyRing.open_with(key, stored) == person
    assert KeyRing.open_with(key, KeyRing.seal(key, person)) == person
    assert "Tám" not in base64.b64decode(stored["ciphertext"]).decode("latin-1")


def test_the_key_cache_holds_what_was_used_lately_within_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("shared.pii.keyring.time.monotonic", lambda: clock[0])
    ring = KeyRing(LocalMasterKey(SECRET), cache_size=3, ttl_s=60.0)
    refs = [uuid.uuid4() for _ in range(4)]
    for ref in refs:
        ring._remember(ref, os.urandom(32))
    assert [ref for ref in refs if ring._cached(ref)] == refs[1:], "the least recently used went"
    clock[0] += 61.0
    fresh = uuid.uuid4()
    ring._remember(fresh, os.urandom(32))
    # The expired keys went at once, though nobody asked for them again.
    assert len(ring._cache) == 1 and ring._cached(fresh) is not None


def test_cached_keys_are_small() -> None:
    # Intake cached up to 50,000 keys; holding a cipher object each (~2.7 KB of context) grew it
    # by ~135 MB under load. Measured in a process of its own, as resident memory.
    code = (
        "import os, uuid\n"
        "from shared.pii import KeyRing, LocalMasterKey\n"
        "ring = KeyRing(LocalMasterKey('a-test-secret-of-more-than-thirty-two-characters'))\n"
        "def rss(): return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"
        "before = rss()\n"
        "for _ in range(20_000):\n"
        "    key = ring._remember(uuid.uuid4(), os.urandom(32))\n"
        "    key.aead.encrypt(os.urandom(12), b'x' * 300, b'')\n"
        "print((rss() - before) * 1024 // 20_000)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) < 1_000, f"{done.stdout.strip()} bytes per cached key"
