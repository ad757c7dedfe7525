"""A fake Flux instance that replays one captured fixture job.

It implements ``fluxout.sources.flux.Boundary`` the way flux-core 0.88 behaves
(checked against a real instance, see tests/test_integration.py):

* the main eventlog is ``job.<kvs>.eventlog`` in the primary namespace;
* from the exec system's ``init`` until ``release`` (final), the guest
  namespace ``job-<id>`` holds ``output`` and ``exec.eventlog``, and
  ``job.<kvs>.guest`` is a symlink to it, so a lookup of
  ``job.<kvs>.guest.output`` reads the live value;
* at ``release`` the namespace is grafted into ``job.<kvs>.guest`` and removed:
  a lookup or watch in it then fails with EOPNOTSUPP;
* KVS watches (FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND) deliver the whole value,
  then what was appended since; job-info watches deliver one entry at a time
  and end (ENODATA) after ``clean``;
* a watch is answered (its first value or error) only after the reader has
  waited on the reactor once; until then it is in flight and gives nothing.
  A watch without FLUX_KVS_WAITCREATE of a key that does not exist fails at
  once with ENOENT, and of a namespace that does not exist with EOPNOTSUPP.

It also records every request that could harm a real instance in
``hazards``: a guest-namespace watch with FLUX_KVS_WAITCREATE, or a second
lookup of a guest namespace while another is still in flight (together they
can abort a flux-core 0.88 broker, see fluxout.sources.flux.source).

Each line of an eventlog appears at its own timestamp (fixture time, seconds
since the job's submit event), replayed ``scale`` real seconds per fixture
second from ``start_at``; ``scale=0`` jumps from one change to the next with
no real sleeping.  ``start_at=None`` arrives after the job is over.
"""

from __future__ import annotations

import bisect
import errno
import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from fluxout.jobid import format_jobid, parse_jobid

OWNER = "owner"  # the instance owner: reads everything directly
GUEST = "guest"  # the job's owner, not the instance's: job-info and guest namespace
OTHER = "other"  # someone else: denied everywhere

PIECE = 4096  # the size of the pieces ``read`` gives a value in


class Eventlog:
    """One eventlog of the fixture: its bytes, and when each line appeared."""

    def __init__(self, data: bytes, t0: float, end: float = math.inf) -> None:
        self.data = data
        self.ends: list[int] = []  # byte offset after each line
        self.times: list[float] = []  # when each line is visible (monotonic)
        pos = 0
        latest = -math.inf
        for line in data.splitlines(keepends=True):
            pos += len(line)
            try:
                stamp = float(orjson.loads(line)["timestamp"]) - t0
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                stamp = latest
            latest = min(max(latest, stamp), end)
            self.ends.append(pos)
            self.times.append(latest)

    def at(self, t: float) -> bytes:
        """The value at fixture time t."""
        n = bisect.bisect_right(self.times, t)
        return self.data[: self.ends[n - 1]] if n else b""

    def lines_at(self, t: float) -> list[bytes]:
        return self.at(t).splitlines(keepends=True)


class Clock:
    """Fixture time, started at the first question asked."""

    def __init__(self, scale: float, start_at: float) -> None:
        self.scale = scale
        self.start_at = start_at
        self.real0: float | None = None
        self.virtual = start_at

    def now(self) -> float:
        if self.scale == 0:
            return self.virtual
        if self.real0 is None:
            self.real0 = time.monotonic()
        return self.start_at + (time.monotonic() - self.real0) / self.scale

    def sleep_until(self, t: float, timeout: float) -> None:
        """Let fixture time pass up to t, or for timeout real seconds."""
        now = self.now()
        if self.scale == 0:
            self.virtual = t if t < math.inf else now + timeout
            return
        time.sleep(max(0.0, min(timeout, (t - now) * self.scale)))


