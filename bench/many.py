#!/usr/bin/env python3
"""Many jobs at once: fluxout against ``flux watch`` of the same jobs (issue 15).

Usage (from the repo root, in the dev venv, with flux-core):

    python bench/many.py --flux /opt/flux/bin/flux            # 3 repeats
    python bench/many.py --flux /opt/flux/bin/flux --repeat 5 --json bench/out/many.json

It starts its own test instance (two brokers, 256 cores faked with
resource.noverify so that every job runs at once) and runs itself inside it
(``--inside``). Three parts, each with --repeat runs:

* follow: --jobs running jobs (each writes --lines lines, one every 0.1 s),
  submitted with the queue stopped; ``fluxout follow ID...`` and
  ``flux watch ID...`` both started on them, then the queue started.
  CPU (user+sys) and wall of each, and how long after the last job's clean
  event (its ``t_inactive``) each exited. Every line is checked.
* rss: --many short jobs followed at once (the queue stopped until both
  followers watch them all): peak RSS of each (ru_maxrss).
* cat: ``fluxout cat ID...`` of those --many finished jobs against
  ``flux watch ID...`` of them: wall and CPU.

Children are timed with os.wait4 (their own rusage). The report is
Markdown on stdout (min / median of the repeats); progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
[resource]
noverify = true
path = "{work}/R.json"
"""

# Targets of issue 15.
TARGET_END = 1.0  # seconds after the last clean
TARGET_RSS = 100 << 20  # bytes
TARGET_CAT = 10.0  # times faster than flux watch


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- inside the instance ------------------------------------------------------


class Run:
    """A child whose own CPU, wall time and peak RSS are measured."""

    def __init__(self, argv: list[str], out: Path) -> None:
        self.argv = argv
        self.out = out
        self.t0 = time.time()
        with out.open("wb") as f, (out.with_suffix(".err")).open("wb") as e:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=e, stdin=subprocess.DEVNULL)

    def wait(self) -> dict[str, float]:
        _, status, usage = os.wait4(self.proc.pid, 0)
        return self.done(status, usage, time.time())

    def done(self, status: int, usage: Any, end: float) -> dict[str, float]:
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return {
            "cpu": usage.ru_utime + usage.ru_stime,
            "wall": end - self.t0,
            "end": end,
            "rss": usage.ru_maxrss * 1024.0,
            "rc": float(self.proc.returncode),
        }


def wait_all(*runs: Run) -> list[dict[str, float]]:
    """Each run's measures, each taken the moment it exits (in any order)."""
    by_pid = {run.proc.pid: run for run in runs}
    got: dict[int, dict[str, float]] = {}
    while len(got) < len(runs):
        pid, status, usage = os.wait4(-1, 0)
        if pid in by_pid:
            got[pid] = by_pid[pid].done(status, usage, time.time())
    return [got[run.proc.pid] for run in runs]


def flux(*args: str) -> str:
    return subprocess.run(
        [os.environ["FLUX_CMD"], *args], check=True, capture_output=True, text=True
    ).stdout


def submit(count: int, command: str) -> list[str]:
    out = flux("submit", f"--cc=1-{count}", "-n1", "-o", "cpu-affinity=off", "bash", "-c", command)
    return out.split()


def last_clean(ids: list[str]) -> float:
    """When the last of the jobs was cleaned up (its t_inactive)."""
    out = flux("jobs", "-n", "-o", "{t_inactive}", *ids)
    return max(float(t) for t in out.split())


def wait_watched(seconds: float) -> None:
    # Both followers have read every job's eventlog and opened its watch.
    time.sleep(seconds)


def follow_part(work: Path, fluxout: str, jobs: int, lines: int) -> dict[str, dict[str, float]]:
    flux("queue", "stop")
    command = f'for i in $(seq 1 {lines}); do echo "job line $i"; sleep 0.1; done'
    ids = submit(jobs, command)
    mine = Run([fluxout, "follow", *ids], work / "fo.out")
    theirs = Run([os.environ["FLUX_CMD"], "watch", *ids], work / "fw.out")
    wait_watched(3.0)
    flux("queue", "start")
    a, b = wait_all(mine, theirs)
    clean = last_clean(ids)
    a["after_clean"] = a["end"] - clean
    b["after_clean"] = b["end"] - clean
    got = (work / "fo.out").read_text().splitlines()
    want = jobs * lines
    if len(got) != want or a["rc"] != 0:
        raise SystemExit(f"fluxout follow: {len(got)} lines of {want}, status {a['rc']}")
    return {"fluxout": a, "flux watch": b}


