"""A job's life as the main and exec eventlogs tell it, and its exit status.

The exit status is the one ``flux job attach`` returns for the job, so that
``fluxout follow`` can replace attach in scripts.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from fluxout import jansson
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
    # When the job's tasks were over: its finish event, else the exec
    # eventlog's complete event.
    finish_time: float | None = None

    def feed_main(self, event: Event) -> None:
        if self.submit_time is None:
            self.submit_time = event.timestamp
        self.state_event = event.name
        if event.name == "start":
            self.start_time = event.timestamp
        elif event.name == "exception":
            self.exceptions.append(event)
        elif event.name == "finish":
            self.finish_time = event.timestamp
            status = event.context.get("status")
            if isinstance(status, int) and not isinstance(status, bool):
                self.finish_status = status
        elif event.name == "clean":
            self.clean = True

    def feed_exec(self, event: Event) -> None:
        if event.name == "shell.task-exit":
            self.task_exits.append(event.context)
        elif event.name == "complete":
            if self.finish_time is None:
                self.finish_time = event.timestamp
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


def format_event(event: Event, eventlog: str, zero: float) -> tuple[str, str]:
    """An event as ``flux job attach -E`` (eventlog "job") or ``-X`` ("exec")
    prints it: ``0.012s: job.validate``, and its context as jansson writes
    it ("" when it has none)."""
    context = jansson.dumps(event.context) if event.context else ""
    return f"{event.timestamp - zero:.3f}s: {eventlog}.{event.name}", context


def exec_log_head(event: Event, zero: float) -> str | None:
    """What attach prints before an exec eventlog ``log`` event's data (the
    output of the job shell, or of whatever ran in its place, before it
    could write to the job's output): ``0.045s: COMPONENT[RANK]: STREAM: ``.
    None when the event is not one attach would print."""
    ctx = event.context
    fields = [ctx.get(key) for key in ("component", "rank", "stream", "data")]
    if not all(isinstance(value, str) for value in fields):
        return None
    component, rank, stream, _ = fields
    return f"{event.timestamp - zero:.3f}s: {component}[{rank}]: {stream}: "


# The wall clock the pending status reads (tests put a fake one here).
wall_clock = time.time

# What attach's status line says of a job that has not started, by the last
# main eventlog event that told where it is.
PENDING = {
    "submit": "submitted",
    "validate": "resolving dependencies",
    "depend": "waiting for priority assignment",
    "priority": "waiting for resources",
    "alloc": "starting",
}


class PendingStatus:
    """attach's status line while a job has not started.

    Shown ``delay`` seconds after following began (attach: 2 s, when it runs
    on a terminal; 0 with --show-status), then updated every second: the
    job's state in attach's words and the time since it was submitted.
    Gone for good once the job starts or is cleaned up, or after a fatal
    exception (attach stops updating it then).
    """

    def __init__(self, delay: float) -> None:
        self.show_at = wall_clock() + delay
        self.message: str | None = None
        self.prologs = 0  # prologs running (prolog-start, prolog-finish)
        self.over = False
        self.stopped_queue: str | None = None  # the job's queue, when it is stopped

    def queue_state(self, state: bytes) -> None:
        """What the source says of the job's queue (sources.base.QUEUE)."""
        try:
            said = orjson.loads(state)
            queue, stopped = said["queue"], said["stopped"]
        except (ValueError, TypeError, KeyError):
            return
        self.stopped_queue = queue if stopped is True and isinstance(queue, str) else None

    def see(self, event: Event) -> None:
        """The next main eventlog event."""
        name = event.name
        if name in PENDING:
            self.message = PENDING[name]
        elif name == "prolog-start":
            self.prologs += 1
            self.message = "waiting for prolog"
        elif name == "prolog-finish":
            self.prologs -= 1
            self.message = "waiting for prolog" if self.prologs > 0 else "starting"
        elif name in ("start", "clean") or (
            name == "exception" and event.context.get("severity") == 0
        ):
            self.over = True

    def line(self, submitted: float | None) -> tuple[str, str] | None:
        """(what the job waits for, the clock HH:MM:SS since ``submitted``),
        or None when nothing is to be shown now."""
        now = wall_clock()
        if self.over or self.message is None or submitted is None or now < self.show_at:
            return None
        dt = max(0, int(now - submitted))
        message = self.message
        if message == "waiting for resources" and self.stopped_queue is not None:
            message += f" ({self.stopped_queue} queue stopped)"  # as attach
        return message, f"{dt // 3600:02d}:{dt // 60 % 60:02d}:{dt % 60:02d}"
