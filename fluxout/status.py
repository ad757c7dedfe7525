"""A job's life as the main and exec eventlogs tell it, and its exit status.

The exit status is the one ``flux job attach`` returns for the job, so that
``fluxout follow`` can replace attach in scripts.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from typing import Any

from fluxout.eventlog import Event
from fluxout.exit import ExitStatus
from fluxout.jobid import jobid_of_service

# Events of the main eventlog after which a job will never run.
_TERMINAL = ("finish", "clean")
# The job is running once the shells have been started.
_STARTED = ("start",)


def signal_name(signum: int) -> str:
    """strsignal(3) text ("Killed", "Terminated") as flux prints it."""
    try:
        text = signal.strsignal(signum)
    except (ValueError, OverflowError):
        text = None
    return text or f"Unknown signal {signum}"


def waitstatus_to_exitcode(status: int) -> tuple[int, str]:
    """flux_job_waitstatus_to_exitcode(): the exit code and attach's message."""
    if not 0 <= status < 1 << 31:  # no wait(2) status (a C int) is that
        return ExitStatus.ERROR, f"unexpected wait(2) status {status}"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return sig + 128, f"job shell {signal_name(sig)}"
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code > 128:
            return code, f"task(s) {signal_name(code - 128)}"
        if code > 0:
            return code, f"task(s) exited with exit code {code}"
        return ExitStatus.SUCCESS, ""
    return ExitStatus.ERROR, f"unexpected wait(2) status {status}"


@dataclass
class JobInfo:
    """What the main and exec eventlogs say about a job, fed event by event."""

    submit_time: float | None = None
    start_time: float | None = None
    state_event: str | None = None
    exceptions: list[Event] = field(default_factory=list)
    finish_status: int | None = None
    clean: bool = False
    task_exits: list[dict[str, Any]] = field(default_factory=list)
    # The exec eventlog's complete event: the wait status of the job's
    # shells, the one the main eventlog's finish event repeats.
    complete_status: int | None = None
    jobid: str | None = None  # as the exec eventlog's shell.init names it

    def feed_main(self, event: Event) -> None:
        if self.submit_time is None:
            self.submit_time = event.timestamp
        self.state_event = event.name
        if event.name == "start":
            self.start_time = event.timestamp
        elif event.name == "exception":
            self.exceptions.append(event)
        elif event.name == "finish":
            status = event.context.get("status")
            if isinstance(status, int) and not isinstance(status, bool):
                self.finish_status = status
        elif event.name == "clean":
            self.clean = True

    def feed_exec(self, event: Event) -> None:
        if event.name == "shell.task-exit":
            self.task_exits.append(event.context)
        elif event.name == "complete":
            status = event.context.get("status")
            if isinstance(status, int) and not isinstance(status, bool):
                self.complete_status = status
        elif event.name == "shell.init" and self.jobid is None:
            service = event.context.get("service")
            if isinstance(service, str):
                self.jobid = jobid_of_service(service)

    @property
    def started(self) -> bool:
        return self.start_time is not None

    @property
    def fatal(self) -> bool:
        return any(e.context.get("severity") == 0 for e in self.exceptions)

    def exit_status(self) -> tuple[int, str]:
        """attach's exit status and its "flux-job:" message ("" when none).

        As attach: the code from the finish event's wait status; 1 when the
        job never finished (canceled before it ran) or had a fatal exception
        yet exited 0.
        """
        code: int = ExitStatus.ERROR
        message = ""
        if self.finish_status is not None:
            code, message = waitstatus_to_exitcode(self.finish_status)
        if self.fatal and code == ExitStatus.SUCCESS:
            code = ExitStatus.ERROR
        return code, message

    def exec_exit_status(self) -> tuple[int, str] | None:
        """attach's exit status as the exec eventlog alone tells it (a saved
        job without its main eventlog), or None when it cannot.

        The exec eventlog's complete event holds the wait status that the
        finish event repeats. A fatal exception is told in the main
        eventlog only: a job that had one and still exited 0 (1 to attach)
        is 0 here.
        """
        if self.complete_status is None:
            return None
        return waitstatus_to_exitcode(self.complete_status)


def format_exception(event: Event, jobid: str, zero: float) -> str:
    """An exception line exactly as attach prints it (without the newline)."""
    ctx = event.context
    return (
        f"{event.timestamp - zero:.3f}s: job.exception {jobid} "
        f"type={ctx.get('type', 'unknown')} severity={ctx.get('severity', -1)} "
        f"{ctx.get('note', '')}"
    )
