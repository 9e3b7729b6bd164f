"""Personal data protection: per-subject encryption (crypto-shredding), access log, erasure.

The applicant part of every contract is sealed with AES-256-GCM under a data key per data
subject (a citizen, recognised by a keyed hash of the CCCD); the data keys are kept wrapped by
a master key (``master.py``) in the ``pii`` schema (``keyring.py``). Erasing a subject's key
makes every copy of their data unreadable: stored events, JetStream, dead letters, backups.
"""

from shared.pii.keyring import ERASED, UNREADABLE, DataKey, KeyRing, SealBroken, is_sealed, placeholder
from shared.pii.master import LocalMasterKey, MasterKey, master_key_from_env

__all__ = [
    "ERASED",
    "UNREADABLE",
    "DataKey",
    "KeyRing",
    "LocalMasterKey",
    "MasterKey",
    "SealBroken",
    "is_sealed",
    "master_key_from_env",
    "placeholder",
]
