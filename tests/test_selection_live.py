"""Selections, follow --new and jobid paths against a real instance, next
to flux jobs with the same filters (skipped without flux; each test starts
its own instance under a timeout, as tests/test_integration.py does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_integration import FLUX, in_instance, result

pytestmark = pytest.mark.skipif(not FLUX, reason="no flux command")

# fluxout's selection beside flux jobs' (or flux pgrep's) with the same meaning.
SELECTIONS = {
    "all": ("-A", "$FLUX jobs -n -o {id.f58} -a"),
    "active": ("-a", "$FLUX jobs -n -o {id.f58} -f pending,running"),
    "failed": ("-f failed", "$FLUX jobs -n -o {id.f58} -f failed"),
    "mixed": ("-f completed,running", "$FLUX jobs -n -o {id.f58} -f completed,running"),
    "count": ("-A -c 2", "$FLUX jobs -n -o {id.f58} -a -c 2"),
    "name": ("-A --name ^al", "$FLUX pgrep -a ^al"),
    "since": ("--jobs-since $since", "$FLUX jobs -n -o {id.f58} --since=$since"),
    "nobody": ("-A --user 4242", "$FLUX jobs -n -o {id.f58} -a --user=4242"),
}


def started(err: bytes) -> set[str]:
    """The jobs -v says fluxout read (``+ JOB``)."""
    return {line[2:].decode() for line in err.splitlines() if line.startswith(b"+ ")}


def test_selections_are_flux_jobs(tmp_path: Path) -> None:
    script = """
a=$($FLUX submit --job-name=alpha echo alpha-out)
$FLUX job wait-event $a clean
since=$($FLUX jobs -n -o '{t_inactive}' $a)
b=$($FLUX submit --job-name=beta sh -c 'echo beta-out; exit 3')
$FLUX job wait-event $b clean
c=$($FLUX submit --job-name=also echo also-out)
$FLUX job wait-event $c clean
r=$($FLUX submit --job-name=runner sh -c 'echo runner-out; sleep 60')
$FLUX job wait-event $r start
until_true 30 sh -c "$FLUX job eventlog -p output $r | grep -q runner-out"
"""
    for name, (mine, theirs) in SELECTIONS.items():
        script += f"save {name} fo cat -v --summary json --stream stdout {mine}\n"
        script += f"{theirs} > {name}.flux\n"
    script += "$FLUX cancel $r\n"
    proc = in_instance(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    for name in SELECTIONS:
        out, err, rc = result(tmp_path, name)
        assert rc == 0, (name, err)
        theirs = set((tmp_path / f"{name}.flux").read_text().split())
        if len(theirs) > 1:
            assert started(err) == theirs, name
        elif theirs:
            # One job: read as a job named alone (no prefix, no + line).
            assert out.rstrip(b"\n").endswith(b"-out") and started(err) <= theirs, name
        else:
            assert (out, err) == (b"", b"fluxout: no matching jobs\n"), name
    out, err, _ = result(tmp_path, "all")
    assert b'"results":{"completed":2,"failed":1,"running":1}' in err
    assert b"alpha-out\n" in out and b"runner-out\n" in out


def test_follow_new_picks_up_a_job_submitted_after_it_started(tmp_path: Path) -> None:
    script = """
set -m  # job control: the background fluxout keeps its Ctrl-C (SIGINT)
old=$($FLUX submit --job-name=old echo old-out)
$FLUX job wait-event $old clean
$PY -m fluxout follow --new -v > new.out 2> new.err < /dev/null &
pid=$!
sleep 2
late=$($FLUX submit --job-name=late sh -c 'sleep 0.5; echo late-out; exit 4')
echo $late > late.id
$FLUX job wait-event $late clean
until_true 10 grep -q "^- " new.err
kill -INT $pid
wait $pid
echo $? > new.rc
"""
    proc = in_instance(tmp_path, script, 2, 120)
    assert proc.returncode == 0, proc.stderr
    out, err, rc = result(tmp_path, "new")
    late = (tmp_path / "late.id").read_text().strip()
    assert rc == 130
    assert out == f"{late}: late-out\n".encode()  # the old job had ended: not selected
    lines = err.decode().splitlines()
    assert f"+ {late}" in lines
    assert f"- {late} failed (exit 4)" in lines
    assert "1 job: 1 failed" in lines


def test_a_jobid_path_into_a_running_batch_job(tmp_path: Path) -> None:
    (tmp_path / "batch.sh").write_text(
        "#!/bin/sh\n"
        "id=$(flux submit --job-name=inner sh -c 'echo inner-out; exit 5')\n"
        "flux submit --job-name=inner2 echo second-out >/dev/null\n"
        "flux job wait-event $id clean\n"
        "echo $id > inner.id\n"
        "sleep 120\n"
    )
    script = """
batch=$($FLUX batch -n1 --output=batch.log batch.sh)
echo $batch > batch.id
until_true 60 test -s inner.id
inner=$(cat inner.id)
save path fo follow $batch/$inner
save within fo follow -A --in $batch -v --summary json --stream stdout
$FLUX cancel $batch
"""
    proc = in_instance(tmp_path, script, 2, 120)
    assert proc.returncode == 0, proc.stderr
    batch = (tmp_path / "batch.id").read_text().strip()
    inner = (tmp_path / "inner.id").read_text().strip()
    out, err, rc = result(tmp_path, "path")
    assert (out, rc) == (b"inner-out\n", 5)
    assert err.startswith(f"fluxout: {batch}/{inner}: task(s) exited with exit code 5\n".encode())
    out, err, rc = result(tmp_path, "within")
    assert rc == 5
    assert f"{batch}/{inner}: inner-out\n".encode() in out
    assert b": second-out\n" in out
    assert f"- {batch}/{inner} failed (exit 5)".encode() in err
    assert b'"results":{"completed":1,"failed":1}' in err