class FakeWatch:
    """A watch whose state at any time is a function of fixture time."""

    def __init__(
        self,
        fake: FakeFlux,
        key: str,
        state: Callable[[float], tuple[list[bytes], OSError | None]],
        append: bool,
    ) -> None:
        self.fake = fake
        self.key = key  # as in FakeFlux.calls
        self.state = state  # t -> (values from the start, then the error)
        self.append = append
        self.given = 0  # values (or bytes, for an append watch) delivered
        self._error: OSError | None = None
        self.canceled = False
        self.opened = fake.waits  # answered once the reader waits after this
        self.opened_at = fake.now()  # fixture time
        self.guest = False  # a lookup in the guest namespace
        # Called when the fake reactor has news for the watch, as the real
        # watch's future callback does (fluxout.sources.flux.loop).
        self.notify: Callable[[], None] | None = None

    @property
    def error(self) -> OSError | None:
        return self._error

    def has_news(self) -> bool:
        """Whether ``take`` would give something now, or the error."""
        if self.canceled or self._error is not None or not self.answered:
            return False
        values, err = self.state(self.fake.now())
        if err is not None:
            return True
        if self.append:
            return sum(map(len, values)) > self.given
        return len(values) > self.given

    @property
    def answered(self) -> bool:
        return self.fake.waits > self.opened

    def take(self) -> list[bytes]:
        if self.canceled or self._error is not None or not self.answered:
            return []
        values, err = self.state(self.fake.now())
        if self.append:
            value = b"".join(values)
            new = [value[self.given :]] if len(value) > self.given else []
            self.given = max(self.given, len(value))
        else:
            new = values[self.given :]
            self.given = max(self.given, len(values))
        if err is not None:
            self._error = err
        return new

    def cancel(self) -> None:
        self.canceled = True


def _enotsup() -> OSError:
    return OSError(errno.EOPNOTSUPP, "Operation not supported")


def _eperm() -> OSError:
    return PermissionError(errno.EPERM, "Operation not permitted")


