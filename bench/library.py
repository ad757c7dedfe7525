#!/usr/bin/env python3
"""fluxout.output against flux.job.output, side by side, on the same finished job.

Usage (from the repo root, in the dev venv, flux-core's bindings and ply
importable as for tests/test_output_live.py):

    python bench/library.py --flux /opt/flux/bin/flux            # 1M lines, 3 repeats
    python bench/library.py --flux /opt/flux/bin/flux --lines 200000

A fresh `flux start --test-size=2` instance runs this file again inside it
(--inner), which submits the jobs (4 tasks of bench/run.py's 48-byte lines:
the 1M-line job is gen.py large's output), waits for each to be clean, and
runs each of the four functions of both modules on the same finished job
of --lines lines, round-robin, --repeat rounds: job_output, output_watch,
output_watch_lines and output_event_watch. Generators are consumed the same
way on both sides: every item iterated and counted, none kept. fluxout's
generators also run on a 100k-line and a 1M-line job (their peak RSS
should not grow with the output), and fluxout.output on the saved 1M-line
eventlog, with no Flux.

Every run is its own process, started through a small launcher (a fresh
Python, so the child's ru_maxrss is its own: see bench/run.py): wall time
around the process, its CPU (user + system) and peak RSS from os.wait4(),
and the call's own wall time inside it (imports and connecting excluded).
Writes a markdown table to stdout and bench/out/library.md, and the runs
to bench/out/library.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as base  # bench/run.py: the job's lines, the saved 1M job

REPO = base.REPO
FUNCS = ("job_output", "output_watch", "output_watch_lines", "output_event_watch")
GENERATORS = FUNCS[1:]
MODULES = {"flux": "flux.job.output", "fluxout": "fluxout.output"}
TARGET = 20.0  # fluxout at least this many times faster (issue 14)

# The launcher: argv[1] the fd to report on, the rest the reader. It reports
# "wall maxrss_kb cpu_s exitcode" of the reader, which it spawns without
# that fd.
LAUNCHER_CODE = (
    "import os, sys, time\n"
    "fd = int(sys.argv[1])\n"
    "argv = sys.argv[2:]\n"
    "t = time.perf_counter()\n"
    "pid = os.posix_spawn(argv[0], argv, os.environ,"
    " file_actions=[(os.POSIX_SPAWN_CLOSE, fd)])\n"
    "_, status, ru = os.wait4(pid, 0)\n"
    "wall = time.perf_counter() - t\n"
    "os.write(fd, b'%r %d %r %d' % (wall, ru.ru_maxrss,"
    " ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)))\n"
)

# One call of one function of one module; prints "call_wall count".
# job_output's count is the characters of stdout + stderr + log; a
# generator's is the items it gave, each dropped as soon as it is counted.
CHILD_CODE = """\
import sys, time
module, func, job, live = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "live"
handle = None
if module == "flux" or live:
    from fluxout.sources.flux.bindings import import_flux
    flux = import_flux("bench")
    handle = flux.Flux()
if module == "flux":
    from flux.job import output as m
else:
    from fluxout import output as m
fn = getattr(m, func)
t = time.perf_counter()
if func == "job_output":
    out = fn(handle, job)
    count = len(out.stdout) + len(out.stderr) + len(out.log)
    del out
else:
    count = 0
    for _ in fn(handle, job):
        count += 1
