"""--split DIR: each task's stdout and stderr to its own file, as srun --output=%t.

Files are ``DIR/<job>/<rank>.out`` and ``<rank>.err``, holding exactly the
bytes the task wrote, or with line filters (--grep, --head, --since...) the
lines that pass them. Everything written stays below DIR: the job level is
one path component, and no symlink below DIR is ever followed (the job
directory and its files are opened relative to a directory descriptor with
O_NOFOLLOW, files created with O_EXCL). A job directory that is not empty
is refused unless --force. Writes are gathered (a few MiB) and descriptors
are kept open in an LRU shared by every job of the run, sized from
RLIMIT_NOFILE.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import stat
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from fluxout.errors import FluxoutError
from fluxout.hosts import HostMap
from fluxout.idset import IdSet
from fluxout.lines import Line
from fluxout.render.output import LineFormat, Output, TextRenderer

SUFFIX = {"stdout": "out", "stderr": "err"}

# Bytes are gathered across batches and written once this many are held
# (or at the job's end): with thousands of ranks a batch has about one event
# per file, and gathering more makes one write of several events.
FLUSH_AT = 8 << 20

# At most this many empty files are made for the tasks that wrote nothing
# (a header may claim a million tasks).
MAX_EMPTY_FILES = 1 << 16

# Descriptors kept free for everything else (sources, Flux, stdio).
MIN_HEADROOM = 64

_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | _NOFOLLOW


def safe_component(name: str) -> bool:
    """Whether name is one path component that stays where it is put."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name


