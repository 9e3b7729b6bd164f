"""``make faults``: every fault under load, the table written to ``results/`` and the README."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

from tests.faults.suite import FAULTS, HA_FAULTS, RESULTS, Outcome, run_suite, table

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0, help="dossiers offered a second")
    parser.add_argument("--seconds", type=float, default=30.0, help="load per fault")
    parser.add_argument("--cut-seconds", type=float, default=30.0, help="how long the link to NATS is cut")
    parser.add_argument(
        "--only", action="append", choices=[*FAULTS, *HA_FAULTS], help="run only these faults"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table, write nothing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    def report(o: Outcome) -> None:
        state = "ok" if o.ok else "FAILED"
        print(
            f"{state:6} {o.fault}: {o.accepted}/{o.offered} accepted, lost {o.lost}, doubled {o.doubled},"
            f" 503 {o.unavailable}, other 5xx {o.server_errors}, no answer {o.failed},"
            f" verify {o.differences},"
            f" converged in {o.converged_s} s, relay heals {o.heals}",
            flush=True,
        )

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="motcua-faults-") as folder:
        chosen = args.only or [*FAULTS, *HA_FAULTS]
        outcomes: list[Outcome] = []
        # The ordinary faults on one stack, the high-availability ones on a clustered stack.
        for ha, group in ((False, FAULTS), (True, HA_FAULTS)):
            faults = [name for name in chosen if name in group]
            if faults:
                outcomes += run_suite(
                    Path(folder) / ("ha" if ha else "single"),
                    faults,
                    rate=args.rate,
                    seconds=args.seconds,
                    cut_s=args.cut_seconds,
                    report=report,
                    ha=ha,
                )
    text = table(outcomes, args.rate, args.seconds)
    print(text)
    print(f"fault suite: {time.monotonic() - began:.0f} s")
    if not args.no_write:
        stamp = time.strftime("%Y-%m-%d")
        body = (
            f"Fault suite of {stamp} (`make faults`: rate {args.rate:g} dossiers/s, {args.seconds:g} s of"
            f" load per fault, the link to NATS cut for {args.cut_seconds:g} s; one system for all faults,"
            " checked after each over everything accepted so far; converged in s: from the end of the"
            " fault and of the load until every consumer is level with PostgreSQL).\n\n" + text
        )
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "faults.md").write_text(f"# Faults\n\n{body}")
        readme = README.read_text()
        if BEGIN in readme:
            readme = re.sub(f"{BEGIN}.*?{END}", f"{BEGIN}\n{body}{END}", readme, flags=re.S)
            README.write_text(readme)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
