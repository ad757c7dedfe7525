#!/usr/bin/env python3
"""Time ``fluxout cat --split`` on a job of many ranks.

Usage (from the repo root, in the dev venv):

    python bench/split.py                       # 10000 ranks x 5 lines, 3 repeats
    python bench/split.py --ranks 4 --lines 12500 --repeat 1

The eventlog is made once under --workdir (default bench/out/) with the
ranks interleaved round-robin, the worst order for a bounded set of open
files: each event is for a different file than the one before.

To compare with an older commit, run its code from an exported copy (-P:
the current directory's fluxout must not come first on sys.path):

    git archive OLD fluxout | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python bench/split.py --fluxout "python -P -m fluxout"
"""

from __future__ import annotations

import argparse
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson


def event(t: float, name: str, context: dict[str, object]) -> bytes:
    return orjson.dumps({"timestamp": t, "name": name, "context": context}) + b"\n"


def make_eventlog(path: Path, ranks: int, lines: int, stderr_every: int = 0) -> Path:
    """A header, ``lines`` data events per rank round-robin, then every eof.

    With stderr_every=K, every Kth rank also writes one stderr line each round.
    """
    count = {"stdout": ranks, "stderr": ranks}
    header = {"version": 1, "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"}}
    with path.open("wb") as f:
        f.write(event(100.0, "header", {**header, "count": count, "options": {}}))
        t = 101.0
        for line in range(lines):
            for rank in range(ranks):
                text = f"rank {rank:05d}: line {line} of some typical task output\n"
                ctx = {"stream": "stdout", "rank": str(rank), "data": text}
                f.write(event(t, "data", ctx))
                if stderr_every and rank % stderr_every == 0:
                    ctx = {"stream": "stderr", "rank": str(rank), "data": f"warn {line}\n"}
                    f.write(event(t, "data", ctx))
                t += 0.0001
        for stream in ("stdout", "stderr"):
            ctx = {"stream": stream, "rank": f"[0-{ranks - 1}]", "eof": True}
            f.write(event(t, "data", ctx))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, default=10000)
    ap.add_argument("--lines", type=int, default=5, help="lines per rank")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("bench/out"))
    ap.add_argument("--fluxout", default="fluxout", help="the command to time")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / f"split-{args.ranks}x{args.lines}.eventlog"
    if not log.exists():
        make_eventlog(log, args.ranks, args.lines)
    size = log.stat().st_size / 1e6
    dest = args.workdir / "split-dest"
    times, cpus = [], []
    for _ in range(args.repeat):
        shutil.rmtree(dest, ignore_errors=True)
        start = time.perf_counter()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [*shlex.split(args.fluxout), "cat", "--split", str(dest), str(log)], check=True
        )
        times.append(time.perf_counter() - start)
        # CPU time too: on a shared machine the wall time is mostly the neighbours'.
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
    print(
        f"{args.ranks} ranks x {args.lines} lines ({size:.1f} MB): "
        f"median {statistics.median(times):.2f} s of {args.repeat} "
        f"({', '.join(f'{t:.2f}' for t in times)}); "
        f"CPU (user+sys) median {statistics.median(cpus):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
