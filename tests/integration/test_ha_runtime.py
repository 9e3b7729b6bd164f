"""The HA helpers' servers do not outlive an owner killed with -9 (a test run cut short)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.ops.devservers.ha import _reap_orphans

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys, time
from pathlib import Path
from services.ops.devservers.ha import start_nats_cluster
cluster = start_nats_cluster(Path(sys.argv[1]))
print(json.dumps([node.process.process.pid for node in cluster.nodes]), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def test_a_cluster_left_by_a_killed_owner_is_stopped_by_the_next_start(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "cluster")], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        pids = json.loads(owner.stdout.readline())
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert all(_alive(pid) for pid in pids)  # nobody stopped them: the owner had no chance
    _reap_orphans()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)
