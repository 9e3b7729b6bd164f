"""A short fault run in ``make test``: JetStream's store deleted while scoring has a backlog.

The whole system runs as separate processes (``suite.py``); nothing may be lost or doubled, and
the system must heal with no operator: the relays re-publish from PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests.faults.suite import run_suite


def test_jetstream_data_lost_with_a_backlog_heals_from_postgresql(tmp_path: Path) -> None:
    (outcome,) = run_suite(tmp_path, ["JetStream data deleted (backlog)"], rate=8, seconds=9, cut_s=0)
    assert outcome.accepted > 20
    assert outcome.converged_s is not None, outcome
    assert (outcome.lost, outcome.doubled, outcome.differences) == (0, 0, 0), outcome
    assert (outcome.server_errors, outcome.unaccepted) == (0, 0), outcome  # retried until accepted
    assert outcome.heals >= 1, outcome  # the relays saw the stream re-created and re-published