class FakeFlux:
    """A Boundary replaying the fixture job in ``case``."""

    def __init__(
        self,
        case: Path,
        *,
        user: str = OWNER,
        scale: float = 0.0,
        start_at: float | None = 0.0,
        lose_tail: float = 0.0,
        die_at: float | None = None,
        interrupt_at: float | None = None,
        hold: bool = False,
        queue: str | None = None,
        queue_stopped: bool = False,
        jobid: int | None = None,
    ) -> None:
        meta = json.loads((case / "case.json").read_text())
        # ``jobid``: the fixture's job under another id (many jobs of one
        # fixture in one FakeInstance).
        self.jobid = parse_jobid(meta["jobid"]) if jobid is None else jobid
        self.f58 = format_jobid(self.jobid)
        self.kvs = format_jobid(self.jobid, "kvs")
        self.namespace = f"job-{self.jobid}"
        self.user = user
        self.lose_tail = lose_tail
        self.die_at = die_at
        self.interrupt_at = interrupt_at  # Ctrl-C, in fixture time
        self.queue = queue  # the job's queue (None: the anonymous one)
        self.queue_stopped = queue_stopped
        self.calls: list[tuple[str, str]] = []
        self.watches: list[FakeWatch] = []
        self.hazards: list[str] = []
        self.waits = 0  # how often the reader has waited on the reactor

        main_bytes = (case / "eventlog").read_bytes()
        if hold:
            # The job as it was before its exception and cleanup: it never ends.
            kept = main_bytes.splitlines(keepends=True)
            main_bytes = b"".join(kept[: self._held_at(kept)])
        t0 = float(orjson.loads(main_bytes.splitlines()[0])["timestamp"])
        self.main = Eventlog(main_bytes, t0)
        self.released = math.inf
        self.clean = math.inf
        # job.<kvs>.R, when the case saved it (flux job info ID R): there from alloc on.
        self.r = (case / "R").read_bytes() if (case / "R").is_file() else None
        self.allocated = math.inf
        for line, stamp in zip(main_bytes.splitlines(), self.main.times, strict=True):
            event = orjson.loads(line)
            if event["name"] == "alloc":
                self.allocated = stamp
            if event["name"] == "release" and event.get("context", {}).get("final"):
                self.released = stamp
            elif event["name"] == "clean":
                self.clean = stamp
        self.guest: dict[str, Eventlog] = {}
        for key, name in (("exec.eventlog", "exec.eventlog"), ("output", "output.eventlog")):
            if (case / name).is_file():
                self.guest[key] = Eventlog((case / name).read_bytes(), t0, self.released)
        # job-exec grafts the guest namespace into job.<kvs>.guest and removes
        # it just before it posts release (final).
        last = max([-math.inf, *(g.times[-1] for g in self.guest.values() if g.times)])
        self.removed = max(last, self.released - 1e-4)
        exec_log = self.guest.get("exec.eventlog")
        self.created = exec_log.times[0] if exec_log and exec_log.times else math.inf
        end = max([self.main.times[-1], *(g.times[-1] for g in self.guest.values() if g.times)])
        self.end = end
        self.clock = Clock(scale, end + 1.0 if start_at is None else start_at)
        self.changes = sorted(
            {*self.main.times, self.created, self.removed}
            | {t for g in self.guest.values() for t in g.times}
            | {t for t in (die_at, interrupt_at) if t is not None}
        )

    @staticmethod
    def _held_at(lines: list[bytes]) -> int:
        for i, line in enumerate(lines):
            if orjson.loads(line)["name"] in ("exception", "start"):
                return i
        return len(lines)

    # time

    def now(self) -> float:
        return self.clock.now()

    def _alive(self) -> None:
        if self.die_at is not None and self.now() >= self.die_at:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    # what the instance holds at time t

    def _guest_live(self, t: float) -> bool:
        return self.created <= t < self.removed

    def _through_symlink(self, key: str, t: float) -> bytes | None:
        """job.<kvs>.guest.<key>: the live namespace, then the graft."""
        log = self.guest.get(key)
        if log is None or t < self.created:
            return None
        value = log.at(t) if t < self.removed else log.data
        return value or None

    def _primary(self, key: str, t: float) -> bytes | None:
        if key == f"{self.kvs}.eventlog":
            return self.main.at(t)
        if key == f"{self.kvs}.R":
            return self._r_at(t)
        for guest_key in ("output", "exec.eventlog"):
            if key == f"{self.kvs}.guest.{guest_key}":
                return self._through_symlink(guest_key, t)
        return None

    def _r_at(self, t: float) -> bytes | None:
        return self.r if self.r is not None and t >= self.allocated else None

    # the Boundary protocol

    def lookup(self, key: str, namespace: str | None = None) -> bytes | None:
        self.calls.append(("lookup", key if namespace is None else f"{namespace}::{key}"))
        return self._lookup(key, namespace)

    def _lookup(self, key: str, namespace: str | None) -> bytes | None:
        self._alive()
        t = self.now()
        if namespace is None:
            if self.user != OWNER:
                raise _eperm()
            return self._primary(key, t)
        if namespace != self.namespace or not self._guest_live(t):
            raise _enotsup()
        if self.user == OTHER:
            raise _eperm()
        log = self.guest.get(key)
        return (log.at(t) or None) if log else None

    def read(self, key: str, namespace: str | None = None) -> Iterator[bytes] | None:
        """As lookup, in pieces that do not respect line ends (as blobs)."""
        self.calls.append(("read", key if namespace is None else f"{namespace}::{key}"))
        value = self._lookup(key, namespace)
        if value is None:
            return None
        return (value[i : i + PIECE] for i in range(0, len(value), PIECE))

    def job_info_lookup(self, jobid: int, key: str) -> bytes | None:
        self.calls.append(("job_info_lookup", key))
        self._alive()
        if jobid != self.jobid:
            raise FileNotFoundError(errno.ENOENT, "invalid job id")
        if self.user == OTHER:
            raise PermissionError(errno.EPERM, "access is restricted to job/instance owner")
        t = self.now()
        if key == "eventlog":
            return self.main.at(t)
        if key == "R":
            return self._r_at(t)
        if key.startswith("guest."):
            return self._through_symlink(key[len("guest.") :], t)
        return None

    def rpc(self, topic: str, payload: dict[str, object]) -> dict[str, object]:
        """job-list.list-id and job-manager.queue-status, as 0.88 answers them."""
        self.calls.append(("rpc", topic))
        self._alive()
        if topic == "job-list.list-id":
            if payload.get("id") != self.jobid:
                raise FileNotFoundError(errno.ENOENT, "JobID not found")
            job: dict[str, object] = {"id": self.jobid}
            if self.queue is not None:
                job["queue"] = self.queue
            return {"job": job}
        if topic == "job-manager.queue-status":
            if payload.get("name") != self.queue:
                raise OSError(errno.EINVAL, f"{payload.get('name')}: no such queue")
            return {"enable": True, "start": not self.queue_stopped}
        raise OSError(errno.ENOSYS, f"{topic}: no such service")

    def _guest_lookup(self, name: str) -> None:
        """A lookup in the guest namespace is sent: is another in flight?"""
        busy = [w.key for w in self.watches if w.guest and not w.answered]
        if busy:
            self.hazards.append(f"{name} sent while {', '.join(busy)} in flight")

    def watch(self, key: str, namespace: str | None = None, waitcreate: bool = False) -> FakeWatch:
        name = key if namespace is None else f"{namespace}::{key}"
        self.calls.append(("watch", name))
        self._alive()
        opened = self.now()
        if namespace is not None:
            if waitcreate:
                self.hazards.append(f"{name} watched with FLUX_KVS_WAITCREATE")
            self._guest_lookup(name)

        def missing() -> tuple[list[bytes], OSError | None]:
            if waitcreate:
                return [], None
            return [], FileNotFoundError(errno.ENOENT, "No such file or directory")

        def primary(t: float) -> tuple[list[bytes], OSError | None]:
            if self.user != OWNER:
                return [], _eperm()
            value = self._primary(key, t)
            if value is None:
                return missing()
            return [value], None

        def guest(t: float) -> tuple[list[bytes], OSError | None]:
            if namespace != self.namespace or opened >= self.removed:
                return [], _enotsup()
            if opened < self.created and not waitcreate:
                return [], _enotsup()  # no such namespace (yet)
            if t < self.created:
                return [], None  # WAITCREATE waits for the namespace
            if self.user == OTHER:
                return [], _eperm()
            log = self.guest.get(key)
            if log is None or (not log.at(opened) and t < self.removed):
                return missing()
            # A watch may miss what is appended just before the namespace
            # goes (flux-core issue #2386): lose_tail seconds of it, which
            # then only the graft has.
            if t < self.removed:
                return [log.at(min(t, self.removed - self.lose_tail))], None
            return [log.at(self.removed - self.lose_tail)], _enotsup()

        watch = FakeWatch(self, name, primary if namespace is None else guest, append=True)
        watch.guest = namespace is not None
        return self._add(watch)

    def event_watch(self, jobid: int, eventlog: str) -> FakeWatch:
        self.calls.append(("event_watch", eventlog))
        self._alive()
        if eventlog.startswith("guest."):
            # job-info looks in the guest namespace for us (without WAITCREATE).
            self._guest_lookup(eventlog)

        def state(t: float) -> tuple[list[bytes], OSError | None]:
            if jobid != self.jobid:
                return [], FileNotFoundError(errno.ENOENT, "job not found")
            if self.user == OTHER:
                return [], _eperm()
            if eventlog == "eventlog":
                lines = self.main.lines_at(t)
                done = t >= self.clean
                return lines, OSError(errno.ENODATA, "No data available") if done else None
            value = self._through_symlink(eventlog[len("guest.") :], t)
            return (value or b"").splitlines(keepends=True), None

        watch = FakeWatch(self, eventlog, state, append=False)
        watch.guest = eventlog.startswith("guest.")
        return self._add(watch)

    def _add(self, watch: FakeWatch) -> FakeWatch:
        self.watches.append(watch)
        return watch

    def wait(self, timeout: float) -> None:
        self._alive()
        self.waits += 1
        now = self.now()
        i = bisect.bisect_right(self.changes, now)
        nxt = self.changes[i] if i < len(self.changes) else math.inf
        self.clock.sleep_until(nxt, timeout)
        now = self.now()
        if self.die_at is not None and now >= self.die_at:
            raise ConnectionResetError(errno.ECONNRESET, "the broker closed the connection")
        if self.interrupt_at is not None and now >= self.interrupt_at:
            raise KeyboardInterrupt
        if self.clock.scale == 0 and now > self.end + 600:
            raise AssertionError("still waiting 10 minutes (fixture time) after the job")
        self.notify_watches()

    def notify_watches(self) -> None:
        """The fake reactor's callbacks: each watch with news is told."""
        for watch in self.watches:
            if watch.notify is not None and watch.has_news():
                watch.notify()


