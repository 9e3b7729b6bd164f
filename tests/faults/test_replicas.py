"""A short run of two replicas of every service in ``make test`` (the full one: ``make faults``).

Two processes of each service share one NATS and one PostgreSQL; the same request with the same
key goes to both intakes at once; under load, the replica of each service holding its relay's
lock is killed with -9 (``replicas.py``).
"""

from __future__ import annotations

from pathlib import Path

from tests.faults.replicas import run_replicas


def test_two_replicas_of_every_service_one_of_each_killed(tmp_path: Path) -> None:
    outcome = run_replicas(tmp_path, rate=8, seconds=9, pairs=4)
    assert outcome.notes == "", outcome
    assert outcome.accepted > 40, outcome
    assert outcome.converged_s is not None, outcome
    # Every pair with one key at both intakes came out as one dossier.
    assert (outcome.pairs, outcome.pairs_split) == (4, 0), outcome
    assert (outcome.lost, outcome.doubled, outcome.unexplained, outcome.differences) == (0, 0, 0, 0), outcome
    # What the killed intake never answered was answered by the other, under the same keys.
    assert outcome.retried == outcome.failed, outcome
    assert outcome.server_errors == 0, outcome
    assert len(outcome.killed) == 4, outcome
    # The relays held by the killed replicas are held by the survivors, in a new term.
    assert outcome.lock_moved, outcome
    for service in ("intake", "processing", "postal"):
        before, after, terms_before, terms_after = outcome.moves[f"{service}/relay"]
        assert before in outcome.killed and after not in outcome.killed and terms_after > terms_before, (
            outcome
        )