def rss_part(work: Path, fluxout: str, many: int) -> tuple[dict[str, dict[str, float]], list[str]]:
    flux("queue", "stop")
    ids = submit(many, 'for i in 1 2 3 4 5; do echo "short line $i"; done')
    mine = Run([fluxout, "follow", *ids], work / "fo1000.out")
    theirs = Run([os.environ["FLUX_CMD"], "watch", *ids], work / "fw1000.out")
    wait_watched(8.0)
    flux("queue", "start")
    a, b = wait_all(mine, theirs)
    flux("queue", "drain")
    lines = len((work / "fo1000.out").read_text().splitlines())
    if lines != many * 5 or a["rc"] != 0:
        raise SystemExit(f"fluxout follow of {many}: {lines} lines of {many * 5}, status {a['rc']}")
    return {"fluxout": a, "flux watch": b}, ids


def cat_part(work: Path, fluxout: str, ids: list[str]) -> dict[str, dict[str, float]]:
    a = Run([fluxout, "cat", *ids], work / "cat.out").wait()
    b = Run([os.environ["FLUX_CMD"], "watch", *ids], work / "catw.out").wait()
    # fluxout names each job's lines (several jobs), flux watch does not.
    x = sorted(line.partition(b": ")[2] for line in (work / "cat.out").read_bytes().splitlines())
    y = sorted((work / "catw.out").read_bytes().splitlines())
    if x != y:
        raise SystemExit("fluxout cat and flux watch differ")
    return {"fluxout": a, "flux watch": b}


def cat_only(work: Path, args: argparse.Namespace) -> dict[str, list[Any]]:
    """--only cat: --many short jobs run to the end once, then cat of them
    --repeat times (without the follow and rss parts)."""
    ids = submit(args.many, 'for i in 1 2 3 4 5; do echo "short line $i"; done')
    flux("queue", "drain")
    runs = []
    for n in range(args.repeat):
        log(f"cat of {args.many} finished jobs, run {n + 1}/{args.repeat}")
        runs.append(cat_part(work, args.fluxout, ids))
        log(json.dumps(runs[-1]))
    return {"follow": [], "rss": [], "cat": runs}


def inside(args: argparse.Namespace) -> None:
    work = Path(args.work)
    if args.only == "cat":
        (work / "results.json").write_text(json.dumps(cat_only(work, args)))
        return
    results: dict[str, list[dict[str, dict[str, float]]]] = {"follow": [], "rss": [], "cat": []}
    for n in range(args.repeat):
        log(f"follow {args.jobs} jobs, run {n + 1}/{args.repeat}")
        results["follow"].append(follow_part(work, args.fluxout, args.jobs, args.lines))
        log(json.dumps(results["follow"][-1]))
        flux("queue", "drain")
    for n in range(args.repeat):
        log(f"{args.many} jobs at once, run {n + 1}/{args.repeat}")
        rss, ids = rss_part(work, args.fluxout, args.many)
        results["rss"].append(rss)
        log(json.dumps(rss))
        log(f"cat of {args.many} finished jobs, run {n + 1}/{args.repeat}")
        results["cat"].append(cat_part(work, args.fluxout, ids))
        log(json.dumps(results["cat"][-1]))
    (work / "results.json").write_text(json.dumps(results))


# -- outside ------------------------------------------------------------------


