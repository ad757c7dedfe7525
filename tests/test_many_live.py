"""Many running jobs followed in one event loop, on a real instance.

``fluxout follow JOB...`` of 200 running jobs (one connection, one reactor,
fluxout.sources.flux.loop) gives every line of every job, in order, and
exits with them; Ctrl-C while 100 jobs are followed ends it at once with
status 130, leaves the jobs running (follow detaches) and the broker well.
The instance fakes 256 cores (resource.noverify), so that every job runs
at once. Skipped without flux.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.test_integration import FLUX, in_instance

pytestmark = pytest.mark.skipif(
    not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX"
)

JOBS = 200
LINES = 10
LONG = 100

CONFIG = """
[resource]
noverify = true
path = "{work}/R.json"
"""

SCRIPT = f"""
$FLUX queue stop
$FLUX submit --cc=1-{JOBS} -n1 -o cpu-affinity=off bash -c \\
    'for i in $(seq 1 {LINES}); do echo "job {{cc}} line $i"; sleep 0.05; done' >ids
save follow fo follow $(cat ids) &
f=$!
sleep 3  # every job is followed before any runs
$FLUX queue start
wait $f

# Ctrl-C with many jobs in flight (SIGINT is ignored in a script's
# background jobs: the launcher gives fluxout the default back).
$FLUX submit --cc=1-{LONG} -n1 -o cpu-affinity=off bash -c \\
    'while :; do echo "tick {{cc}}"; sleep 0.2; done' >long
$PY -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); \\
os.execvp(sys.argv[1], sys.argv[1:])' $PY -m fluxout follow $(cat long) >int.out 2>int.err &
p=$!
until_true 60 test -s int.out
sleep 2
kill -INT $p
start=$SECONDS
wait $p
echo $? >int.rc
echo $((SECONDS - start)) >int.seconds
$FLUX jobs -no {{state}} $(cat long) | sort | uniq -c >int.states
$FLUX cancel $(cat long)
$FLUX uptime >alive
"""


def test_many_running_jobs_followed_and_interrupted(tmp_path: Path) -> None:
    (tmp_path / "conf.toml").write_text(CONFIG.format(work=tmp_path))
    encode = f"{FLUX} R encode --ranks=0-1 --cores=0-127 >{tmp_path}/R.json"
    assert os.system(encode) == 0
    proc = in_instance(tmp_path, SCRIPT, 2, 300, f"-o,--config-path={tmp_path}/conf.toml")
    broker = proc.stderr.decode(errors="replace")
    assert "Assertion" not in broker, broker
    assert proc.returncode == 0, broker
    assert (tmp_path / "alive").is_file(), broker

    # 200 jobs: every line of each, in order, named by its job.
    err = (tmp_path / "follow.err").read_text()
    assert (tmp_path / "follow.rc").read_text().strip() == "0", err
    assert not re.search(r"\bTraceback\b", err)
    ids = (tmp_path / "ids").read_text().split()
    assert len(ids) == JOBS
    got: dict[str, list[str]] = {}
    for line in (tmp_path / "follow.out").read_text().splitlines():
        job, _, text = line.partition(": ")
        got.setdefault(job, []).append(text)
    assert sorted(got) == sorted(ids)
    for job, lines in got.items():
        n = lines[0].split()[1]
        assert lines == [f"job {n} line {i}" for i in range(1, LINES + 1)], job

    # Ctrl-C: 130 at once, no traceback, whole lines only, the jobs still run.
    assert (tmp_path / "int.rc").read_text().strip() == "130"
    assert int((tmp_path / "int.seconds").read_text()) <= 2
    assert not re.search(r"\bTraceback\b", (tmp_path / "int.err").read_text())
    long = set((tmp_path / "long").read_text().split())
    for line in (tmp_path / "int.out").read_text().splitlines():
        job, _, text = line.partition(": ")
        assert job in long and re.fullmatch(r"tick \d+", text), line
    assert (tmp_path / "int.states").read_text().split() == [str(LONG), "RUN"]
