"""``python -m services.postal_sim.main``: the simulator on its own port (``make run`` starts it)."""

from __future__ import annotations

import os

import uvicorn

from services.postal_sim import PORT
from services.postal_sim.app import create_app


def main() -> None:
    uvicorn.run(
        create_app(),
        host=os.environ.get("MOTCUA_HOST", "127.0.0.1"),
        port=int(os.environ.get("POSTAL_SIM_PORT", PORT)),
        log_level="warning",
    )


if __name__ == "__main__":
    main()
