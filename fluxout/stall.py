"""follow --stall: tell when a task writes nothing for a while that others write.

Time is the job's own: the timestamps of its output events, not the clock
of the reader. A task is stalled when another task writes at a time
DURATION or more after its own last write (or after the output header, for
a task that never wrote); it resumes when it writes again. So a job read
live, replayed, or read from a saved eventlog tells the same stalls, and
nothing is said while the whole job is quiet (no one else writes). A task
whose streams have all ended (eof, or redirected), or that the exec
eventlog says exited (shell.task-exit), is never stalled.

The tracker reads the output and exec eventlogs beside the pipeline (its
own splitters, orjson per line): --stall is opt-in, and costs a second
parse only when asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import orjson

from fluxout.eventlog import LineSplitter, event_ranks
from fluxout.idset import IdSet
from fluxout.sources.base import Notice

STREAMS = ("stdout", "stderr")


def format_duration(seconds: float) -> str:
    """30 -> "30s", 90 -> "1m30s", 1.25 -> "1.2s", 0.05 -> "0.05s"."""
    if seconds >= 60:
        whole = round(seconds)
        minutes, secs = divmod(whole, 60)
        hours, minutes = divmod(minutes, 60)
        text = f"{hours}h{minutes}m" if hours else f"{minutes}m"
        return f"{text}{secs}s" if secs else text
    if seconds >= 10:
        return f"{round(seconds)}s"
    return f"{seconds:.2g}s" if seconds < 1 else f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"


class StallTracker:
    """One job's tasks: when each last wrote, which are stalled or done."""

    def __init__(
        self,
        job: str,
        duration: float,
        tasks: IdSet | None = None,
        warn: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.job = job
        self.duration = duration
        self.tasks = tasks  # -t: only these are told of (all tasks still count as "others")
        self.warn = warn
        self.splitters = {"output": LineSplitter(), "exec": LineSplitter()}
        self.last: dict[int, float] = {}  # task -> the time of its last write
        self.ended: dict[int, set[str]] = {}  # task -> its streams that ended
        self.done: set[int] = set()
        self.stalled: dict[int, float] = {}  # task -> its last write, when told
        self.now = -math.inf  # the latest write of any task
        self._next_check = math.inf  # no task can be stalled before this
        self._ranks: dict[str, IdSet | None] = {}

    # -- feeding ------------------------------------------------------------

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        if eventlog not in self.splitters:
            return
        if isinstance(chunk, Notice):
            if chunk.restart:
                self.splitters[eventlog] = LineSplitter()
            return
        for _, line in self.splitters[eventlog].feed(chunk):
            try:
                event = orjson.loads(line)
                ts = float(event["timestamp"])
                name = event["name"]
                ctx = event.get("context") or {}
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                continue  # the pipeline tells what is wrong with the line
            if eventlog == "exec":
                if name == "shell.task-exit" and isinstance(ctx.get("rank"), int):
                    self._finish(ctx["rank"])
            elif name == "data":
                self._data(ts, ctx)
            elif name == "header":
                self._header(ts, ctx)
            elif name == "redirect":
                self._end(ctx, ended=True)

    def _header(self, ts: float, ctx: dict[str, object]) -> None:
        count = ctx.get("count")
        n = count.get("stdout") if isinstance(count, dict) else None
        if isinstance(n, int) and 0 <= n <= 1 << 16:
            for task in range(n):
                self.last.setdefault(task, ts)  # silent from the start counts too
            self._next_check = min(self._next_check, ts + self.duration)

    def _ranks_of(self, rank: object) -> IdSet | None:
        if not isinstance(rank, str):
            return None
        if rank in self._ranks:
            return self._ranks[rank]
        try:
            ranks: IdSet | None = event_ranks(rank)
        except ValueError:
            ranks = None
        self._ranks[rank] = ranks
        return ranks

    def _data(self, ts: float, ctx: dict[str, object]) -> None:
        ranks = self._ranks_of(ctx.get("rank"))
        if ranks is None:
            return
        if ctx.get("data"):
            for task in ranks:
                since = self.stalled.pop(task, None)
                if since is not None and self._told(task):
                    self.warn(
                        f"{self.job}: task {task} resumed after {format_duration(ts - since)}"
                    )
                if task in self.done:
                    continue  # its last output, after its exit was posted
                if since is not None or task not in self.last:
                    # It can be stalled again from now on.
                    self._next_check = min(self._next_check, ts + self.duration)
                self.last[task] = ts
            if ts > self.now:
                self.now = ts
                if ts >= self._next_check:
                    self._check()
        if ctx.get("eof") is True:
            self._end(ctx, ended=True)

    def _end(self, ctx: dict[str, object], ended: bool) -> None:
        ranks = self._ranks_of(ctx.get("rank"))
        stream = ctx.get("stream")
        if ranks is None or stream not in STREAMS:
            return
        for task in ranks:
            streams = self.ended.setdefault(task, set())
            streams.add(str(stream))
            if len(streams) == len(STREAMS):
                self._finish(task)

    def _finish(self, task: int) -> None:
        """A task that exited, or whose streams ended: never stalled from
        now on. If it was, output that comes after (the exec eventlog may
        tell its exit before the output eventlog has its last lines) still
        tells its resume."""
        self.done.add(task)
        self.last.pop(task, None)

    def _told(self, task: int) -> bool:
        return self.tasks is None or task in self.tasks

    def _check(self) -> None:
        """Tell every task that has been quiet DURATION by now; when the next can be."""
        now, duration = self.now, self.duration
        upcoming = math.inf
        for task, last in self.last.items():
            if task in self.stalled:
                continue
            if now - last >= duration:
                self.stalled[task] = last
                if self._told(task):
                    quiet = format_duration(now - last)
                    self.warn(
                        f"{self.job}: task {task} wrote nothing for {quiet} (others still write)"
                    )
            elif last + duration < upcoming:
                upcoming = last + duration
        self._next_check = upcoming

    # -- for the status line ------------------------------------------------

    def status(self) -> str:
        """What the status line says of the stalls ("" when none)."""
        told = sorted(t for t in self.stalled if self._told(t) and t not in self.done)
        if not told:
            return ""
        ids = IdSet.of(told).format(brackets=False)
        noun = "task" if len(told) == 1 else "tasks"
        return f"{self.job}: {noun} {ids} stalled (nothing for {format_duration(self.duration)}+)"
