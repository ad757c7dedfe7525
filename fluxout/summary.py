"""The short failure summary printed when a followed job did not succeed,
and the summary of many jobs at the end of a run."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
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


# -- many jobs: each one's outcome, and the summary at the end ---------------


@dataclass(frozen=True)
class JobOutcome:
    """How one of several jobs ended, as the end summary and -v tell it."""

    job: str
    result: str  # completed, failed, canceled, timeout, running, pending, error
    status: int  # the job's exit status (attach's), else fluxout's for it
    exception: str = ""  # the first exception: "type: note"

    def line(self) -> str:
        """``- JOB result`` as -v tells a job's end (stern's ``- pod``)."""
        why = f" ({self.exception})" if self.exception else ""
        return f"- {self.job} {self.result} (exit {self.status}){why}"


def outcome_of(job: str, info: JobInfo, status: int, failed: bool = False) -> JobOutcome:
    """A job's outcome from what its eventlogs said (``failed``: fluxout
    could not read it): a job that ended is completed, failed, canceled or
    timeout as flux jobs says; one that did not is still pending or running."""
    first = info.exceptions[0].context if info.exceptions else {}
    exception = ""
    if first:
        note = first.get("note") or ""
        exception = f"{first.get('type', 'exception')}" + (f": {note}" if note else "")
    if failed:
        result = "error"
    elif info.finish_status is None and not info.exceptions and not info.clean:
        result = "running" if info.started else "pending"
    else:
        kind = str(first.get("type", "")) if first else ""
        code = info.exit_status()[0]
        if kind == "cancel":
            result = "canceled"
        elif kind == "timeout":
            result = "timeout"
        elif code != 0 or info.fatal:
            result = "failed"
        elif info.finish_status is None:
            result = "running" if info.started else "pending"
        else:
            result = "completed"
    if info.finish_status is not None and not failed:
        status = info.exit_status()[0]  # cat exits 0, yet the job's own status is known
    return JobOutcome(job, result, status, exception)


RESULT_ORDER = ("completed", "failed", "canceled", "timeout", "running", "pending", "error")


@dataclass
class RunSummary:
    """The outcomes of every job of a run, in the order they ended."""

    outcomes: list[JobOutcome] = field(default_factory=list)

    def add(self, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)

    def counts(self) -> dict[str, int]:
        found = {o.result for o in self.outcomes}
        order = [r for r in RESULT_ORDER if r in found] + sorted(found - set(RESULT_ORDER))
        return {r: sum(o.result == r for o in self.outcomes) for r in order}

    def failed(self) -> list[JobOutcome]:
        """The jobs that did not succeed, by name."""
        return [o for o in self.outcomes if o.status != 0 or o.result in ("failed", "error")]

    def lines(self) -> list[str]:
        """The summary as plain lines (stderr in a pipe)."""
        total = len(self.outcomes)
        counts = ", ".join(f"{n} {r}" for r, n in self.counts().items())
        out = [f"{total} job{'s' if total != 1 else ''}: {counts}"]
        for o in self.failed():
            why = f": {o.exception}" if o.exception else ""
            out.append(f"  {o.job} {o.result} (exit {o.status}){why}")
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "jobs": len(self.outcomes),
            "results": self.counts(),
            "failed": [
                {"job": o.job, "result": o.result, "status": o.status, "exception": o.exception}
                for o in self.failed()
            ],
        }
