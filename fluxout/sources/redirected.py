"""Output a job wrote to files (``flux run --output=FILE``), read from them.

When a job's stream went to a file, its output eventlog holds no data, only
a ``redirect`` event naming the file (RFC 24: stream, rank idset, path).
Where that file can be read from here (a shared file system, or a saved
job directory's ``redirected/``), its bytes are handed to the job's
pipeline as that stream's data, so every option works on them as on
eventlog data; else the job is shown as attach shows it, with one warning.

The path is the job shell's template rendered for no task: the tags of a
task or node are left in it. Here ``{{taskid}}``, ``{{task.id}}`` and
``{{task.rank}}`` are the task's rank, and ``{{task.index}}``,
``{{task.localid}}`` and ``{{node.id}}`` are read from the job's taskmap
(the exec eventlog's ``shell.start``); a template with other tags left
(``{{node.name}}``, a plugin's) names files that cannot be told from here.

A file written by several tasks holds their output mixed, and nothing says
which line is whose: it is read as the output of the redirect's rank set,
once, labelled with that set (``[0-1]: ``); where output is kept per task
(``lines``, ``--split``, ``--coalesce``), as the lowest rank's.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fluxout.eventlog import Data, Redirect
from fluxout.idset import IdSet

CHUNK = 1 << 20
# Kept open between polls up to this many files; past it each is opened
# for each read (a job of thousands of per-task files would use up the
# process's descriptors).
MAX_OPEN = 256
# mustache.c: a tag runs from "{{" to the next "}}".
_TAG = re.compile(r"\{\{(.*?)\}\}")
# Tags the shell renders per task as the task's global rank (shell.c
# mustache_render_task; "taskid" is its synonym of "task.id").
TASK_TAGS = frozenset(("taskid", "task.id", "task.rank"))
# Tags that need the taskmap: the task's index on its node, the node's.
MAP_TAGS = frozenset(("task.index", "task.localid", "node.id"))
# Saved job directories keep the files a job redirected to here, by name.
SAVED_DIR = "redirected"


def expand(template: str, rank: int, place: tuple[int, int] | None = None) -> str:
    """The path of one task's file: its tags rendered as the shell does;
    ``place`` is the task's (node, index on it), for the taskmap's tags."""

    def tag(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in TASK_TAGS:
            return str(rank)
        if place is not None and name in MAP_TAGS:
            return str(place[0] if name == "node.id" else place[1])
        return m.group(0)

    return _TAG.sub(tag, template)


def other_tags(template: str) -> list[str]:
    """The tags left in a redirect's path that cannot be expanded here."""
    known = TASK_TAGS | MAP_TAGS
    return [f"{{{{{tag}}}}}" for tag in _TAG.findall(template) if tag not in known]


def per_task(template: str) -> bool:
    """Whether the path names a file per task (or per node)."""
    return any(tag in TASK_TAGS or tag in MAP_TAGS for tag in _TAG.findall(template))


def needs_taskmap(template: str) -> bool:
    return any(tag in MAP_TAGS for tag in _TAG.findall(template))


class TaskMap:
    """RFC 34 taskmap (version 1): where each task ran. Its map is blocks
    ``[nodeid, nnodes, ppn, repeat]``: ``repeat`` times, ``ppn`` tasks on
    each of ``nnodes`` nodes from ``nodeid``, tasks numbered in that order."""

    def __init__(self, blocks: list[tuple[int, int, int, int]]) -> None:
        self.blocks = blocks

    @classmethod
    def of(cls, taskmap: object) -> TaskMap | None:
        """A shell.start event's taskmap, or None when it is not one."""
        if not isinstance(taskmap, dict) or taskmap.get("version") != 1:
            return None
        blocks = taskmap.get("map")
        if not isinstance(blocks, list):
            return None
        out: list[tuple[int, int, int, int]] = []
        for block in blocks:
            if not (
                isinstance(block, list)
                and len(block) == 4
                and all(type(n) is int and n >= 0 for n in block)
            ):
                return None
            out.append((block[0], block[1], block[2], block[3]))
        return cls(out)

    def places(self) -> dict[int, tuple[int, int]]:
        """Each task's (node, index among the node's tasks), up to MAX_TASKS."""
        places: dict[int, tuple[int, int]] = {}
        on_node: dict[int, int] = {}
        rank = 0
        for nodeid, nnodes, ppn, repeat in self.blocks:
            for _ in range(repeat):
                for node in range(nodeid, nodeid + nnodes):
                    for _ in range(ppn):
                        index = on_node.get(node, 0)
                        on_node[node] = index + 1
                        places[rank] = (node, index)
                        rank += 1
                        if rank >= MAX_TASKS:
                            return places
        return places


# A taskmap is expanded task by task up to this many (a saved eventlog may
# claim any number).
MAX_TASKS = 1 << 20


