"""Host labels against rank labels, side by side, on the real 1M-line job.

The job (../shared/fixtures-large) has no R and no exec eventlog: this
script gives it both (4 tasks on node1 and node2, two a node, as the
shell's taskmap [[0,2,2,1]] says) in a job directory of its own, then runs
each reader round-robin and reports wall and CPU (user + system of the
child), min and median, and peak RSS::

    python bench/hosts.py --large ../shared/fixtures-large --repeat 5

Issue 17 asks that host labels cost no more than rank labels.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

R = (
    '{"version": 1, "execution": {"R_lite": [{"rank": "0-1", "children": {"core": "0-1"}}],'
    ' "starttime": 0.0, "expiration": 0.0, "nodelist": ["node[1-2]"]}}\n'
)
EXEC = (
    '{"timestamp":1.0,"name":"init","context":{}}\n'
    '{"timestamp":1.1,"name":"shell.init","context":{"service":"x","leader-rank":0,"size":2}}\n'
    '{"timestamp":1.2,"name":"shell.start","context":{"taskmap":{"version":1,"map":[[0,2,2,1]]}}}\n'
)
FLOOR = "import sys, orjson\nfor line in open(sys.argv[1], 'rb'): orjson.loads(line)"


def job_dir(large: Path, work: Path) -> Path:
    """The 1M-line job's output eventlog, with an R and an exec eventlog."""
    job = work / "hosts-1M"
    output = job / "output.eventlog"
    if not output.exists():
        job.mkdir(parents=True, exist_ok=True)
        with lzma.open(large / "output.eventlog.xz") as f, open(output, "wb") as out:
            shutil.copyfileobj(f, out)
    (job / "R").write_text(R)
    (job / "exec.eventlog").write_text(EXEC)
    return job


# Each reader is started by this small launcher, not by this process: Linux
# keeps a forked child's peak RSS across exec, and this one has held the
# decompressed job.
LAUNCH = """
import json, os, subprocess, sys, time
cmd = json.loads(sys.argv[1])
start = time.perf_counter()
with open(os.devnull, "wb") as null:
    proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps([os.waitstatus_to_exitcode(status), wall, cpu, usage.ru_maxrss / 1024]))
"""


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one run, its stdout to /dev/null."""
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCH, json.dumps(cmd)], capture_output=True, check=True
    )
    status, wall, cpu, rss = json.loads(launched.stdout)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit status {status}")
    return wall, cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=Path, default=Path("../shared/fixtures-large"))
    parser.add_argument("--work", type=Path, default=Path("bench/out"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fluxout", default=shutil.which("fluxout") or "fluxout")
    args = parser.parse_args()
    job = job_dir(args.large, args.work)
    readers = {
        "floor: read + orjson.loads": [sys.executable, "-c", FLOOR, str(job / "output.eventlog")],
        "cat -l": [args.fluxout, "cat", "-l", str(job)],
        "cat --label-by host": [args.fluxout, "cat", "--label-by", "host", str(job)],
        "cat --label-by host-rank": [args.fluxout, "cat", "--label-by", "host-rank", str(job)],
    }
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in readers}
    for _ in range(args.repeat):
        for name, cmd in readers.items():
            runs[name].append(measure(cmd))
    floor = min(cpu for _, cpu, _ in runs["floor: read + orjson.loads"])
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.repeat} runs each")
    head = ["reader", "min wall s", "median wall s", "min CPU s", "median CPU s", "CPU vs floor"]
    print("| " + " | ".join([*head, "peak MB"]) + " |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for name, got in runs.items():
        walls, cpus = [w for w, _, _ in got], [c for _, c, _ in got]
        print(
            f"| {name} | {min(walls):.3f} | {statistics.median(walls):.3f} | {min(cpus):.3f}"
            f" | {statistics.median(cpus):.3f} | {min(cpus) / floor:.2f}x"
            f" | {max(m for _, _, m in got):.1f} |"
        )


if __name__ == "__main__":
    main()
