"""A renderer that collects what the pipeline gives instead of writing it.

``JobOutput`` (job.py) hands a renderer bytes, lines and messages as it
decodes each chunk of a job's eventlogs; the CLI's renderers write them.
The library (fluxout.library, fluxout.output) reads a job as a generator:
``Collector`` keeps what one chunk gave, in order, for the reader to take
with ``take`` before the next chunk is fed, so memory stays bounded by a
chunk, never by the job's output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from fluxout.eventlog import Log, Redirect
from fluxout.hosts import HostMap
from fluxout.idset import IdSet
from fluxout.lines import Line

STREAM = ("stdout", "stderr")


class Chunk(NamedTuple):
    """Job bytes of one stream: as they came (raw), or labelled lines."""

    stream: str
    data: bytes


# What the pipeline gave, in its order: job bytes, assembled lines (past
# the line filters), a shell log message, a stream of some tasks that went
# to a file.
Item = Chunk | list[Line] | Log | Redirect


class Collector:
    """The Renderer protocol of job.py, keeping instead of writing.

    ``label``: lines are labelled ``R: `` (the labelled fast lane writes
    them as bytes, each ending in a newline); else lines are kept as Line
    records. ``problem`` is told the pipeline's warnings and errors (bad
    eventlog lines, a lost part of the job), one line each.
    """

    def __init__(self, problem: Callable[[str], None], label: bool = False) -> None:
        self.problem = problem
        self.label = label
        self.items: list[Item] = []
        self._labels: dict[int, bytes] = {}

    def take(self) -> list[Item]:
        """What was collected since the last call."""
        items, self.items = self.items, []
        return items

    # -- job data ---------------------------------------------------------

    def raw(self, stream: str, data: bytes) -> None:
        self.items.append(Chunk(stream, data))

    def raw_many(self, fd: int, chunks: list[bytes]) -> None:
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if data:
            self.items.append(Chunk(STREAM[fd], data))

    def _label(self, rank: int) -> bytes:
        label = self._labels.get(rank)
        if label is None:
            label = self._labels[rank] = f"{rank}: ".encode()
        return label

    def line_prefix(self, fd: int, rank: int) -> bytes:
        """The label of a task's lines, for the labelled fast lane."""
        return self._label(rank)

    def json_job(self) -> str | None:
        return None

    def event(self, stream: str, rank: str, data: bytes) -> None:
        self.items.append(Chunk(stream, data))

    def lines(self, lines: list[Line], zero: float | None = None) -> None:
        if not self.label:
            self.items.append(lines)
            return
        # Labelled lines, as the labelled fast lane writes them: every
        # line ends in a newline, a last one that had none too. Lines of
        # the two streams stay in their order.
        label = self._label
        run: list[bytes] = []
        stream = ""
        for line in lines:
            if line.stream != stream:
                if run:
                    self.items.append(Chunk(stream, b"".join(run)))
                    run = []
                stream = line.stream
            run.append(label(line.rank) + line.text + b"\n")
        if run:
            self.items.append(Chunk(stream, b"".join(run)))

    def split(self, stream: str, ranks: IdSet, data: bytes) -> None:
        self.items.append(Chunk(stream, data))

    def end(self, stream: str, ranks: IdSet) -> None:
        pass  # only --coalesce, which the library does not do, completes lines here

    def set_tasks(self, ntasks: int) -> None:
        pass

    def set_hosts(self, hosts: HostMap) -> None:
        pass

    # -- messages ---------------------------------------------------------

    def log(self, rec: Log, zero: float, verbose: bool = False) -> None:
        self.items.append(rec)

    def redirect(self, rec: Redirect) -> None:
        self.items.append(rec)

    def label_as(self, stream: str, rank: int, name: str) -> None:
        pass  # the library does not read redirected files

    def exception(self, text: str) -> None:
        pass  # the library reads exceptions from the main eventlog itself

    def job_event(self, head: str, context: str) -> None:
        pass  # attach -E: the library has events() for them

    def exec_log(self, head: str, data: str) -> None:
        pass  # attach -X

    def error(self, text: str) -> None:
        self.problem(text)

    def warning(self, text: str) -> None:
        self.problem(text)

    def status(self, text: str, clock: str = "") -> None:
        pass

    def batch_done(self) -> None:
        pass

    def flush(self) -> None:
        pass
