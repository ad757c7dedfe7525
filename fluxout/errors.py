"""Typed errors of the core, and the exit statuses of DESIGN.md in one place."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    ERROR = 1  # runtime error: no such job, unreadable eventlog, bad data
    USAGE = 2  # bad option, jobid or idset (Click's usage status)
    INTERRUPTED = 130  # Ctrl-C: follow detaches, the job goes on


class FluxoutError(Exception):
    """A runtime error about one job (or path): ``fluxout: <job>: <message>``."""

    def __init__(self, job: str, message: str) -> None:
        super().__init__(f"{job}: {message}")
        self.job = job
        self.message = message


class NoFluxError(FluxoutError):
    """The Flux bindings or libflux-core are missing, or no instance answers."""


class OutputWriteError(Exception):
    """Writing to stdout or stderr failed (a full disk, a closed terminal).

    Not a FluxoutError: it is about fluxout's own output, so it ends the
    whole run rather than one job.
    """

    def __init__(self, stream: str, reason: str) -> None:
        super().__init__(f"cannot write to {stream}: {reason}")
        self.stream = stream