@dataclass
class _File:
    """One file read as one stream of some tasks."""

    stream: str
    rank: str  # the tasks, as the redirect names them ("[0-1]", or one task's "3")
    ranks: IdSet
    path: str  # as the event names it (a task's: expanded)
    recs: list[Redirect] = field(default_factory=list)  # every redirect to it
    found: Path | None = None  # where it is read from, once found
    handle: BinaryIO | None = None
    offset: int = 0
    why: str = "no such file"  # why it could not be read, until it is

    @property
    def shared(self) -> bool:
        return len(self.ranks) > 1


@dataclass
class _Group:
    """The files of one redirect event (one, or one per task)."""

    rec: Redirect
    files: list[_File]
    told: bool = False  # its "read from" note was given
    failed: bool = False  # some file of it could not be read: told


class Redirected:
    """The redirected files of one job, read as they grow.

    ``add`` takes a redirect event and says whether its files are to be
    read (else the pipeline shows it as attach does); ``poll`` reads what
    they have gained, as Data records with the tasks they are for;
    ``end`` reads the rest and tells what could not be read.
    """

    def __init__(
        self,
        tasks: IdSet | None,
        lines: bool,
        saved_dir: Path | None,
        note: Callable[[str], None],
        warning: Callable[[str], None],
        fallback: Callable[[Redirect], None],
        label_as: Callable[[str, int, str], None],
        ended: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.tasks = tasks
        # A shared file is read as its lowest rank's where output is kept
        # per task (lines, --split, --coalesce).
        self.lines = lines
        self.saved_dir = saved_dir
        self.note = note
        self.warning = warning
        self.fallback = fallback
        # (stream, rank, name): lines under that rank are labelled with name
        self.label_as = label_as
        # When the job ended, once known: no byte was written after it (a
        # saved copy of a file has the time it was copied).
        self.ended = ended
        self.groups: list[_Group] = []
        self._by_path: dict[str, _File] = {}
        self._count = 0
        # Redirects whose paths need the taskmap, until it is known.
        self._waiting: list[Redirect] = []
        self._places: dict[int, tuple[int, int]] | None = None

    def taskmap(self, taskmap: object) -> None:
        """The job's taskmap (shell.start): the redirects that waited for it
        get their files."""
        known = TaskMap.of(taskmap)
        if known is None or self._places is not None:
            return
        self._places = known.places()
        waiting, self._waiting = self._waiting, []
        for rec in waiting:
            self._add(rec)

    def __bool__(self) -> bool:
        return bool(self.groups or self._waiting)

    def add(self, rec: Redirect) -> bool:
        """A redirect event of a selected stream: True when its files will be
        read; False when they cannot be (no path, tags that cannot be
        expanded here), said in one warning."""
        if rec.path is None:
            return False
        left = other_tags(rec.path)
        if left:
            self.warning(
                f"{rec.stream} redirected to {rec.path}: not read, "
                f"{' '.join(left)} cannot be expanded here"
            )
            return False
        if needs_taskmap(rec.path) and self._places is None:
            self._waiting.append(rec)  # its files are named once it comes
        else:
            self._add(rec)
        return True

    def _add(self, rec: Redirect) -> None:
        assert rec.path is not None
        selected = rec.ranks if self.tasks is None else rec.ranks.intersect(self.tasks)
        files: list[_File] = []
        if not per_task(rec.path):
            files.append(self._file(rec.stream, rec.rank, rec.ranks, rec.path, rec))
        elif self._places is None:  # a file per task, named by its rank
            for rank in selected:
                one = IdSet(((rank, rank),))
                files.append(self._file(rec.stream, str(rank), one, expand(rec.path, rank), rec))
        else:
            # A file per task, or per node ({{node.id}}): the tasks of each
            # path, for each path one of the selected tasks writes to.
            by_path: dict[str, list[int]] = {}
            for rank in rec.ranks:
                place = self._places.get(rank)
                if place is not None:
                    by_path.setdefault(expand(rec.path, rank, place), []).append(rank)
            for path, ranks in by_path.items():
                ids = IdSet.of(ranks)
                if self.tasks is None or ids.intersect(self.tasks):
                    files.append(self._file(rec.stream, ids.format(), ids, path, rec))
        self.groups.append(_Group(rec, [f for f in files if f.stream == rec.stream]))

    def _file(self, stream: str, rank: str, ranks: IdSet, path: str, rec: Redirect) -> _File:
        known = self._by_path.get(path)
        if known is not None:  # stderr went to stdout's file: read once
            known.recs.append(rec)
            return known
        file = self._by_path[path] = _File(stream, rank, ranks, path, [rec])
        self._count += 1
        return file

    # -- reading --------------------------------------------------------

    def poll(self) -> Iterator[tuple[Data, IdSet]]:
        """What the files gained since the last poll."""
        for group in self.groups:
            if not group.told:
                for file in group.files:
                    if file.handle is None:
                        self._open(file)
                self._tell(group)  # before the bytes read from them
            for file in group.files:
                yield from self._read(file)

    def end(self) -> Iterator[tuple[Data, IdSet]]:
        """The rest of every file, its end (a last line without a newline),
        and one warning for each redirect whose files could not be read."""
        for rec in self._waiting:
            self.warning(
                f"{rec.stream} redirected to {rec.path}: not read, "
                "no taskmap (the exec eventlog's shell.start) to expand it with"
            )
            self.fallback(rec)
        self._waiting = []
        yield from self.poll()
        for group in self.groups:
            for file in group.files:
                if file.handle is not None:
                    file.handle.close()
                    file.handle = None
                if file.found is not None:
                    yield self._data(file, b"", 0.0, eof=True)
            missing = [f for f in group.files if f.found is None]
            if missing and not group.failed:
                group.failed = True
                names = ", ".join(f"{f.path} ({f.why})" for f in missing[:3])
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                self.warning(f"cannot read {group.rec.stream}'s file {names}{more}")
                # attach's notice, for each stream that went to them
                recs = {id(r): r for f in missing for r in f.recs}
                for rec in recs.values():
                    self.fallback(rec)

    def _tell(self, group: _Group) -> None:
        """Once a redirect's files are found: say where its stream was read from."""
        if group.told or not group.files or any(f.found is None for f in group.files):
            return
        group.told = True
        first = group.files[0]
        streams = " and ".join(dict.fromkeys(r.stream for r in first.recs))
        if not per_task(group.rec.path or ""):
            self.note(f"{streams} read from {first.found}")
        else:
            assert first.found is not None and group.rec.path is not None
            where = first.found.parent / Path(group.rec.path).name
            count = len(group.files)
            per = "task" if all(not f.shared for f in group.files) else "node"
            self.note(f"{streams} read from {where}, a file per {per} ({count} files)")

    def _read(self, file: _File) -> Iterator[tuple[Data, IdSet]]:
        handle = file.handle if file.handle is not None else self._open(file)
        if handle is None:
            return
        try:
            try:
                size = os.fstat(handle.fileno()).st_size
                if size < file.offset:  # truncated (the job ran again): from its start
                    handle.seek(0)
                    file.offset = 0
                    self.warning(f"{file.found}: file truncated; reading it from the start")
                while chunk := handle.read(CHUNK):
                    file.offset += len(chunk)
                    yield self._data(file, chunk, self._when(file, handle))
            except OSError as exc:
                file.why = exc.strerror or str(exc)
                self.warning(f"cannot read {file.found}: {file.why}")
                handle.close()
                file.handle = None
                return
        finally:
            if self._count > MAX_OPEN and file.handle is not None:
                file.handle.close()
                file.handle = None

    def _when(self, file: _File, handle: BinaryIO) -> float:
        """When bytes just read were written, as near as can be told: the
        file keeps no time per byte; it was last modified then, after the
        redirect and before the job ended."""
        when = os.fstat(handle.fileno()).st_mtime
        ended = self.ended()
        if ended is not None:
            when = min(when, ended)
        return max(when, file.recs[0].timestamp)

    def _open(self, file: _File) -> BinaryIO | None:
        """The file, opened after where it was read to; None while it is not there."""
        path = file.found if file.found is not None else self._find(file)
        if path is None:
            return None
        try:
            handle = path.open("rb", buffering=0)
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                handle.close()
                file.why = "not a regular file"
                return None
            handle.seek(file.offset)
        except OSError as exc:
            file.why = exc.strerror or str(exc)
            return None
        if file.found is None and file.shared and self.lines:
            self.label_as(file.stream, file.ranks.first, file.rank)
        file.found = path
        file.handle = handle
        return handle

    def _find(self, file: _File) -> Path | None:
        """Where a file is: its path; where nothing is there, a saved job
        directory's copy of it (``redirected/NAME``). Only a regular file
        is read (a FIFO or a device named in a saved eventlog would block
        or never end)."""
        path = Path(file.path)
        try:
            mode = path.stat().st_mode
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            file.why = getattr(exc, "strerror", None) or str(exc)
            if not isinstance(exc, (FileNotFoundError, NotADirectoryError)):
                return None
            copy = self._saved_copy(path)
            return copy if copy is not None and copy.is_file() else None
        if stat.S_ISREG(mode):
            return path
        file.why = "not a regular file"
        return None

    def _saved_copy(self, path: Path) -> Path | None:
        if self.saved_dir is None or path.name in ("", ".", ".."):
            return None
        return self.saved_dir / SAVED_DIR / path.name

    def _data(
        self, file: _File, chunk: bytes, mtime: float, eof: bool = False
    ) -> tuple[Data, IdSet]:
        """A file's bytes as a data record, with the tasks it is written for."""
        if file.shared and self.lines:
            first = file.ranks.first
            one = IdSet(((first, first),))
            return Data(mtime, file.stream, str(first), one, chunk, eof), one
        return Data(mtime, file.stream, file.rank, file.ranks, chunk, eof), file.ranks
