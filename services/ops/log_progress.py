"""Reading the whole event log into scoring's expected projection, with a progress bar."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.ops.event_log import open_logs
from services.scoring.rebuild import Projection


def read_projection(database_url: str, console: Console) -> Projection:
    projection = Projection()
    logs = open_logs(database_url)
    try:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            for log in logs:
                task = progress.add_task(f"reading {log.name}", total=log.size())
                for count, contracts in log.batches():
                    projection.add(contracts)
                    progress.advance(task, count)
            with console.status("folding dossiers"):
                projection.compute()
    finally:
        for log in logs:
            log.close()
    return projection