# -- an instance of many jobs: job-list, and instances inside jobs -------------------

# job-list's state and result bits (flux-core libjob/job.h).
_RUN, _INACTIVE = 16, 64
_RESULTS = {"completed": 1, "failed": 2, "canceled": 4, "timeout": 8}


def _match(term: dict[str, object], job: dict[str, object]) -> bool:
    """One RFC 31 constraint term as job-list 0.88 evaluates it."""
    ((op, values),) = term.items()
    assert isinstance(values, list)
    if op == "and":
        return all(_match(t, job) for t in values)
    if op == "or":
        return any(_match(t, job) for t in values)
    if op == "not":
        return not _match(values[0], job)
    if op == "userid":
        return job["userid"] in values
    if op == "queue":
        return job.get("queue") in values
    if op == "name":
        return job.get("name") in values
    if op == "states":
        return bool(int(job["state"]) & int(values[0]))  # type: ignore[call-overload]
    if op == "results":
        return job["state"] == _INACTIVE and bool(
            int(job.get("result", 0)) & int(values[0])  # type: ignore[call-overload]
        )
    raise AssertionError(f"constraint operator {op!r} not known to job-list")


def _job_of(fake: FakeFlux, name: str, userid: int, queue: str | None) -> dict[str, object]:
    """What job-list knows of a fixture job, from its main eventlog."""
    events = [orjson.loads(line) for line in fake.main.data.splitlines()]
    names = [e["name"] for e in events]
    job: dict[str, object] = {
        "id": fake.jobid,
        "name": name,
        "userid": userid,
        "t_submit": events[0]["timestamp"],
    }
    if queue is not None:
        job["queue"] = queue
    if "clean" not in names:
        job["state"] = _RUN if "start" in names else 8  # SCHED
        return job
    job["state"] = _INACTIVE
    job["t_inactive"] = events[names.index("clean")]["timestamp"]
    exc = next((e["context"] for e in events if e["name"] == "exception"), None)
    finish = next((e["context"].get("status") for e in events if e["name"] == "finish"), None)
    if exc is not None and exc.get("type") in ("cancel", "timeout"):
        job["result"] = _RESULTS["canceled" if exc["type"] == "cancel" else "timeout"]
    elif finish == 0 and exc is None:
        job["result"] = _RESULTS["completed"]
    else:
        job["result"] = _RESULTS["failed"]
    return job


