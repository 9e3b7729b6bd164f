"""Microbenchmark: the CPU that personal-data encryption adds per dossier at intake.

``python -m bench.pii_cost`` measures, in process and without I/O, what the group commit does
per dossier: the subject's keyed hash, a new data key wrapped by the master key, unwrapping it
(as the batch's RETURNING hands it back), sealing the applicant; and, for comparison, a read
(opening with a cached key). The database statement itself (one per batch, in the transaction
the codes are allocated in) is part of ``make bench``'s end-to-end figure, not of this one.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts import PersonalData
from shared.pii import DataKey, KeyRing, LocalMasterKey
from shared.pii.keyring import _context

PERSON = PersonalData(
    full_name="Trần Thị Bích Ngọc",
    citizen_id="001190012345",
    phone="0912345678",
    address="Số 12 Phố Huế, phường Hai Bà Trưng, Hà Nội",
)


def per_dossier_us(n: int) -> dict[str, float]:
    master = LocalMasterKey("bench-master-key-0123456789-abcdefghijkl")
    ring = KeyRing(master)
    ring._index_key = os.urandom(32)  # what start() loads from the database

    def timed(step: object) -> float:
        started = time.process_time()
        for _ in range(n):
            step()  # type: ignore[operator]
        return (time.process_time() - started) / n * 1e6

    ref = uuid.uuid4()
    subject = ring.subject_of("cccd", PERSON.citizen_id)
    wrapped = master.wrap(os.urandom(32), _context(ref, subject))
    key = DataKey(ref, os.urandom(32))
    sealed = KeyRing.seal(key, PERSON.model_dump(mode="json"))
    results = {
        "subject hash": timed(lambda: ring.subject_of("cccd", PERSON.citizen_id)),
        "new data key + wrap": timed(lambda: master.wrap(os.urandom(32), _context(ref, subject))),
        "unwrap": timed(lambda: AESGCM(master.unwrap(wrapped, master.key_id, _context(ref, subject)))),
        "seal applicant": timed(
            lambda: KeyRing.seal(key, PERSON.model_dump(mode="json")).model_dump(mode="json")
        ),
    }
    results["total per new dossier"] = sum(results.values())
    results["open (read, cached key)"] = timed(lambda: KeyRing.open_with(key, sealed))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20_000)
    args = parser.parse_args()
    for name, us in per_dossier_us(args.n).items():
        print(f"{name:<26} {us:8.1f} µs")


if __name__ == "__main__":
    main()