def raise_nofile_limit() -> int:
    """Raise the soft RLIMIT_NOFILE toward the hard one; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit is still capped by the kernel (nr_open).
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


@cache
def shared_files() -> OpenFiles:
    """The run's one LRU of split descriptors, sized on first use."""
    limit = raise_nofile_limit()
    return OpenFiles(max(16, limit - max(MIN_HEADROOM, limit // 16)))


class OpenFiles:
    """Open descriptors of split files, least recently used first.

    Shared by every job of a run, so that jobs followed together (or one
    after the other) stay within the process's descriptor limit.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._fds: OrderedDict[tuple[int, str], int] = OrderedDict()

    def get(self, key: tuple[int, str]) -> int | None:
        fd = self._fds.get(key)
        if fd is not None:
            self._fds.move_to_end(key)
        return fd

    def make_room(self) -> bool:
        """Close the least recently used descriptor; False when none is open."""
        if not self._fds:
            return False
        os.close(self._fds.popitem(last=False)[1])
        return True

    def add(self, key: tuple[int, str], fd: int) -> None:
        while len(self._fds) >= self.capacity and self.make_room():
            pass
        self._fds[key] = fd

    def close_owner(self, owner: int) -> None:
        """Close every descriptor of one job directory."""
        for key in [k for k in self._fds if k[0] == owner]:
            os.close(self._fds.pop(key))


class JobDir:
    """DIR/JOB, opened once without following a symlink, and its files."""

    def __init__(self, directory: Path, job: str, force: bool, files: OpenFiles) -> None:
        if not safe_component(job):
            raise FluxoutError(str(directory / job), "not a safe directory name")
        self.path = directory / job
        self.files = files
        self.fd = _open_job_dir(directory, job)
        try:
            earlier = set(os.listdir(self.fd))
        except OSError as exc:
            os.close(self.fd)
            raise FluxoutError(str(self.path), f"cannot read: {exc.strerror}") from None
        if earlier and not force:
            os.close(self.fd)
            raise FluxoutError(
                str(self.path), "not empty: use --force to replace its files, or another DIR"
            )
        self.earlier = earlier  # files of an earlier run, replaced only when written
        self.created: set[str] = set()

    def write(self, name: str, data: bytes) -> None:
        fd = self._fd(name)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            raise self.error(name, exc) from None

    def _fd(self, name: str) -> int:
        key = (self.fd, name)
        fd = self.files.get(key)
        if fd is None:
            fd = self._open(name)
            self.files.add(key, fd)
        return fd

    def _open(self, name: str) -> int:
        reopen = name in self.created
        try:
            if not reopen and name in self.earlier:
                # --force: replace it, never write through what is there.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=self.fd)
            flags = _APPEND_FLAGS if reopen else _CREATE_FLAGS
            fd = self._open_retrying(name, flags)
        except OSError as exc:
            raise self.error(name, exc) from None
        self.created.add(name)
        return fd

    def _open_retrying(self, name: str, flags: int) -> int:
        while True:
            try:
                return os.open(name, flags, 0o666, dir_fd=self.fd)
            except OSError as exc:
                # Out of descriptors anyway (others use them too): close one of ours.
                if exc.errno not in (errno.EMFILE, errno.ENFILE) or not self.files.make_room():
                    raise

    def error(self, name: str, exc: OSError) -> FluxoutError:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ELOOP:
            reason = "is a symlink (not followed)"
        return FluxoutError(str(self.path / name), f"cannot write: {reason}")

    def left_untouched(self) -> int:
        return len(self.earlier - self.created)

    def close(self) -> None:
        if self.fd >= 0:
            self.files.close_owner(self.fd)
            os.close(self.fd)
            self.fd = -1


def _open_job_dir(directory: Path, job: str) -> int:
    """Make and open DIR/JOB; DIR is the user's, so only JOB must not be a symlink."""
    path = directory / job
    try:
        directory.mkdir(parents=True, exist_ok=True)
        parent = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise _mkdir_error(directory, exc) from None
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(job, 0o777, dir_fd=parent)
        return os.open(job, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise FluxoutError(str(path), _dir_error(parent, job, exc)) from None
    finally:
        os.close(parent)


def _mkdir_error(directory: Path, exc: OSError) -> FluxoutError:
    """DIR could not be made: name the path at fault, which may be above it
    (``--split afile/out``: afile is not a directory)."""
    for above in (directory, *directory.parents):
        if os.path.lexists(above):
            if not above.is_dir():
                return FluxoutError(str(above), "not a directory")
            break
    where = exc.filename if isinstance(exc.filename, str) else str(directory)
    return FluxoutError(where, f"cannot create: {exc.strerror}")


def _dir_error(parent: int, job: str, exc: OSError) -> str:
    """Why DIR/JOB could not be opened, in words."""
    try:
        mode = os.lstat(job, dir_fd=parent).st_mode
    except OSError:
        return f"cannot write: {exc.strerror}"
    if stat.S_ISLNK(mode):
        return "is a symlink (not followed)"
    if not stat.S_ISDIR(mode):
        return "not a directory"
    return f"cannot write: {exc.strerror}"


class SplitRenderer(TextRenderer):
    def __init__(
        self,
        output: Output,
        directory: Path,
        job: str,
        force: bool = False,
        tasks: IdSet | None = None,
        streams: frozenset[str] = frozenset(SUFFIX),
        label_by: str = "rank",
        on_hosts: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(output, LineFormat(label_by=label_by))
        self.on_hosts = on_hosts  # --hosts: only their tasks get files
        self.directory = directory
        self.job = job
        self.force = force
        # Every selected task gets its files, even empty, as srun --output=%t.
        self.tasks = tasks
        self.streams = sorted(streams)
        self.ntasks = 0
        self._empty_done = False
        self._dir: JobDir | None = None
        self._failed = False
        self._pending: dict[str, list[bytes]] = {}
        self._pending_size = 0
        self._names: dict[tuple[str, int], str] = {}

    def _name(self, stream: str, rank: int) -> str:
        """A task's file: RANK.out, or by host HOST.out (HOST[RANK].out)."""
        key = (stream, rank)
        name = self._names.get(key)
        if name is None:
            base = self._label_name(rank)
            if not safe_component(base) or base.startswith("."):
                # A host's name from R that is no file name: its rank's file.
                base = str(rank)
            name = self._names[key] = f"{base}.{SUFFIX[stream]}"
        return name

    def split(self, stream: str, ranks: IdSet, data: bytes) -> None:
        if self._failed:
            return
        pending = self._pending
        for rank in ranks:
            name = self._name(stream, rank)
            chunks = pending.get(name)
            if chunks is None:
                pending[name] = [data]
            else:
                chunks.append(data)
            self._pending_size += len(data)
        if self._pending_size >= FLUSH_AT:
            self._write_pending()

    def lines(self, lines: Iterable[Line], zero: float | None = None) -> None:
        """The lines that passed the line filters, each to its task's file
        as it was written (a last line without its newline stays so)."""
        if self._failed:
            return
        pending = self._pending
        size = 0
        for line in lines:
            name = self._name(line.stream, line.rank)
            chunks = pending.get(name)
            if chunks is None:
                chunks = pending[name] = []
            chunks.append(line.text)
            size += len(line.text)
            if line.eol:
                chunks.append(b"\n")
                size += 1
        self._pending_size += size
        if self._pending_size >= FLUSH_AT:
            self._write_pending()

    def set_tasks(self, ntasks: int) -> None:
        self.ntasks = ntasks

    def set_hosts(self, hosts: HostMap) -> None:
        super().set_hosts(hosts)
        if self.on_hosts is not None:
            on = hosts.tasks_on(self.on_hosts)
            self.tasks = on if self.tasks is None else on.intersect(self.tasks)

    def _create_empty(self) -> None:
        """The files of selected tasks that wrote nothing, created empty; a
        header that claims more tasks than MAX_EMPTY_FILES gets none."""
        if self._empty_done or not self.ntasks:
            return
        self._empty_done = True
        ranks = IdSet(((0, self.ntasks - 1),))
        if self.tasks is not None:
            ranks = ranks.intersect(self.tasks)
        if not ranks or len(ranks) * len(self.streams) > MAX_EMPTY_FILES:
            return
        if self._dir is None:
            self._dir = JobDir(self.directory, self.job, self.force, shared_files())
        for rank in ranks:
            for stream in self.streams:
                name = self._name(stream, rank)
                if name not in self._dir.created:
                    self._dir.write(name, b"")

    def raw(self, stream: str, data: bytes) -> None:  # not used in split mode
        raise AssertionError("raw output in --split mode")

    def _write_pending(self) -> None:
        """Write what was gathered, one write per file; on failure close everything."""
        pending, self._pending, self._pending_size = self._pending, {}, 0
        if not pending:
            return
        try:
            if self._dir is None:
                self._dir = JobDir(self.directory, self.job, self.force, shared_files())
            for name, chunks in pending.items():
                self._dir.write(name, chunks[0] if len(chunks) == 1 else b"".join(chunks))
        except FluxoutError:
            self._failed = True
            self._close_dir()
            raise

    def _close_dir(self) -> None:
        if self._dir is not None:
            self._dir.close()

    def batch_done(self) -> None:
        # Live (following, or on a terminal): the files keep up with the job.
        if self.flush_each_batch:
            self._write_pending()
        super().batch_done()

    def flush(self) -> None:
        # The job's end: what is written now still counts in its exit status.
        self._write_pending()
        if not self._failed:
            try:
                self._create_empty()
            except FluxoutError:
                self._failed = True
                self._close_dir()
                raise
        super().flush()

    def close(self) -> None:
        try:
            # Normally empty: flush wrote it (this is for an aborted run).
            self._write_pending()
        except FluxoutError as exc:
            self.error(str(exc))
        self._close_dir()
        job_dir = self._dir
        if job_dir is not None and not self._failed:
            self._summary(job_dir)
        super().close()

    def _summary(self, job_dir: JobDir) -> None:
        count = len(job_dir.created)
        self.note(f"fluxout: wrote {count} file{'s' if count != 1 else ''} to {job_dir.path}/")
        untouched = job_dir.left_untouched()
        if untouched:
            self.note(
                f"fluxout: {job_dir.path}: left {untouched} file"
                f"{'s' if untouched != 1 else ''} of an earlier run untouched"
            )
