"""``make faults``: every fault under load, the table written to ``results/`` and the README."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

from tests.faults.replicas import HEADER, run_replicas
from tests.faults.suite import FAULTS, HA_FAULTS, RESULTS, Outcome, run_suite, table

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"
REPLICAS_BEGIN, REPLICAS_END = "<!-- replicas:begin -->", "<!-- replicas:end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0, help="dossiers offered a second")
    parser.add_argument("--seconds", type=float, default=30.0, help="load per fault")
    parser.add_argument("--cut-seconds", type=float, default=30.0, help="how long the link to NATS is cut")
    parser.add_argument(
        "--only", action="append", choices=[*FAULTS, *HA_FAULTS], help="run only these faults"
    )
    parser.add_argument("--logs", type=Path, help="copy the services' logs to this folder at the end")
    parser.add_argument("--no-write", action="store_true", help="print the table, write nothing")
    parser.add_argument(
        "--replicas",
        choices=("also", "only", "no"),
        default="also",
        help="two replicas of every service, the relay holders killed (-9), on a system of its own",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    def report(o: Outcome) -> None:
        state = "ok" if o.ok else "FAILED"
        print(
            f"{state:6} {o.fault}: {o.accepted}/{o.offered} accepted, lost {o.lost}, doubled {o.doubled},"
            f" 5xx {o.server_errors}, 503 {o.unavailable}, no answer {o.failed}, accepted after retry"
            f" {o.retried}, not accepted {o.unaccepted}, verify {o.differences},"
            f" converged in {o.converged_s} s, relay heals {o.heals}; {o.notes}",
            flush=True,
        )

    began = time.monotonic()
    ok = True
    if args.replicas != "no":
        ok = replicas(args.rate, args.seconds, write=not args.no_write)
    if args.replicas == "only":
        return 0 if ok else 1
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
                    keep_logs=args.logs,
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
            " fault and of the load until every consumer is level with PostgreSQL). Like a real client,"
            " the load sends a request that got no answer, a 503 or a 409 `request_in_progress` again"
            " with the same Idempotency-Key until it is accepted (for at most 90 s): *503 + Retry-After*"
            " and *no answer* count requests that met that at least once, *accepted after retry* those"
            " then stored, *not accepted* what was handed in and never stored; *5xx (not 503)* would be"
            " a bug.\n\n" + text
        )
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "faults.md").write_text(f"# Faults\n\n{body}")
        readme = README.read_text()
        if BEGIN in readme:
            readme = re.sub(f"{BEGIN}.*?{END}", f"{BEGIN}\n{body}{END}", readme, flags=re.S)
            README.write_text(readme)
    return 0 if ok and all(o.ok for o in outcomes) else 1


def replicas(rate: float, seconds: float, *, write: bool) -> bool:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="motcua-replicas-") as folder:
        outcome = run_replicas(Path(folder), rate=rate, seconds=seconds)
    print(f"{'ok' if outcome.ok else 'FAILED':6} {outcome}", flush=True)
    text = HEADER + outcome.row(rate, seconds) + "\n"
    print(text)
    print(f"replicas: {time.monotonic() - began:.0f} s")
    if write:
        body = (
            f"Replicas run of {time.strftime('%Y-%m-%d')} (`make faults`: two processes of each service on"
            f" one NATS and one PostgreSQL, rate {rate:g} dossiers/s for {seconds:g} s over the intakes"
            " running, the replica of each service holding its relay's lock killed with -9 a third of the"
            " way in (scoring: its first); the requests left unanswered sent again with their keys; before"
            f" the load, {outcome.pairs} requests each sent with one key to both intakes at once;"
            " doubled counts the pairs that made two dossiers too).\n\n" + text
        )
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "replicas.md").write_text(f"# Replicas\n\n{body}")
        readme = README.read_text()
        if REPLICAS_BEGIN in readme:
            readme = re.sub(
                f"{REPLICAS_BEGIN}.*?{REPLICAS_END}",
                f"{REPLICAS_BEGIN}\n{body}{REPLICAS_END}",
                readme,
                flags=re.S,
            )
            README.write_text(readme)
    return outcome.ok


if __name__ == "__main__":
    sys.exit(main())