class FakeInstance:
    """Several fixture jobs in one instance, as job-list lists them.

    ``connect(uri, name)`` is what tests put in place of the boundary's:
    a job's reader gets that job's own FakeFlux (its own connection, as
    every job has), a selection gets this instance, whose ``list_jobs``
    evaluates job-list's request (constraint, since, max_entries, its
    order) over the jobs. A job given ``inside`` runs an instance of its
    own (a flux batch job): its ``user.uri`` annotation names it, and
    ``connect`` to that URI gives it. ``appear`` holds jobs back from the
    first N listings (submitted later); ``stop_after`` listings, a listing
    raises KeyboardInterrupt (Ctrl-C while follow --new waits).
    """

    def __init__(self, uri: str = "local:///fake/0") -> None:
        self.uri = uri
        self.jobs: dict[int, FakeFlux] = {}
        self.records: dict[int, dict[str, object]] = {}
        self.children: dict[int, FakeInstance] = {}
        self.appear: dict[int, int] = {}
        self.listings = 0
        self.stop_after: int | None = None
        self.payloads: list[dict[str, object]] = []

    def add(
        self,
        fake: FakeFlux,
        name: str,
        *,
        userid: int | None = None,
        queue: str | None = None,
        appear: int = 0,
        inside: FakeInstance | None = None,
    ) -> FakeFlux:
        import os

        uid = os.getuid() if userid is None else userid
        self.jobs[fake.jobid] = fake
        self.records[fake.jobid] = _job_of(fake, name, uid, queue)
        self.appear[fake.jobid] = appear
        if inside is not None:
            self.children[fake.jobid] = inside
            self.records[fake.jobid]["state"] = _RUN
        return fake

    def connect(self, uri: str | None, name: str) -> object:
        """A connection for a job (the jobs of one command share it: each
        request goes to the job it names), or for the instance."""
        where = self._at(uri)
        try:
            named: int | None = parse_jobid(name)  # as the user gave it: f58, decimal...
        except ValueError:
            named = None
        if named in where.jobs:
            return _Connection(SharedFake(*where.jobs.values()), where)
        return where

    def _at(self, uri: str | None) -> FakeInstance:
        if uri is None or uri == self.uri:
            return self
        for child in self.children.values():
            try:
                return child._at(uri)
            except LookupError:
                continue
        raise LookupError(uri)

    def list_jobs(self, payload: dict[str, object]) -> list[object]:
        from fluxout.selection import record_of

        self.payloads.append(payload)
        self.listings += 1
        if self.stop_after is not None and self.listings > self.stop_after:
            raise KeyboardInterrupt
        since = float(payload.get("since") or 0.0)  # type: ignore[arg-type]
        for jobid, appear in self.appear.items():
            job = self.records[jobid]
            if appear and self.listings == appear + 1 and job["state"] == _INACTIVE:
                # Submitted after the first look: it ended just now.
                job["t_submit"] = job["t_inactive"] = time.time()
        constraint = payload["constraint"]
        assert isinstance(constraint, dict)
        shown = [
            job
            for jobid, job in self.records.items()
            if self.listings > self.appear[jobid]
            and _match(constraint, job)
            and (job["state"] != _INACTIVE or float(job["t_inactive"]) > since)  # type: ignore[arg-type]
        ]

        # job-list's order: pending, then running, then inactive, newest first.
        def order(job: dict[str, object]) -> tuple[int, float]:
            state = int(job["state"])  # type: ignore[call-overload]
            rank = 0 if state < _RUN else 1 if state < _INACTIVE else 2
            when = float(job.get("t_inactive") or job["t_submit"])  # type: ignore[arg-type]
            return rank, -when

        shown.sort(key=order)
        limit = int(payload.get("max_entries") or 0)  # type: ignore[call-overload]
        wanted = payload.get("attrs")
        assert isinstance(wanted, list)
        jobs = shown[:limit] if limit else shown
        return [record_of({k: v for k, v in j.items() if k == "id" or k in wanted}) for j in jobs]

    def rpc(self, topic: str, payload: dict[str, object]) -> dict[str, object]:
        """job-list.list-id with annotations: a job's instance URI."""
        if topic != "job-list.list-id":
            raise OSError(errno.ENOSYS, f"{topic}: no such service")
        jobid = payload.get("id")
        if jobid not in self.records:
            raise FileNotFoundError(errno.ENOENT, "JobID not found")
        job: dict[str, object] = {"id": jobid, "state": self.records[jobid]["state"]}
        child = self.children.get(jobid)
        if child is not None:
            job["annotations"] = {"user": {"uri": child.uri}}
        return {"job": job}


