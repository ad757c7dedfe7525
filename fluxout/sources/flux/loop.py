"""Many jobs of one instance on one handle and one reactor, push-driven.

The jobs share one Boundary (one connection, one reactor): the ``Hub``.
Each job's source (source.py, unchanged) sees it through its own ``View``.
The watches are flux futures whose callbacks run in the reactor; a watch's
news marks its job ready (``Watch.notify``), and ``follow_together``
advances only the jobs that are ready, each until it has caught up (its
source's ``idle``), then runs the reactor once for all of them.  No thread
per job: 1000 jobs cost one connection and the work their news brings.

What is in flight is bounded, so that a reader never floods the broker
(tests/test_stress.py): at most MAX_IN_FLIGHT watches the instance has not
answered yet (the others wait their turn in the hub; the job sees a queued
watch as in flight, which to it it is), and at most MAX_ACTIVE jobs
followed at once (the others wait, in order, and are followed as jobs
end: their output is then read from the history, byte for byte the same).
Neither cap ever fails a job.  Bulk reads of finished jobs are synchronous
requests, one at a time, with a window of their own (boundary.LOAD_WINDOW).

Only the reactor's thread may use a hub (a flux handle is not to be shared
between threads).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from fluxout.jobid import format_jobid
from fluxout.selection import JobRecord
from fluxout.sources.base import IDLE, Notice, Source
from fluxout.sources.flux import boundary as _boundary  # its connect: a fake in tests
from fluxout.sources.flux.boundary import Boundary, FluxBoundary, Watch

# Watches sent and not answered yet, at most (the others are queued).
MAX_IN_FLIGHT = 64
# Jobs followed at once, at most (the others wait for one to end).
MAX_ACTIVE = 1024
# Every job is looked at this often even without news: for what a source
# asks again later (a key not there yet) and a pending job's status line.
TICK = 1.0
# The longest one wait on the reactor lasts (Ctrl-C and SIGTERM are seen
# between waits, at least this often).
WAIT = 0.25
# ... while the caller has other work (``between``).
SHORT_WAIT = 0.02


class Hub:
    """One boundary (one handle, one reactor) shared by several jobs."""

    def __init__(self, inner: Boundary, max_in_flight: int | None = None) -> None:
        self.inner = inner
        self.rounds = 0  # how often the reactor has run for any of them
        self.max_in_flight = MAX_IN_FLIGHT if max_in_flight is None else max_in_flight
        self.most_in_flight = 0  # the most there have been at once
        self.in_flight = 0
        self.queued: deque[_HubWatch] = deque()
        # Views with news since the loop last looked (an ordered set).
        self.ready: dict[View, None] = {}

    def open(self, watch: _HubWatch) -> None:
        if self.in_flight < self.max_in_flight and not self.queued:
            watch.start()
        else:
            self.queued.append(watch)

    def start_queued(self) -> None:
        """Send queued watches as slots are free (never inside the reactor)."""
        while self.queued and self.in_flight < self.max_in_flight:
            self.queued.popleft().start()

    def wait(self, timeout: float) -> None:
        self.start_queued()
        self.inner.wait(timeout)
        self.rounds += 1

    def take_ready(self) -> list[View]:
        views = list(self.ready)
        self.ready.clear()
        return views


class _HubWatch:
    """A watch of the shared boundary, sent when a slot is free.

    It holds a slot from when it is sent until the instance answers it (its
    first value or its error) or it is canceled.
    """

    def __init__(self, hub: Hub, view: View, send: Callable[[], Watch]) -> None:
        self.hub = hub
        self.view = view
        self._send = send
        self.inner: Watch | None = None
        self.notify: Callable[[], None] | None = None
        self._failed: OSError | None = None
        self.holding = False
        self.canceled = False

    def start(self) -> None:
        if self.canceled:
            return
        try:
            inner = self._send()
        except OSError as exc:  # told through ``error``, as any failure
            self._failed = exc
            self.view.poke()
            return
        self.inner = inner
        self.holding = True
        hub = self.hub
        hub.in_flight += 1
        hub.most_in_flight = max(hub.most_in_flight, hub.in_flight)
        inner.notify = self._news

    def _news(self) -> None:
        # Inside the reactor: only bookkeeping here.
        inner = self.inner
        if self.holding and inner is not None and inner.answered:
            self._release()
        self.view.poke()

    def _release(self) -> None:
        if self.holding:
            self.holding = False
            self.hub.in_flight -= 1

    @property
    def error(self) -> OSError | None:
        if self._failed is not None:
            return self._failed
        return self.inner.error if self.inner is not None else None

    @property
    def answered(self) -> bool:
        if self._failed is not None:
            return True
        return self.inner is not None and self.inner.answered

    def take(self) -> list[bytes]:
        inner = self.inner
        if inner is None:
            return []
        if self.holding and inner.answered:
            self._release()  # a boundary that does not notify
        return inner.take()

    def cancel(self) -> None:
        if self.canceled:
            return
        self.canceled = True
        if self.inner is not None:
            self.inner.cancel()
            self._release()
        # A queued one is skipped when its turn comes (``start``).


class View:
    """One job's view of a shared boundary (the Boundary protocol).

    Alone (``driven`` False), a wait runs the reactor, and returns at once
    when it ran for another job since this one last waited: what came may
    be this job's.  Driven by ``follow_together``, a wait returns at once:
    the loop has run the reactor for every job, and resumes this one when
    it has news.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.seen = hub.rounds
        self.driven = False
        # A bulk read is under way: its requests are in flight, and their
        # answers would be lost if the reactor ran for another job now.
        self.reading = False

    def poke(self) -> None:
        """This job has news (called inside the reactor)."""
        self.hub.ready[self] = None

    def lookup(self, key: str, namespace: str | None = None) -> bytes | None:
        return self.hub.inner.lookup(key, namespace)

    def read(self, key: str, namespace: str | None = None) -> Iterator[bytes] | None:
        pieces = self.hub.inner.read(key, namespace)
        return None if pieces is None else self._reading(pieces)

    def _reading(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        self.reading = True
        try:
            yield from pieces
        finally:
            self.reading = False

    def job_info_lookup(self, jobid: int, key: str) -> bytes | None:
        return self.hub.inner.job_info_lookup(jobid, key)

    def rpc(self, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.hub.inner.rpc(topic, payload)

    def list_jobs(self, payload: dict[str, Any]) -> list[JobRecord]:
        return self.hub.inner.list_jobs(payload)

    def _watch(self, send: Callable[[], Watch]) -> Watch:
        watch = _HubWatch(self.hub, self, send)
        self.hub.open(watch)
        return watch

    def watch(self, key: str, namespace: str | None = None) -> Watch:
        return self._watch(lambda: self.hub.inner.watch(key, namespace))

    def event_watch(self, jobid: int, eventlog: str) -> Watch:
        return self._watch(lambda: self.hub.inner.event_watch(jobid, eventlog))

    def wait(self, timeout: float) -> None:
        if self.driven:
            return
        hub = self.hub
        if self.seen == hub.rounds:
            hub.wait(timeout)
        self.seen = hub.rounds


class Instance:
    """The Flux instance the jobs of one call are read from: the caller's
    ``flux.Flux`` handle, or one connection to ``uri`` (else FLUX_URI),
    made when the first jobid needs it and shared by the others."""

    def __init__(self, uri: str | None = None, handle: Any = None) -> None:
        if uri is not None and handle is not None:
            raise ValueError("give a uri or a handle, not both")
        self.uri = uri
        self.handle = handle
        self._hub: Hub | None = None

    @classmethod
    def of(cls, flux_handle: Any) -> Instance:
        """flux.job.output's ``flux_handle``: a handle, a URI, or None."""
        if flux_handle is None or isinstance(flux_handle, str):
            return cls(uri=flux_handle)
        if isinstance(flux_handle, Instance):
            return flux_handle
        return cls(handle=flux_handle)

    def boundary(self, job: str) -> View:
        if self._hub is None:
            if self.handle is not None:
                from fluxout.sources.flux.bindings import import_flux

                inner: Boundary = FluxBoundary(import_flux(job), self.handle)
            else:
                inner = _boundary.connect(self.uri, job)
            self._hub = Hub(inner)
        return View(self._hub)

    def prefetch(self, jobids: list[int]) -> None:
        """Send the reads of these jobs ahead (``cat`` of many jobs, each
        read after the other): once there is a connection, and when the
        boundary can (``FluxBoundary.prefetch``)."""
        send = getattr(self._hub.inner, "prefetch", None) if self._hub is not None else None
        if send is None:
            return
        keys = []
        for jobid in jobids:
            kvs = format_jobid(jobid, "kvs")
            # The eventlogs are small: a plain lookup each (one request);
            # the output may be big: its tree, then its blobs.
            keys += [(f"{kvs}.eventlog", False), (f"{kvs}.guest.exec.eventlog", False)]
            keys.append((f"{kvs}.guest.output", True))
        send(keys)


# -- the loop -----------------------------------------------------------------


class Member(Protocol):
    """One job that ``follow_together`` follows: fed its source's chunks."""

    @property
    def source(self) -> Source: ...
    @property
    def wanted(self) -> frozenset[str]: ...
    def feed(self, eventlog: str, chunk: bytes | Notice) -> None: ...
    def idle(self) -> bool: ...


M = TypeVar("M", bound=Member)

# What follow_together says about a member after a step: it has more to
# come (MORE), it is over (OVER), or this exception ended it.
MORE = "more"
OVER = "over"


class _Active(Generic[M]):
    def __init__(self, member: M, view: View) -> None:
        self.member = member
        self.view = view
        self.chunks = member.source.chunks(True, member.wanted)


def _view(source: Source) -> View:
    view = getattr(source, "boundary", None)
    if not isinstance(view, View):
        raise TypeError(f"{source.name}: not a job of a shared boundary")
    return view


def _close(chunks: Iterator[object]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def follow_together(
    members: Iterable[M],
    max_active: int | None = None,
    between: Callable[[], bool] | None = None,
) -> Iterator[tuple[M, str | Exception]]:
    """Follow every member until it is over, in one thread and one reactor.

    ``members`` (live jobs whose sources see one Hub through their View) is
    consumed as slots are free, so it may be a lazy selection.  Yields
    ``(member, MORE)`` after each chunk fed to it (the moment to take its
    records), ``(member, OVER)`` once it is over, and ``(member, exc)``
    when its source or its feed raised ``exc``: it is then dropped, and the
    others go on (the caller may re-raise).  A member's chunks stay in
    order; members take turns only between chunks.  ``between`` is other
    work of the caller's thread, done once a round: while it says it has
    more to do, the reactor waits at most SHORT_WAIT.
    """
    waiting = iter(members)
    cap = MAX_ACTIVE if max_active is None else max_active
    active: dict[View, _Active[M]] = {}
    hub: Hub | None = None
    more = True
    tick = time.monotonic() + TICK
    try:
        while True:
            while more and len(active) < cap:
                member = next(waiting, None)
                if member is None:
                    more = False
                    break
                view = _view(member.source)
                if hub is None:
                    hub = view.hub
                elif view.hub is not hub:
                    raise ValueError(f"{member.source.name}: a job of another instance")
                view.driven = True
                active[view] = _Active(member, view)
                view.poke()  # its first step: what the instance has now
            busy = between() if between is not None else False
            if not active or hub is None:
                return
            hub.start_queued()
            now = time.monotonic()
            if now >= tick:
                tick = now + TICK
                for view in active:
                    view.poke()
            ready = hub.take_ready()
            if not ready:
                hub.wait(max(0.0, min(SHORT_WAIT if busy else WAIT, tick - now)))
                continue
            for view in ready:
                job = active.get(view)
                if job is not None:
                    yield from _step(job, active)
    finally:
        for job in active.values():
            _close(job.chunks)


def _step(job: _Active[M], active: dict[View, _Active[M]]) -> Iterator[tuple[M, str | Exception]]:
    """Advance one job until it has caught up with what the instance has."""
    member = job.member
    end: str | Exception = OVER
    try:
        for eventlog, chunk in job.chunks:
            if eventlog == IDLE:
                if not member.idle():
                    return
                break
            member.feed(eventlog, chunk)
            yield member, MORE
    except Exception as exc:
        end = exc
    del active[job.view]
    _close(job.chunks)
    yield member, end
