"""One job's state as its decoded events tell it: the one place that
decides whether the job is over, and with which exit status.

``follow``, ``cat --wait``, ``lines -f`` (fluxout.job) and ``events -f``
(fluxout.events) feed it the main and exec events and the output's header,
eof and redirect records they decode, and ask it the same questions.
"""

from __future__ import annotations

from fluxout.eventlog import Event
from fluxout.idset import IdSet
from fluxout.status import JobInfo


class Completion:
    """Tracks when every stream of every task has ended (eof or redirect)."""

    def __init__(self) -> None:
        self.expected: dict[str, int] | None = None
        self.ended: dict[str, set[int]] = {"stdout": set(), "stderr": set()}

    def header(self, count: dict[str, object]) -> None:
        self.expected = {}
        for stream in ("stdout", "stderr"):
            n = count.get(stream)
            self.expected[stream] = n if isinstance(n, int) else 0

    def end(self, stream: str, ranks: IdSet) -> None:
        if len(ranks) == 1:
            self.ended[stream].add(ranks.first)
        else:
            self.ended[stream].update(ranks)

    @property
    def complete(self) -> bool:
        if self.expected is None:
            return False
        return all(len(self.ended[s]) >= n for s, n in self.expected.items())


class JobState:
    """Life, exit status and "over" of one job, fed event by event.

    ``has_main``: the main eventlog is read (and not lost since); without
    it, the output and exec eventlogs tell the end. ``wait_event`` is
    attach's ``-w``: after it the main eventlog is not read further and
    the exit status is as it was then.
    """

    def __init__(self, has_main: bool, wait_event: str = "clean") -> None:
        self.has_main = has_main
        self.wait_event = wait_event
        self.info = JobInfo()
        self.completion = Completion()
        self.waited: tuple[int, str] | None = None  # exit status at the wait event

    def main(self, event: Event) -> None:
        self.info.feed_main(event)
        if event.name == self.wait_event and self.waited is None:
            self.waited = self.info.exit_status()

    def exec(self, event: Event) -> None:
        self.info.feed_exec(event)

    @property
    def past_wait(self) -> bool:
        """The wait event was seen: attach shows nothing more of the main eventlog."""
        return self.waited is not None

    @property
    def over(self) -> bool:
        """Whether what was read holds the job's end."""
        if self.has_main:
            # As attach: the main eventlog up to the wait event, and all the
            # output (all written once the job has finished).
            info = self.info
            finished = info.finish_status is not None and self.completion.complete
            return info.clean or (self.waited is not None and finished)
        # Without the main eventlog: all output ended, or the exec eventlog
        # says the shells are done (a task that never started sends no eof).
        return self.completion.complete or self.info.complete_status is not None

    def exit_status(self) -> tuple[int, str] | None:
        """attach's exit status and its message, or None when the files
        read cannot tell it (no main eventlog, no exec complete event)."""
        if self.has_main:
            return self.waited if self.waited is not None else self.info.exit_status()
        return self.info.exec_exit_status()
