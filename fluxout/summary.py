"""The short failure summary printed when a followed job did not succeed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fluxout.eventlog import Redirect
from fluxout.idset import IdSet
from fluxout.status import JobInfo, signal_name


def _task_outcome(exit_ctx: dict[str, Any]) -> str | None:
    """What one shell.task-exit event says went wrong ("" when nothing)."""
    signaled = exit_ctx.get("signaled")
    if isinstance(signaled, int) and signaled > 0:
        return f"killed by signal {signaled} ({signal_name(signaled)})"
    code = exit_ctx.get("exitcode")
    if isinstance(code, int) and code != 0:
        if code > 128:
            return f"exited with status {code} ({signal_name(code - 128)})"
        return f"exited with status {code}"
    return None


def failure_summary(
    info: JobInfo, redirects: list[Redirect], code: int, has_main: bool = True
) -> list[str]:
    """Lines saying which tasks failed and how, the exceptions not shown
    already, redirected streams, for a job that exited with ``code``.

    Empty when the job succeeded. A fatal exception was printed as it came,
    as attach prints it: it is not repeated. Without the main eventlog
    (``has_main`` false) nothing is known of the job's start.
    """
    if code == 0:
        return []
    lines: list[str] = []
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for ctx in info.task_exits:
        outcome = _task_outcome(ctx)
        rank = ctx.get("rank")
        if outcome and isinstance(rank, int):
            by_outcome[outcome].append(rank)
    for outcome, ranks in sorted(by_outcome.items(), key=lambda kv: min(kv[1])):
        ids = IdSet.of(ranks)
        noun = "task" if len(ids) == 1 else "tasks"
        lines.append(f"{noun} {ids.format()} {outcome}")
    if has_main and not info.started:
        lines.append("the job never started")
    for event in info.exceptions:
        ctx = event.context
        if ctx.get("severity") == 0:
            continue  # printed when it came
        note = ctx.get("note") or ""
        lines.append(
            f"exception type={ctx.get('type', 'unknown')} severity={ctx.get('severity', '?')}"
            + (f": {note}" if note else "")
        )
    for rec in redirects:
        to = f" to {rec.path}" if rec.path else ""
        lines.append(f"{rec.stream} of {rec.ranks.format()} was redirected{to}")
    return lines
