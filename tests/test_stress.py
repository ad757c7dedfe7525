"""Following hundreds of jobs at once must never harm the instance.

flux-core 0.88's kvs-watch aborts the broker (kvs-watch.c: watcher_respond:
Assertion 'nsm->commit != NULL') when two lookups of a guest namespace that
is gone arrive together, the first with FLUX_KVS_WAITCREATE: what fluxout
0.1 sent for a job that ended just as it was followed (fluxout.sources.flux.source
says what it sends now, and why that is safe).  This runs the scenario that
crashed it: several hundred short jobs submitted with the queue stopped, a
``fluxout follow`` of all of them started before they run, then the queue
started, so that many jobs end before their watches open.

Long (about 20 s a run, 10 runs), so it runs only when asked:

    FLUXOUT_TEST_STRESS=1 FLUXOUT_TEST_FLUX=/path/to/flux python -m pytest tests/test_stress.py

FLUXOUT_TEST_STRESS_RUNS and FLUXOUT_TEST_STRESS_JOBS change how many.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.test_integration import FLUX, in_instance

RUNS = int(os.environ.get("FLUXOUT_TEST_STRESS_RUNS", "10"))
JOBS = int(os.environ.get("FLUXOUT_TEST_STRESS_JOBS", "250"))
QUICK = 50  # jobs of one line, over before anything watches them
LINES = 20

pytestmark = [
    pytest.mark.skipif(
        not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX"
    ),
    pytest.mark.skipif(
        os.environ.get("FLUXOUT_TEST_STRESS") != "1",
        reason="a long stress test: set FLUXOUT_TEST_STRESS=1 to run it",
    ),
]

# 32 cores on the two brokers (resource.noverify), so that jobs end in bursts.
CONFIG = """
[resource]
noverify = true
path = "{work}/R.json"
"""

SCRIPT = f"""
$FLUX queue stop
$FLUX submit --cc=1-{JOBS} -n1 -o cpu-affinity=off bash -c \\
    'for i in $(seq 1 {LINES}); do echo "live line $i"; sleep 0.05; done' >ids
$FLUX submit --cc=1-{QUICK} -n1 -o cpu-affinity=off echo quick {{cc}} >>ids
save follow fo follow $(cat ids) &
f=$!
sleep 3  # every job is being followed before any runs
$FLUX queue start
$FLUX queue drain
wait $f
$FLUX uptime >alive
"""


@pytest.mark.parametrize("run", range(RUNS))
def test_following_hundreds_of_jobs_leaves_the_broker_alive(run: int, tmp_path: Path) -> None:
    (tmp_path / "conf.toml").write_text(CONFIG.format(work=tmp_path))
    encode = f"{FLUX} R encode --ranks=0-1 --cores=0-15 >{tmp_path}/R.json"
    assert os.system(encode) == 0
    proc = in_instance(tmp_path, SCRIPT, 2, 300, f"-o,--config-path={tmp_path}/conf.toml")
    broker = proc.stderr.decode(errors="replace")
    assert "Assertion" not in broker, broker
    assert proc.returncode == 0, broker
    assert (tmp_path / "alive").is_file(), broker
    ids = (tmp_path / "ids").read_text().split()
    assert len(ids) == JOBS + QUICK
    out = (tmp_path / "follow.out").read_text()
    assert (tmp_path / "follow.rc").read_text().strip() == "0", (
        tmp_path / "follow.err"
    ).read_text()
    got: dict[str, list[str]] = {}
    for line in out.splitlines():
        job, _, text = line.partition(": ")
        got.setdefault(job, []).append(text)
    for job in ids[:JOBS]:
        assert got.get(job) == [f"live line {n}" for n in range(1, LINES + 1)], job
    # (flux submit --cc prints the ids in the order the jobs were accepted)
    quick = sorted(text for job in ids[JOBS:] for text in got.get(job, []))
    assert quick == sorted(f"quick {n}" for n in range(1, QUICK + 1))
    assert len(got) == len(ids)
    assert not re.search(r"\bTraceback\b", (tmp_path / "follow.err").read_text())
