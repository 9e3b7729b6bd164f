"""``python -m services.payments_sim.main``: the simulator on its own port (``make run`` starts it)."""

from __future__ import annotations

import os

import uvicorn

from services.payments_sim import PORT
from services.payments_sim.app import create_app


def main() -> None:
    uvicorn.run(
        create_app(),
        host=os.environ.get("MOTCUA_HOST", "127.0.0.1"),
        port=int(os.environ.get("PAYMENT_SIM_PORT", PORT)),
        log_level="warning",
    )


if __name__ == "__main__":
    main()
