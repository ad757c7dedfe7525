"""--coalesce: identical output of several tasks shown once, as dshbak -c does.

``cat --coalesce`` gathers each task's whole output per stream (in bounded
memory: see blocks.py), then prints each distinct block once under the rank
set that wrote it, the stream named too on a terminal that shows both::

    ----------------
    [0-3,5]
    ----------------
    the block

``follow --coalesce`` works line by line: the n-th line of every task is
held until each task has written its n-th line (or a short while has
passed), then each distinct text is printed once as ``[0-3,5]: text``.

By host (``--label-by host``), as dshbak: a host's output is the lines of
its tasks, and a block (or line) is headed by a hostlist, ``node[1-4,7]``.
Lines are assembled first then (the plan says so), so that two tasks of
one host never mix in mid-line.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from fluxout.hostlist import compress
from fluxout.hosts import HostMap
from fluxout.idset import IdSet
from fluxout.lines import Line
from fluxout.render.blocks import Store, TaskOutputs
from fluxout.render.escape import own_bytes
from fluxout.render.output import FD, HUGE_LINE, LineFormat, Output, TextRenderer
from fluxout.render.styles import paint, rank_style

RULE = "-" * 16
# follow: how long a line waits for the other tasks to write the same one,
# and how many lines wait at most: when one task runs far ahead of the
# others, its oldest lines go out alone rather than pile up.
HOLD_SECONDS = 0.5
MAX_HELD = 10_000
# ... and how many bytes they hold at most (their text, and a little for
# each distinct text and task), so that long lines cannot pile up either.
MAX_HELD_BYTES = 16 << 20
TEXT_COST = 64
RANK_COST = 8


class CoalesceRenderer(TextRenderer):
    def __init__(
        self,
        output: Output,
        fmt: LineFormat,
        job_style: str = "",
        live: bool = False,
        name_streams: bool = False,
        job: str = "-",
    ) -> None:
        super().__init__(output, fmt, job_style)
        self.live = live
        self.name_streams = name_streams  # say which stream a block is of
        self.ntasks = 0
        # cat: each task's output, per stream
        self._store = Store(job)
        self._outputs = {stream: TaskOutputs(self._store) for stream in FD}
        # follow: (stream, index) -> {text: ranks}, with when it was first seen
        # and what it holds (see TEXT_COST)
        self._pending: dict[tuple[str, int], dict[bytes, list[int]]] = {}
        self._since: dict[tuple[str, int], float] = {}
        self._cost: dict[tuple[str, int], int] = {}
        self._held = 0
        self._count: dict[tuple[str, int], int] = defaultdict(int)
        self._ranks: set[int] = set()
        # By host: the units are hosts (node ids), not tasks; how many ran tasks.
        self._by_host: HostMap | None = None
        self._nhosts = 0

    def set_tasks(self, ntasks: int) -> None:
        self.ntasks = ntasks

    def set_hosts(self, hosts: HostMap) -> None:
        super().set_hosts(hosts)
        if self.fmt.label_by == "host":
            self._by_host = hosts
            self._nhosts = len(set(hosts.nodes))

    def _unit(self, rank: int) -> int:
        """What outputs are compared by: a task's rank, or its host's node id."""
        hosts = self._by_host
        if hosts is None:
            return rank
        node = hosts.node(rank)
        return node if node is not None else len(hosts.hosts) + rank

    def _names(self, units: IdSet) -> str:
        """A header's rank set, or hostlist."""
        hosts = self._by_host
        if hosts is None:
            return units.format()
        count = len(hosts.hosts)
        names = [hosts.hosts[u] if u < count else f"task{u - count}" for u in units]
        return compress(names)

    # -- cat: whole outputs ---------------------------------------------

    def split(self, stream: str, ranks: IdSet, data: bytes) -> None:
        """The bytes one event gives each of ``ranks``."""
        self._outputs[stream].add(ranks.ranges, data)

    def end(self, stream: str, ranks: IdSet) -> None:
        self._outputs[stream].end(ranks.ranges)

    def _add_lines(self, lines: Iterable[Line]) -> None:
        """Lines (when filters choose them): each task's, a batch at a time."""
        batch: dict[tuple[str, int], list[bytes]] = {}
        outputs = self._outputs
        unit = self._unit
        for line in lines:
            rank = unit(line.rank)
            key = (line.stream, rank)
            pieces = batch.get(key)
            if pieces is None:
                pieces = batch[key] = []
            if len(line.text) >= HUGE_LINE:  # not copied to add its newline
                if pieces:
                    outputs[line.stream].add(((rank, rank),), b"".join(pieces))
                    pieces.clear()
                outputs[line.stream].add(((rank, rank),), line.text)
            else:
                pieces.append(line.text)
            pieces.append(b"\n")
        for (stream, rank), pieces in batch.items():
            outputs[stream].add(((rank, rank),), b"".join(pieces))

    def _header(self, fd: int, stream: str, ranks: IdSet) -> bytes:
        prefix = self.own(fd, self.prefix)
        name = f" {stream}" if self.name_streams else ""
        header = f"{RULE}\n{prefix}{self.own(fd, self._names(ranks))}{name}\n{RULE}\n"
        if self.color[fd]:
            header = paint(header, "bold", True)
        return own_bytes(header)

    def _write_blocks(self) -> None:
        write = self.sink.write
        try:
            for stream, outputs in self._outputs.items():
                fd = FD[stream]
                for ranges, content in outputs.groups():
                    write(fd, self._header(fd, stream, IdSet(ranges)))
                    for piece in self._store.read(content):
                        write(fd, piece)
        finally:
            self._store.close()

    # -- follow: line by line -------------------------------------------

    def lines(self, lines: Iterable[Line], zero: float | None = None) -> None:
        if not self.live:
            self._add_lines(lines)
            return
        pending, since, cost, count = self._pending, self._since, self._cost, self._count
        unit = self._unit
        for line in lines:
            rank = unit(line.rank)
            if not self.ntasks:
                self._ranks.add(rank)
            n = count[(line.stream, rank)]
            count[(line.stream, rank)] = n + 1
            key = (line.stream, n)
            groups = pending.get(key)
            if groups is None:
                groups = pending[key] = {}
                since[key] = time.monotonic()
                cost[key] = 0
            ranks = groups.get(line.text)
            if ranks is None:
                groups[line.text] = [rank]
                add = len(line.text) + TEXT_COST
            else:
                ranks.append(rank)
                add = RANK_COST
            cost[key] += add
            self._held += add
        self._release(final=False)

    def _group_label(self, fd: int, ranks: list[int]) -> bytes:
        ids = IdSet.of(ranks)
        text = self.own(fd, f"{self.prefix}{self._names(ids)}: ")
        if self.color[fd]:
            text = paint(text, rank_style(ids.first, "stdout" if fd == 0 else "stderr"), True)
        return own_bytes(text)

    def _release(self, final: bool) -> None:
        now = time.monotonic()
        expected = self._nhosts or self.ntasks or len(self._ranks)
        over = len(self._pending) - MAX_HELD  # how many must go now, waiting or not
        for key in sorted(self._pending, key=lambda k: (k[1], k[0])):
            groups = self._pending[key]
            seen = sum(len(r) for r in groups.values())
            waiting = seen < expected and now - self._since[key] < HOLD_SECONDS
            over -= 1
            if not final and waiting and over < 0 and self._held <= MAX_HELD_BYTES:
                continue
            fd = FD[key[0]]
            for text, ranks in sorted(groups.items(), key=lambda kv: min(kv[1])):
                label = self._group_label(fd, ranks)
                if len(text) < HUGE_LINE:
                    self.sink.write(fd, label + text + b"\n")
                else:  # no copy of a huge line to put a label on it
                    self.sink.write_many(fd, [label, text, b"\n"], len(label) + len(text) + 1)
            del self._pending[key]
            del self._since[key]
            self._held -= self._cost.pop(key)

    def batch_done(self) -> None:
        if self.live:
            self._release(final=False)
        super().batch_done()

    def close(self) -> None:
        if self.live:
            self._release(final=True)
        else:
            self._write_blocks()
        super().close()
