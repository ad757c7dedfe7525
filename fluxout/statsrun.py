"""The stats command: each JOB's source -> JobStats -> the stats renderer.

As ``run`` (fluxout.watch) does for cat: an error about one job is its one
line (status 1), and the other jobs are still shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fluxout.exit import ExitStatus
from fluxout.render.output import Output
from fluxout.render.sink import Sink
from fluxout.render.stats import StatsRenderer
from fluxout.render.terminal import Terminal
from fluxout.stats import read_stats

if TYPE_CHECKING:
    from fluxout.watch import Request


def run_stats(req: Request, terminal: Terminal | None = None) -> int:
    """Read every job of the request and write its rows; the worst status wins."""
    from fluxout.sources.target import open_target
    from fluxout.watch import _job_failed, job_label, job_short_name

    term = terminal if terminal is not None else Terminal.from_process()
    output = Output(
        term,
        Sink(term.stdout, term.stderr, term.shared),
        term.color(req.color),
        flush_each_batch=term.stdout_tty,
        escape=term.escapes(),
    )
    out = StatsRenderer(output, req.json, several=len(req.jobs) > 1)
    worst: int = ExitStatus.SUCCESS
    try:
        for arg in req.jobs:
            try:
                source = open_target(arg, req.uri, term.stdin)
                label = job_label(source, arg)
                result, errors = read_stats(source, label, req.tasks, req.streams, out.warning)
                result.job = arg  # as lines --json names it
                result.short = job_short_name(arg)
            except Exception as exc:
                worst = max(worst, _job_failed(exc, arg, out, req.debug))
                continue
            out.job(result)
            if errors:
                worst = max(worst, ExitStatus.ERROR)
        out.finish()
    finally:
        out.close()
    return worst