wall = time.perf_counter() - t
print(repr(wall), count)
"""


@dataclass
class Run:
    wall: float  # the process, from spawn to exit
    call: float  # the call alone, inside it
    cpu: float  # user + system of the process
    maxrss_kb: int
    count: int
    rc: int
    err: str = ""


@dataclass
class Case:
    """One function of one module on one job."""

    module: str  # "flux" or "fluxout"
    func: str
    job: str  # jobid, or the saved eventlog's path
    lines: int
    where: str  # "live" or "saved"
    runs: list[Run] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{MODULES[self.module]}.{self.func}"

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if r.rc == 0]

    def stat(self, what: str, how: str = "median") -> float:
        values = [getattr(r, what) for r in self.ok]
        if not values:
            return float("nan")
        return min(values) if how == "min" else statistics.median(values)

    @property
    def peak_mb(self) -> float:
        return max((r.maxrss_kb for r in self.ok), default=0) / 1024


def run_once(case: Case, python: str, workdir: Path, timeout: float) -> Run:
    """The case once, through the launcher, with a timeout."""
    report_r, report_w = os.pipe()
    out_path, err_path = workdir / "library-child.out", workdir / "library-child.err"
    argv = [python, "-c", CHILD_CODE, case.module, case.func, case.job, case.where]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [python, "-I", "-S", "-c", LAUNCHER_CODE, str(report_w), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            pass_fds=(report_w,),
            env=base.child_env(),
            start_new_session=True,  # on a timeout its group (launcher, reader) is ended
        )
        os.close(report_w)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            os.close(report_r)
            return Run(timeout, 0, 0, 0, 0, -9, f"timed out after {timeout:.0f}s")
    report = os.read(report_r, 4096)
    os.close(report_r)
    try:
        wall_s, rss_s, cpu_s, rc_s = report.split()
        call_s, count_s = out_path.read_text().split()
        return Run(float(wall_s), float(call_s), float(cpu_s), int(rss_s), int(count_s), int(rc_s))
    except ValueError:
        lines = err_path.read_text(errors="replace").strip().splitlines()
        return Run(0, 0, 0, 0, 0, proc.returncode or 1, lines[-1][:200] if lines else "no output")


def run_rounds(
    cases: list[Case],
    repeat: int,
    python: str,
    workdir: Path,
    timeout: float,
    after_round: Callable[[], None] | None = None,
) -> None:
    for rnd in range(1, repeat + 1):
        for case in cases:
            if case.runs and not case.ok:
                continue  # failed once: reported, not re-run
            r = run_once(case, python, workdir, timeout)
            case.runs.append(r)
            status = (
                f"{r.wall:8.2f}s wall {r.call:8.2f}s call {r.cpu:8.2f}s cpu "
                f"{r.maxrss_kb / 1024:7.1f} MB  {r.count} items"
                if r.rc == 0
                else f"FAILED rc={r.rc}: {r.err}"
            )
            base.note(
                f"[{rnd}/{repeat}] {case.where} {base.human_count(case.lines):>5} {case.name:<36} "
                f"{status}"
            )
        if after_round is not None:
            after_round()


# ---------------------------------------------------------------- inside the instance


def submit(flux: str, lines: int, workdir: Path) -> tuple[str, float]:
    """A finished job of `lines` lines (4 tasks), as bench/run.py submits it."""
    script = workdir / "livegen.py"
    script.write_text(base.LIVE_GEN_CODE)
    for attempt in range(1, 4):
        job = ["python3", str(script), str(lines // 4)]
        jobid, took, result = base.submit_finished(flux, workdir, job)
        if result == "COMPLETED":
            base.note(f"job {jobid}: {base.human_count(lines)} lines, {took:.1f}s submit to clean")
            return jobid, took
        base.note(f"job {jobid} (attempt {attempt}) ended {result}: submitted again")
    raise SystemExit(f"library bench: a {lines}-line job did not complete in 3 attempts")


def inner(args: argparse.Namespace) -> int:
    """Submit the jobs, then run the live cases round-robin; write them as JSON."""
    sizes = sorted({args.lines, *args.flat})
    jobs = {n: submit(args.flux, n, args.workdir) for n in sizes}
    cases = []
    for func in args.funcs:
        for module in MODULES:
            cases.append(Case(module, func, jobs[args.lines][0], args.lines, "live"))
    for n in args.flat:
        if n != args.lines:
            gens = [f for f in args.funcs if f in GENERATORS]
            cases += [Case("fluxout", f, jobs[n][0], n, "live") for f in gens]

    def write() -> None:  # after each round: a run cut short keeps its rounds
        out = {
            "jobs": {str(n): {"jobid": j, "submit_to_clean_s": t} for n, (j, t) in jobs.items()},
            "cases": [asdict(c) for c in cases],
        }
        Path(args.inner).write_text(json.dumps(out, indent=1) + "\n")

    run_rounds(cases, args.repeat, sys.executable, args.workdir, args.timeout, write)
    return 0


PROGRESS = re.compile(
    r"\[\d+/\d+\] live +(\S+) (flux\.job\.output|fluxout\.output)\.(\w+) +"
    r"([\d.]+)s wall +([\d.]+)s call +([\d.]+)s cpu +([\d.]+) MB +(\d+) items"
)
JOB = re.compile(r"job (\S+): (\S+) lines, ([\d.]+)s submit to clean")


def from_progress(log: Path) -> dict[str, Any]:
    """The live cases of a run cut short (killed), read back from its progress log."""
    units = {"k": 1_000, "M": 1_000_000}
    jobs: dict[str, dict[str, Any]] = {}
    cases: dict[tuple[str, str, int], Case] = {}
    for line in log.read_text(errors="replace").splitlines():
        if m := JOB.search(line):
            n = int(float(m[2][:-1]) * units[m[2][-1]])
            jobs[str(n)] = {"jobid": m[1], "submit_to_clean_s": float(m[3])}
        elif m := PROGRESS.search(line):
            n = int(float(m[1][:-1]) * units[m[1][-1]])
            module = "flux" if m[2] == "flux.job.output" else "fluxout"
            case = cases.setdefault(
                (module, m[3], n), Case(module, m[3], jobs[str(n)]["jobid"], n, "live")
            )
            kb = int(float(m[7]) * 1024)
            run = Run(float(m[4]), float(m[5]), float(m[6]), kb, int(m[8]), 0)
            case.runs.append(run)
    return {"jobs": jobs, "cases": [asdict(c) for c in cases.values()]}


# ---------------------------------------------------------------- outside


def live(args: argparse.Namespace) -> dict[str, Any]:
    """This file again inside `flux start --test-size=2`, with a timeout."""
    result = args.workdir / "library-live.json"
    result.unlink(missing_ok=True)
    log = args.workdir / "library-broker.log"
    argv = [args.flux, "start", "--test-size=2", sys.executable, str(Path(__file__).resolve())]
    argv += ["--inner", str(result), "--workdir", str(args.workdir), "--flux", args.flux]
    argv += ["--lines", str(args.lines), "--repeat", str(args.repeat)]
    argv += ["--timeout", str(args.timeout), "--flat", ",".join(map(str, args.flat))]
    argv += ["--funcs", ",".join(args.funcs)]
    base.note(f"live: {' '.join(argv[:3])} ... ({args.repeat} rounds)")
    with open(log, "wb") as f:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        for raw in proc.stderr:  # the inner progress, teed
            f.write(raw)
            sys.stderr.buffer.write(raw)
            sys.stderr.flush()
        try:
            proc.wait(args.instance_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if not result.exists():
        raise SystemExit(f"library bench: the instance failed (rc={proc.returncode}), see {log}")
    data: dict[str, Any] = json.loads(result.read_text())
    return data


def load(cases: list[dict[str, Any]]) -> list[Case]:
    out = []
    for c in cases:
        runs = [Run(**r) for r in c.pop("runs")]
        out.append(Case(**c, runs=runs))
    return out


def fmt_s(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def table(cases: list[Case], repeat: int, flat: tuple[int, int]) -> list[str]:
    """The markdown report: the ratios, the flatness, the saved path."""
    by = {(c.where, c.lines, c.module, c.func): c for c in cases}
    ratio_n = next(c.lines for c in cases if c.module == "flux")
    n = base.human_count(ratio_n)
    counts = sorted({len(c.ok) for c in cases if c.where == "live" and c.lines == ratio_n})
    runs = f"{counts[0]} rounds" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} runs each"
    md = [
        f"Same finished {n}-line job (4 tasks, 48-byte lines), live, {runs} "
        "round-robin; median (min) of each. wall: the process (Python start, "
        "imports, connecting and the call); call: the call alone; CPU: user + "
        "system; RSS: peak of the process. Ratio: flux.job.output's median wall / "
        "fluxout.output's.",
        "",
        "| function | flux.job.output wall s | CPU s | RSS MB | fluxout.output wall s "
        "| call s | CPU s | RSS MB | ratio wall (call) | ratio CPU | 20x (wall) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for func in FUNCS:
        theirs, ours = (
            by.get(("live", ratio_n, "flux", func)),
            by.get(("live", ratio_n, "fluxout", func)),
        )
        if theirs is None or ours is None:
            continue  # a run cut short before this one
        ratio = theirs.stat("wall") / ours.stat("wall")
        ratio_call = theirs.stat("call") / ours.stat("call")
        ratio_cpu = theirs.stat("cpu") / ours.stat("cpu")
        md.append(
            f"| {func} | {fmt_s(theirs.stat('wall'))} ({fmt_s(theirs.stat('wall', 'min'))}) "
            f"| {fmt_s(theirs.stat('cpu'))} | {theirs.peak_mb:.0f} "
            f"| {fmt_s(ours.stat('wall'))} ({fmt_s(ours.stat('wall', 'min'))}) "
            f"| {fmt_s(ours.stat('call'))} | {fmt_s(ours.stat('cpu'))} | {ours.peak_mb:.0f} "
            f"| {ratio:.0f}x ({ratio_call:.0f}x) | {ratio_cpu:.0f}x "
            f"| {'yes' if ratio >= TARGET else 'NO'} |"
        )
        if theirs.ok and ours.ok and theirs.ok[0].count != ours.ok[0].count:
            md.append(f"| ↳ items | {theirs.ok[0].count} | | | {ours.ok[0].count} | | | | | | |")
    small, big = flat
    rows = []
    for func in GENERATORS:
        a, b = by.get(("live", small, "fluxout", func)), by.get(("live", big, "fluxout", func))
        if a is None or b is None or small == big:  # --flat N,N: no flatness check
            continue
        rows.append(
            f"| {func} | {a.peak_mb:.0f} MB ({fmt_s(a.stat('wall'))} s) "
            f"| {b.peak_mb:.0f} MB ({fmt_s(b.stat('wall'))} s) "
            f"| {b.peak_mb - a.peak_mb:+.0f} MB |"
        )
    if rows:
        md += [
            "",
            f"fluxout.output's generators, live: peak RSS of the process on a "
            f"{base.human_count(small)}-line and a {base.human_count(big)}-line job "
            "(median wall in brackets).",
            "",
            f"| generator | {base.human_count(small)} lines | {base.human_count(big)} lines "
            "| growth |",
            "| --- | ---: | ---: | ---: |",
            *rows,
        ]
    saved = [c for c in cases if c.where == "saved"]
    if saved:
        md += [
            "",
            f"fluxout.output on the saved {base.human_count(saved[0].lines)}-line eventlog "
            "(`jobid` a path, handle None: no Flux).",
            "",
            "| function | wall s | call s | CPU s | RSS MB |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for c in saved:
            md.append(
                f"| {c.func} | {fmt_s(c.stat('wall'))} ({fmt_s(c.stat('wall', 'min'))}) "
                f"| {fmt_s(c.stat('call'))} | {fmt_s(c.stat('cpu'))} | {c.peak_mb:.0f} |"
            )
    failed = [f"{c.where} {c.name}: {c.runs[-1].err}" for c in cases if c.runs and not c.ok]
    if failed:
        md += ["", *(f"FAILED: {f}" for f in failed)]
    return md


def _funcs(text: str) -> tuple[str, ...]:
    funcs = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in funcs if f not in FUNCS]
    if unknown or not funcs:
        raise argparse.ArgumentTypeError(f"not one of {', '.join(FUNCS)}: {', '.join(unknown)}")
    return funcs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--flux", default=base.find_flux(None), help="the flux command")
    p.add_argument(
        "--lines",
        type=int,
        default=1_000_000,
        help="lines of the job both modules read (default 1000000)",
    )
    p.add_argument(
        "--flat",
        type=lambda s: tuple(int(x) for x in s.split(",", 1)),
        default=(100_000, 1_000_000),
        help="the two job sizes of the flatness check (default 100000,1000000)",
    )
    p.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    p.add_argument(
        "--funcs",
        type=_funcs,
        default=FUNCS,
        help="the functions to run, comma-separated (default all four)",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per run (default 1800)")
    p.add_argument(
        "--instance-timeout", type=float, default=4 * 3600, help="seconds for the whole instance"
    )
    p.add_argument(
        "--large",
        type=Path,
        default=REPO.parent / "shared" / "fixtures-large",
        help="the real 1M-line job, for the saved path (default ../shared/fixtures-large)",
    )
    p.add_argument("--workdir", type=Path, default=REPO / "bench" / "out")
    p.add_argument("--json", type=Path, help="default: WORKDIR/library.json")
    p.add_argument(
        "--live-result",
        type=Path,
        help="the live cases of an earlier run (its WORKDIR/library-live.json): no instance",
    )
    p.add_argument(
        "--progress",
        type=Path,
        help="the live cases read back from the progress log (stderr) of a run cut short",
    )
    p.add_argument("--inner", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.inner:
        return inner(args)
    if not args.flux:
        raise SystemExit("library bench: needs flux (on PATH, or --flux PATH)")
    started = time.time()
    if args.progress:
        data = from_progress(args.progress)
    elif args.live_result:
        data = json.loads(args.live_result.read_text())
    else:
        data = live(args)
    cases = load(data["cases"])
    fluxout_cmd = str(Path(sys.executable).parent / "fluxout")
    large = base.prepare_large(args.large, args.workdir, fluxout_cmd)
    if large is not None:
        saved = [Case("fluxout", f, str(large.path), large.lines, "saved") for f in args.funcs]
        run_rounds(saved, args.repeat, sys.executable, args.workdir, args.timeout)
        cases += saved
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    md = table(cases, args.repeat, args.flat)
    md += [
        "",
        f"`python bench/library.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
        f"at {commit}, {time.time() - started:.0f}s in all; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}.",
    ]
    text = "\n".join(md) + "\n"
    (args.workdir / "library.md").write_text(text)
    out = {
        "commit": commit,
        "argv": argv if argv is not None else sys.argv[1:],
        "repeat": args.repeat,
        "jobs": data["jobs"],
        "cases": [asdict(c) for c in cases],
    }
    (args.json or args.workdir / "library.json").write_text(json.dumps(out, indent=1) + "\n")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
