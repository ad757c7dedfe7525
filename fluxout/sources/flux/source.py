"""The live source's policy: which watches to open when, and the job's state.

``FluxJobSource`` is the Source the core reads.  It decides what to read,
from where, and when a job is over; it only talks to a ``Boundary``
(boundary.py), never to flux itself.

Where the bytes come from (flux-core 0.88): a job's KVS directory
``job.<id>`` holds the main ``eventlog``.  While the job runs,
``job.<id>.guest`` is a symlink to the root of the guest namespace
``job-<id>`` (keys ``output`` and ``exec.eventlog``), owned by the job's
user; when the job ends, job-exec grafts the guest namespace into
``job.<id>.guest``, then removes the namespace (a watch on it then fails
with EOPNOTSUPP), then posts ``release`` with ``final: true``.

``cat`` reads each eventlog in one bulk read of ``job.<id>.<key>`` (the
symlink makes this work for running jobs too): the value's tree object,
then its blobs straight from the content store, pipelined (instance owner;
anyone else gets one plain lookup).  ``follow`` watches the main eventlog
(KVS append watch), and once the job has started, the guest keys with a
FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND watch in the guest namespace, which
delivers appended chunks; when the namespace goes, the rest is read from the
graft in one bulk read, skipping the bytes already seen.  When the primary
namespace is not readable (EPERM: the user does not own the instance), the
main eventlog comes from job-info (which checks access) and the finished
eventlogs from ``job-info.lookup``; the guest namespace stays readable for
the job's owner.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from typing import Any

import orjson

from fluxout.errors import FluxoutError, NotFoundError
from fluxout.jobid import format_jobid
from fluxout.sources.base import EVENTLOGS, IDLE, QUEUE, RESOURCES, Source
from fluxout.sources.flux import boundary as _boundary  # its connect: a fake in tests
from fluxout.sources.flux.boundary import Boundary, Watch, strerror

# Slices the core gets a bulk value in (as the file source reads files).
CHUNK = 1 << 20
# How long one wait on the reactor lasts at most: the follow loop yields
# IDLE this often, and signal handlers (SIGTERM) run at least this often.
POLL_SECONDS = 0.25
# How often the queue of a job waiting for resources is asked about
# (flux job attach: every 10 s, its --queue-check-interval).
QUEUE_CHECK_SECONDS = 10.0
# A lookup through the job.<id>.guest symlink can race the graft that
# replaces it: how often, and how long apart, such a lookup is retried.
GRAFT_RETRIES = 20
GRAFT_DELAY = 0.05

# errno values that mean the broker connection is gone.
_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ENOTCONN,
        errno.ESHUTDOWN,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.ENETUNREACH,
    }
)

# Per eventlog of a job: (key in the guest namespace, key under job.<id>).
GUEST_KEYS = {
    "exec": ("exec.eventlog", "guest.exec.eventlog"),
    "output": ("output", "guest.output"),
}


class _Cursor:
    """How far into one eventlog fluxout has read.

    Every stream an eventlog is read from (a lookup, a KVS watch, a job-info
    watch) gives it from its start: ``seen`` counts the bytes already passed
    on, so that switching streams never repeats or loses a byte.
    """

    def __init__(self) -> None:
        self.pos = 0  # bytes received from the current stream
        self.seen = 0  # bytes passed on

    def feed(self, data: bytes) -> bytes:
        """The part of ``data`` not yet passed on."""
        start = self.pos
        self.pos += len(data)
        if self.pos <= self.seen:
            return b""  # already passed on
        new = data[self.seen - start :] if start < self.seen else data
        self.seen = self.pos
        return new


class _Scan:
    """The events of an eventlog whose bytes arrive in pieces: just enough
    of them for the source to know where the job is (the core decodes and
    reports the eventlog itself)."""

    def __init__(self) -> None:
        self.partial = b""

    def events(self, data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
        """(name, context) of each whole line ``data`` completes."""
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            try:
                event = orjson.loads(line)
                name = event.get("name")
                context = event.get("context")
            except (orjson.JSONDecodeError, AttributeError):
                continue  # the core reports malformed lines
            if isinstance(name, str):
                yield name, context if isinstance(context, dict) else {}


class _GuestLog(_Cursor):
    """One guest eventlog of a followed job (exec or output)."""

    def __init__(self, eventlog: str, shown: bool) -> None:
        super().__init__()
        self.eventlog = eventlog
        self.guest_key, self.job_key = GUEST_KEYS[eventlog]
        # Passed on to the core; the exec eventlog is also watched when only
        # the output is wanted, to know when the output key exists.
        self.shown = shown
        # Whether its key exists, so that it may be watched: the exec
        # eventlog from the job's start, the output once the exec eventlog
        # says shell.init (the shell writes the output header before it).
        self.exists = eventlog == "exec"
        self.scan = _Scan()
        self.watch: Watch | None = None
        self.done = False

    def restart(self, watch: Watch | None) -> None:
        """Read from ``watch`` (from its start) instead of the current stream."""
        if self.watch is not None:
            self.watch.cancel()
        self.watch = watch
        self.pos = 0

    @property
    def in_flight(self) -> bool:
        return self.watch is not None and not self.watch.answered


class _MainLog(_Cursor):
    """The main eventlog of a followed job, and what it says so far."""

    def __init__(self) -> None:
        super().__init__()
        self.scan = _Scan()
        self.started = False
        self.released = False  # release with final=true: the graft is there
        self.clean = False
        # Waiting for resources: priority was the last step of the job
        # towards its start (then alloc, or an exception, ends the wait).
        self.waiting = False
        self.queue: str | None = None  # the job's queue, once asked
        self.queue_asked = -QUEUE_CHECK_SECONDS  # when (monotonic)

    def see(self, data: bytes) -> None:
        for name, context in self.scan.events(data):
            if name == "priority":
                self.waiting = True
            elif name in ("alloc", "start", "clean") or (
                name == "exception" and context.get("severity") == 0
            ):
                self.waiting = False
            elif name == "jobspec-update":
                self.queue = None  # its queue may have changed: ask again
                self.queue_asked = -QUEUE_CHECK_SECONDS
            if name == "start":
                self.started = True
            elif name == "release" and context.get("final") is True:
                self.released = True
            elif name == "clean":
                self.clean = self.released = True


class FluxJobSource:
    """A job in a live instance, read through a Boundary."""

    def __init__(self, boundary: Boundary, jobid: int) -> None:
        self.boundary = boundary
        self.jobid = jobid
        self.name = format_jobid(jobid)
        self.eventlogs = frozenset(EVENTLOGS)
        self.kvsdir = format_jobid(jobid, "kvs")
        self.namespace = f"job-{jobid}"
        # The primary namespace is readable (instance owner); on EPERM the
        # job-info service is used instead.
        self.direct = True
        # follow: the guest namespace is gone (its graft holds the rest);
        # it is not ours, so job-info watches it for us.
        self.guest_gone = False
        self.guest_job_info = False
        self._main: bytes | None = None

    def check(self) -> None:
        """Read the main eventlog now: does the job exist, is it ours?

        Done when the source is opened, so that these errors come before
        anything is shown; the first ``chunks`` uses what was read.
        """
        self._main = self.read_main()

    # errors

    def error(self, exc: OSError, what: str = "") -> FluxoutError:
        num = exc.errno
        if num == errno.ENOENT and what in ("", "eventlog"):
            return NotFoundError(self.name, "no such job")
        if num in (errno.EPERM, errno.EACCES):
            return FluxoutError(self.name, "that is not your job")
        if num in _CONNECTION_ERRNOS:
            return FluxoutError(
                self.name, f"lost the connection to the Flux instance ({strerror(exc)})"
            )
        prefix = f"{what}: " if what else ""
        return FluxoutError(self.name, f"{prefix}{strerror(exc)}")

    # one-shot reads

    def read_main(self) -> bytes:
        """The main eventlog now (one lookup): the job must exist and be ours."""
        key = f"{self.kvsdir}.eventlog"
        try:
            value = None
            if self.direct:
                try:
                    value = self.boundary.lookup(key)
                except PermissionError:
                    self.direct = False
            if not self.direct:
                value = self.boundary.job_info_lookup(self.jobid, "eventlog")
        except OSError as exc:
            raise self.error(exc, "eventlog") from None
        if value is None:
            raise NotFoundError(self.name, "no such job")
        return value

    def resource_set(self) -> bytes:
        """The job's R (``job.<id>.R``, written at alloc), by one lookup;
        empty when there is none (the job was never allocated)."""
        try:
            value = None
            if self.direct:
                try:
                    value = self.boundary.lookup(f"{self.kvsdir}.R")
                except PermissionError:
                    self.direct = False
            if not self.direct:
                value = self.boundary.job_info_lookup(self.jobid, "R")
        except OSError as exc:
            raise self.error(exc, "R") from None
        return value or b""

    def _open_guest(self, key: str) -> Iterator[bytes] | None:
        """``job.<id>.<key>`` in pieces: directly, or through job-info when denied."""
        if self.direct:
            try:
                return self.boundary.read(f"{self.kvsdir}.{key}")
            except PermissionError:
                self.direct = False
        value = self.boundary.job_info_lookup(self.jobid, key)
        return None if value is None else iter((value,))

    def read_guest(self, log: _GuestLog) -> Iterator[bytes]:
        """A guest eventlog as it is now, in one bulk read (running or
        finished job; nothing when there is none).

        ``job.<id>.guest`` is a symlink into the guest namespace while the
        job runs and the graft afterwards: a read racing the switch sees
        EOPNOTSUPP and is retried.
        """
        for _ in range(GRAFT_RETRIES):
            try:
                pieces = self._open_guest(log.job_key)
                break
            except OSError as exc:
                if exc.errno != errno.EOPNOTSUPP:
                    raise self.error(exc, log.job_key) from None
            time.sleep(GRAFT_DELAY)
        else:
            raise FluxoutError(self.name, f"{log.job_key}: the guest namespace went away")
        if pieces is None:
            return
        try:
            yield from pieces
        except OSError as exc:
            raise self.error(exc, log.job_key) from None

    def chunks(self, follow: bool, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        # The main eventlog first, in every case: the job's state.
        main = self._main if self._main is not None else self.read_main()
        self._main = None
        if follow:
            yield from self._follow(main, wanted)
            return
        if "main" in wanted:
            yield from _slices("main", main)
        if RESOURCES in wanted:
            yield RESOURCES, self.resource_set()
        for eventlog in ("exec", "output"):
            if eventlog in wanted:
                for piece in self.read_guest(_GuestLog(eventlog, True)):
                    yield from _slices(eventlog, piece)

    # follow
    #
    # What follow asks of the instance, and why each request is safe for it
    # (a reader must never harm the instance it reads):
    #
    # * The main eventlog: a KVS watch (FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND)
    #   of job.<id>.eventlog in the primary namespace, which always exists,
    #   on a key just read; or job-info's eventlog watch, which checks access.
    # * The guest eventlogs, while the job runs: KVS watches in the guest
    #   namespace job-<id>, with two rules that kvs-watch needs (flux-core
    #   0.88 and its main branch): a watch in a namespace it has no monitor
    #   for yet creates one and asks for the namespace's root; if a second
    #   lookup of that namespace arrives before the answer, and the
    #   namespace is gone (the job just ended), kvs-watch clears the error
    #   for a FLUX_KVS_WAITCREATE watcher and then asserts on the other
    #   (kvs-watch.c, watcher_respond: "nsm->commit != NULL"): the broker
    #   aborts.  So:
    #   - never FLUX_KVS_WAITCREATE: the namespace and its exec.eventlog
    #     exist from the job's start, which is when they are first watched;
    #     a namespace that is gone fails at once with EOPNOTSUPP, and the
    #     rest is read from the graft in the primary namespace;
    #   - one guest lookup in flight at a time: the output watch is opened
    #     only after the exec watch has answered, and only once the exec
    #     eventlog says shell.init (the output key exists from then on, as
    #     flux job attach waits for it); a key still missing (ENOENT) is
    #     asked for again later, never waited for.
    #   The job-info watches used instead when the guest namespace is not
    #   ours (EPERM) follow the same two rules: job-info watches the guest
    #   namespace on our behalf, without FLUX_KVS_WAITCREATE.
    # * The graft (job.<id>.guest.*) and cat's reads are plain lookups
    #   (kvs, content store), which kvs-watch never sees.
    # * While a job waits for resources and its status line may show: the
    #   job's queue from job-list.list-id (once) and that queue's status from
    #   job-manager.queue-status (every QUEUE_CHECK_SECONDS), read-only RPCs
    #   that flux job attach sends for its status line too.

    def _open_main(self) -> Watch:
        if self.direct:
            return self.boundary.watch(f"{self.kvsdir}.eventlog")
        return self.boundary.event_watch(self.jobid, "eventlog")

    def _open_guest_watch(self, log: _GuestLog) -> Watch:
        if self.guest_job_info:
            return self.boundary.event_watch(self.jobid, f"guest.{log.guest_key}")
        return self.boundary.watch(log.guest_key, self.namespace)

    def _finish(self, log: _GuestLog) -> Iterator[tuple[str, bytes]]:
        """The rest of a guest eventlog, from the graft, once the job is over."""
        if log.watch is not None:
            for data in log.watch.take():
                if new := log.feed(data):
                    yield log.eventlog, new
            log.restart(None)
        for piece in self.read_guest(log):
            if rest := log.feed(piece):
                yield from _slices(log.eventlog, rest)
        log.done = True

    def _guest(
        self, log: _GuestLog, job: _MainLog, guests: list[_GuestLog]
    ) -> Iterator[tuple[str, bytes]]:
        """What a guest eventlog has for us now."""
        if job.released or self.guest_gone:
            yield from self._finish(log)
            return
        if log.watch is None:
            if not job.started or not log.exists or any(g.in_flight for g in guests):
                return
            log.restart(self._open_guest_watch(log))
            assert log.watch is not None
        for data in log.watch.take():
            if new := log.feed(data):
                yield log.eventlog, new
        err = log.watch.error
        if err is None:
            return
        if err.errno in (errno.EOPNOTSUPP, errno.ENODATA):
            # The namespace is gone: the rest of every guest eventlog is in
            # the graft, and no watch may be opened in it again.
            self.guest_gone = True
            yield from self._finish(log)
        elif err.errno == errno.ENOENT:
            log.restart(None)  # not there yet: asked again in a later round
        elif err.errno == errno.EPERM and not self.guest_job_info:
            # Not the namespace's owner: job-info checks access itself.
            self.guest_job_info = True
            log.restart(None)
        else:
            raise self.error(err, log.job_key)

    def _follow(self, initial: bytes, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        job = _MainLog()
        job.see(job.feed(initial))
        if "main" in wanted:
            yield from _slices("main", initial)
        guests: list[_GuestLog] = []
        if wanted & {"exec", "output"}:
            guests.append(_GuestLog("exec", "exec" in wanted))
        if "output" in wanted:
            guests.append(_GuestLog("output", True))
        main: Watch | None = None
        resources = RESOURCES in wanted  # R still to give (once the job has started)
        try:
            if not job.clean:
                main = self._open_main()
                job.pos = 0  # the watch gives the eventlog from its start
            while True:
                news = False  # anything passed on in this round
                if main is not None:
                    for data in main.take():
                        if new := job.feed(data):
                            job.see(new)
                            if "main" in wanted:
                                news = True
                                yield "main", new
                    err = main.error
                    if err is not None:
                        if err.errno != errno.ENODATA:
                            raise self.error(err, "eventlog")
                        # job-info ends its watch after clean.
                        job.released = job.clean = True
                        main = None
                if resources and job.started:
                    # Before the guest eventlogs, which are watched from now on.
                    resources = False
                    yield RESOURCES, self.resource_set()
                for log in guests:
                    if log.done:
                        continue
                    for eventlog, chunk in self._guest(log, job, guests):
                        if eventlog == "exec":
                            self._saw_exec(chunk, guests)
                        if log.shown:
                            news = True
                            yield eventlog, chunk
                if job.clean and all(log.done for log in guests):
                    return
                waiting = QUEUE in wanted and job.waiting and not job.started
                if waiting and (state := self._queue_state(job)) is not None:
                    yield QUEUE, state
                if not news:
                    yield IDLE, b""
                    self.boundary.wait(POLL_SECONDS)
        except OSError as exc:
            raise self.error(exc) from None
        finally:
            for log in guests:
                log.restart(None)
            if main is not None:
                main.cancel()

    def _queue_state(self, job: _MainLog) -> bytes | None:
        """Whether the queue of a job waiting for resources is stopped, as
        flux job attach asks for its status line: the job's queue from
        job-list (once), that queue's status from the job-manager (every
        QUEUE_CHECK_SECONDS). None when it is not time to ask, or no answer
        came: the status line then says what it knows."""
        now = time.monotonic()
        if now - job.queue_asked < QUEUE_CHECK_SECONDS:
            return None
        job.queue_asked = now
        try:
            if job.queue is None:
                reply = self.boundary.rpc(
                    "job-list.list-id", {"id": self.jobid, "attrs": ["queue"]}
                )
                listed = reply.get("job")
                queue = listed.get("queue") if isinstance(listed, dict) else None
                job.queue = queue if isinstance(queue, str) else "default"
            ask = {} if job.queue == "default" else {"name": job.queue}
            start = self.boundary.rpc("job-manager.queue-status", ask).get("start")
        except (OSError, ValueError):
            return None
        if not isinstance(start, bool):
            return None
        return orjson.dumps({"queue": job.queue, "stopped": not start})

    @staticmethod
    def _saw_exec(data: bytes, guests: list[_GuestLog]) -> None:
        """New exec eventlog bytes: once the shell is up, the output exists."""
        for name, _ in guests[0].scan.events(data):
            if name == "shell.init":
                for log in guests:
                    log.exists = True


def _slices(eventlog: str, value: bytes) -> Iterator[tuple[str, bytes]]:
    """A value as chunks of bytes for the core, in slices of CHUNK bytes."""
    if len(value) <= CHUNK:
        yield eventlog, value
        return
    view = memoryview(value)
    for start in range(0, len(value), CHUNK):
        yield eventlog, bytes(view[start : start + CHUNK])


def open_job(jobid: int, spelled: str, uri: str | None, boundary: Boundary | None = None) -> Source:
    """A job of a live instance (``uri``, else FLUX_URI) as a source."""
    if boundary is None:
        boundary = _boundary.connect(uri, format_jobid(jobid))
    source = FluxJobSource(boundary, jobid)
    if "/" in spelled:
        source.name = spelled  # a jobid path (ƒA/ƒB): named by all of it
    source.check()
    return source