class _Connection:
    """A connection made for the jobs: their SharedFake reads them; the
    instance answers what is asked of the instance (job-list)."""

    def __init__(self, fake: SharedFake, instance: FakeInstance) -> None:
        self.fake = fake
        self.instance = instance

    def __getattr__(self, name: str) -> object:
        return getattr(self.fake, name)

    def list_jobs(self, payload: dict[str, object]) -> list[object]:
        return self.instance.list_jobs(payload)

    def rpc(self, topic: str, payload: dict[str, object]) -> dict[str, object]:
        if topic == "job-list.list-id" and "annotations" in (payload.get("attrs") or []):  # type: ignore[operator]
            return self.instance.rpc(topic, payload)
        return self.fake.rpc(topic, payload)


class SharedFake:
    """One boundary (one handle, one reactor) for several fake jobs:
    requests go to the job they name; an unknown job is not found."""

    def __init__(self, *fakes: FakeFlux) -> None:
        self.fakes = fakes
        self.waits = 0

    @property
    def hazards(self) -> list[str]:
        return [h for fake in self.fakes for h in fake.hazards]

    def _by_key(self, key: str, namespace: str | None) -> FakeFlux | None:
        for fake in self.fakes:
            if key.startswith(fake.kvs + ".") or namespace == fake.namespace:
                return fake
        return None

    def _by_id(self, jobid: int) -> FakeFlux:
        for fake in self.fakes:
            if fake.jobid == jobid:
                return fake
        raise FileNotFoundError(errno.ENOENT, "invalid job id")

    def lookup(self, key: str, namespace: str | None = None) -> bytes | None:
        fake = self._by_key(key, namespace)
        if fake is None:
            if namespace is not None:
                raise _enotsup()
            return None
        return fake.lookup(key, namespace)

    def read(self, key: str, namespace: str | None = None) -> Iterator[bytes] | None:
        fake = self._by_key(key, namespace)
        return None if fake is None else fake.read(key, namespace)

    def job_info_lookup(self, jobid: int, key: str) -> bytes | None:
        return self._by_id(jobid).job_info_lookup(jobid, key)

    def rpc(self, topic: str, payload: dict[str, object]) -> dict[str, object]:
        jobid = payload.get("id")
        fake = self._by_id(jobid) if isinstance(jobid, int) else self.fakes[0]
        return fake.rpc(topic, payload)

    def watch(self, key: str, namespace: str | None = None) -> FakeWatch:
        fake = self._by_key(key, namespace)
        if fake is None:
            raise AssertionError(f"a watch of {key} that names no job")
        return fake.watch(key, namespace)

    def event_watch(self, jobid: int, eventlog: str) -> FakeWatch:
        return self._by_id(jobid).event_watch(jobid, eventlog)

    def wait(self, timeout: float) -> None:
        # One reactor: time passes for the jobs that still have changes to
        # come (a job that is over would wait on past its end); the others
        # see the reactor run too (their new watches are answered).
        self.waits += 1
        pending = [f for f in self.fakes if f.now() < f.changes[-1]] or list(self.fakes[:1])
        for fake in self.fakes:
            if fake in pending:
                fake.wait(timeout)
            else:
                fake.waits += 1
                fake.notify_watches()
