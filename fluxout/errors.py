"""Typed errors of the core (fluxout.exit maps them to exit statuses)."""

from __future__ import annotations


class FluxoutError(Exception):
    """A runtime error about one job (or path): ``fluxout: <job>: <message>``."""

    def __init__(self, job: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{job}: {message}")
        self.job = job
        self.message = message
        self.hint = hint  # what to do, told on a second line: ``fluxout: <hint>``


class NotFoundError(FluxoutError):
    """No such job in the instance, or no such saved eventlog or directory
    (the library maps it to FileNotFoundError, as flux.job.output raises)."""


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
