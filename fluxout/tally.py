"""What is told of many jobs: ``+ JOB`` / ``- JOB result`` with -v, and the
summary at the end (counts by result, the jobs that failed).

The outcomes are fluxout.summary's; how the summary looks on a terminal (a
rich table) is fluxout.render.summary's. Everything goes to stderr.
"""

from __future__ import annotations

from fluxout.render.output import TextRenderer
from fluxout.render.progress import NoProgress, ProgressBar
from fluxout.render.summary import show_summary
from fluxout.status import JobInfo
from fluxout.summary import RunSummary, outcome_of

__all__ = ["Tally"]


class Tally:
    """Counts the jobs of a run as they end, and tells of them."""

    def __init__(self, out: TextRenderer, verbose: bool, summary: str, several: bool) -> None:
        self.out = out
        self.verbose = verbose
        # auto: with several jobs of a selection, or several on a terminal.
        self.mode = summary
        self.several = several
        self.summary = RunSummary()
        # --progress's bar counts the jobs as they start and end, as told here.
        self.progress: ProgressBar | NoProgress = NoProgress()

    def start(self, job: str) -> None:
        self.progress.job_started(job)
        if self.verbose:
            self.out.note(f"+ {job}", "green")
            self.out.sink.flush_stderr()  # seen as it happens, even in a pipe

    def end(self, job: str, info: JobInfo | None, status: int, failed: bool = False) -> None:
        outcome = outcome_of(job, info or JobInfo(), status, failed or info is None)
        self.summary.add(outcome)
        ok = outcome.status == 0 and outcome.result not in ("failed", "error")
        self.progress.job_done(job, 0 if ok else outcome.status or 1)
        if self.verbose:
            self.out.note(outcome.line(), "green" if ok else "red")
            self.out.sink.flush_stderr()

    def finish(self, selected: bool) -> None:
        """The summary, when it is asked for (or, auto, when it says something)."""
        mode = self.mode
        if mode == "never" or not self.summary.outcomes:
            return
        if mode == "auto":
            term = self.out.terminal
            if not (self.several and (selected or term.stderr_tty)):
                return
        show_summary(self.summary, self.out, as_json=mode == "json")
