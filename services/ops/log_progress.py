"""Reading the whole event log into scoring's expected projection, with a status line."""

from __future__ import annotations

from rich.console import Console

from services.ops.replay_parts import project
from services.scoring.rebuild import Projection


def read_projection(database_url: str, console: Console) -> Projection:
    with console.status("reading the event stores and folding dossiers"):
        return project(database_url)
