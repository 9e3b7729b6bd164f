"""Payments' settings: the payment platforms, their callback secrets, the timeouts.

Read from the environment once at start:

* ``PAYMENT_PROVIDERS`` — ``CODE=base URL`` pairs, comma-separated (default: the simulator).
* ``PAYMENT_CALLBACK_SECRETS`` — ``CODE=secret`` pairs; during a key rotation ``CODE=new|old``
  (both accepted until the old one is removed). Required outside development; in development a
  missing secret is generated once per data folder and ``make run`` hands it to the simulator.
* ``PAYMENT_CALLBACK_TOLERANCE_S`` — how old (or early) a signed callback may be (default 300).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared.host.dev_secrets import dev_secret
from shared.host.signed_webhooks import code_pairs, partner_secrets

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR_PORT = 8108
SIMULATOR_URL = f"http://127.0.0.1:{SIMULATOR_PORT}"
DEFAULT_PROVIDER = "PAYGOV"


def dev_callback_secret(provider: str, data_dir: Path | None = None) -> str:
    """The development secret of ``provider``'s callbacks, shared by payments and the simulator."""
    folder = data_dir or Path(os.environ.get("MOTCUA_DATA_DIR") or ROOT / ".data")
    return dev_secret(folder, f"payment-callback-{provider.upper()}")


def callback_secrets(raw: str, providers: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return partner_secrets(raw, providers, "PAYMENT_CALLBACK_SECRETS", dev_callback_secret)


@dataclass(frozen=True)
class PaymentsConfig:
    providers: dict[str, str] = field(default_factory=lambda: {DEFAULT_PROVIDER: SIMULATOR_URL})
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tolerance_s: int = 300
    checkout_timeout_s: float = 5.0

    @classmethod
    def from_env(cls) -> PaymentsConfig:
        env = os.environ
        providers = code_pairs(env.get("PAYMENT_PROVIDERS", "")) or {DEFAULT_PROVIDER: SIMULATOR_URL}
        return cls(
            providers=providers,
            secrets=callback_secrets(env.get("PAYMENT_CALLBACK_SECRETS", ""), providers),
            tolerance_s=int(env.get("PAYMENT_CALLBACK_TOLERANCE_S", "300")),
            checkout_timeout_s=float(env.get("PAYMENT_CHECKOUT_TIMEOUT_S", "5")),
        )

    @property
    def default_provider(self) -> str:
        return next(iter(self.providers))