def stats(runs: list[dict[str, dict[str, float]]], who: str, key: str) -> tuple[float, float]:
    values = [run[who][key] for run in runs]
    return min(values), statistics.median(values)


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    if not results["follow"]:
        return cat_report(results, args)
    rows = [
        f"bench/many.py: {args.jobs} running jobs of {args.lines} lines; {args.many} jobs; "
        f"{args.repeat} repeats (min / median)",
        "",
        "| part | measure | fluxout | flux watch | target | met |",
        "|---|---|---|---|---|---|",
    ]

    def row(
        part: str, measure: str, key: str, scale: float, unit: str, target: str, ok: bool
    ) -> None:
        cells = []
        for who in ("fluxout", "flux watch"):
            lo, mid = stats(results[part], who, key)
            cells.append(f"{lo * scale:.2f} / {mid * scale:.2f} {unit}")
        met = "yes" if ok else "NO"
        rows.append(f"| {part} | {measure} | {cells[0]} | {cells[1]} | {target} | {met} |")

    fo_cpu = stats(results["follow"], "fluxout", "cpu")[1]
    fw_cpu = stats(results["follow"], "flux watch", "cpu")[1]
    row("follow", "CPU user+sys", "cpu", 1, "s", "≤ flux watch", fo_cpu <= fw_cpu)
    row("follow", "wall", "wall", 1, "s", "", True)
    end = stats(results["follow"], "fluxout", "after_clean")[1]
    row("follow", "exit after last clean", "after_clean", 1, "s", "≤ 1 s", end <= TARGET_END)
    rss = stats(results["rss"], "fluxout", "rss")[1]
    row("rss", "peak RSS", "rss", 1 / (1 << 20), "MiB", "< 100 MB", rss < TARGET_RSS)
    row("rss", "CPU user+sys", "cpu", 1, "s", "", True)
    fo_cat = stats(results["cat"], "fluxout", "wall")[1]
    fw_cat = stats(results["cat"], "flux watch", "wall")[1]
    row("cat", "wall", "wall", 1, "s", "≥ 10x faster", fw_cat >= TARGET_CAT * fo_cat)
    row("cat", "CPU user+sys", "cpu", 1, "s", "", True)
    rows.append("")
    rows.append(f"cat: fluxout {fw_cat / fo_cat:.1f}x faster than flux watch (median wall)")
    return "\n".join(rows)


def cat_report(results: dict[str, Any], args: argparse.Namespace) -> str:
    rows = [
        f"bench/many.py --only cat: {args.many} finished jobs; "
        f"{args.repeat} repeats (min / median)",
        "",
        "| measure | fluxout | flux watch |",
        "|---|---|---|",
    ]
    for key in ("wall", "cpu"):
        cells = []
        for who in ("fluxout", "flux watch"):
            lo, mid = stats(results["cat"], who, key)
            cells.append(f"{lo:.2f} / {mid:.2f} s")
        rows.append(f"| {key} | {cells[0]} | {cells[1]} |")
    fo_cat = stats(results["cat"], "fluxout", "wall")[1]
    fw_cat = stats(results["cat"], "flux watch", "wall")[1]
    rows.append("")
    rows.append(f"cat: fluxout {fw_cat / fo_cat:.1f}x faster than flux watch (median wall)")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flux", default=shutil.which("flux") or "/opt/flux/bin/flux")
    parser.add_argument("--fluxout", default=shutil.which("fluxout") or "fluxout")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--many", type=int, default=1000)
    parser.add_argument("--only", choices=["cat"], help="run only this part")
    parser.add_argument("--json", type=Path, help="also write the runs here")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return
    # fluxout's bytecode, as an install writes it: with PYTHONDONTWRITEBYTECODE
    # set (as in some shells) an editable fluxout would compile every module
    # at each start (0.15 s of each run).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "fluxout")],
        check=True,
        capture_output=True,
    )
    with tempfile.TemporaryDirectory(prefix="fluxout-many-") as tmp:
        work = Path(tmp)
        (work / "conf.toml").write_text(CONFIG.format(work=work))
        r = subprocess.run(
            [args.flux, "R", "encode", "--ranks=0-1", "--cores=0-127"],
            check=True,
            capture_output=True,
        )
        (work / "R.json").write_bytes(r.stdout)
        env = dict(os.environ, FLUX_CMD=args.flux)
        fluxout = os.path.abspath(args.fluxout) if os.path.exists(args.fluxout) else args.fluxout
        argv = [
            args.flux,
            "start",
            "--test-size=2",
            f"-o,--config-path={work}/conf.toml",
            sys.executable,
            str(Path(__file__).resolve()),
            "--inside",
            f"--work={work}",
            f"--fluxout={fluxout}",
            f"--repeat={args.repeat}",
            f"--jobs={args.jobs}",
            f"--lines={args.lines}",
            f"--many={args.many}",
            *([f"--only={args.only}"] if args.only else []),
        ]
        proc = subprocess.run(argv, env=env, timeout=args.timeout, cwd=work, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"the instance ended with status {proc.returncode}")
        results = json.loads((work / "results.json").read_text())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results, args))


if __name__ == "__main__":
    main()
