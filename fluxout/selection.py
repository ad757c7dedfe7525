"""Which jobs a selection names: flux watch's and flux jobs' options, as policy.

``-a/--active``, ``-A/--all``, ``-f/--filter STATE|RESULT``, ``--jobs-since``,
``-c/--count``, ``--user``, ``--queue`` become one ``job-list.list`` request
(its RFC 31 constraint built as ``flux.job.list.job_list`` builds it);
``--name REGEX`` is matched on the job name here, as ``flux pgrep`` does;
``follow --new`` asks again later and keeps the jobs not seen before.

Pure: the request goes through a Boundary (sources/flux/boundary.py),
which turns the answer into ``JobRecord``s with ``record_of``. The result
is a plain list of jobids (``ƒ...``, or ``ƒA/ƒ...`` inside job ƒA's
instance), the JOB arguments any reader takes.
"""

from __future__ import annotations

import os
import pwd
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fluxout.jobid import format_jobid

__all__ = [
    "JobRecord",
    "Selection",
    "SelectionError",
    "choose",
    "job_list_payload",
    "parse_filters",
    "parse_when",
    "record_of",
]

# flux-core's job states and results (flux/constants.py, libjob/job.h).
STATES = {
    "new": 1,
    "depend": 2,
    "priority": 4,
    "sched": 8,
    "run": 16,
    "cleanup": 32,
    "inactive": 64,
    "pending": 2 | 4 | 8,
    "running": 16 | 32,
    "active": 2 | 4 | 8 | 16 | 32,
}
RESULTS = {"completed": 1, "failed": 2, "canceled": 4, "timeout": 8}
STATE_NAMES = {1: "NEW", 2: "DEPEND", 4: "PRIORITY", 8: "SCHED", 16: "RUN", 32: "CLEANUP"}
STATE_NAMES[64] = "INACTIVE"
RESULT_NAMES = {1: "COMPLETED", 2: "FAILED", 4: "CANCELED", 8: "TIMEOUT"}
USERID_ALL = 0xFFFFFFFF  # FLUX_USERID_UNKNOWN: every user
# flux watch's and flux jobs' default limit on the jobs listed.
DEFAULT_COUNT = 1000
# What the attributes asked of job-list are (fewer is faster to answer).
ATTRS = ["state", "result", "name", "userid", "queue", "t_submit", "t_inactive"]


class SelectionError(ValueError):
    """A selection that cannot be asked (the CLI makes it a usage error)."""


@dataclass(frozen=True)
class JobRecord:
    """One job as job-list tells it."""

    id: int
    state: str  # RUN, INACTIVE, ... (flux jobs' names)
    result: str | None  # COMPLETED, FAILED, CANCELED, TIMEOUT; None while active
    name: str = ""
    userid: int | None = None
    queue: str | None = None
    t_submit: float = 0.0


def record_of(job: dict[str, Any]) -> JobRecord:
    """A job-list answer's job as a record (attributes it lacks are unset)."""
    state = job.get("state")
    result = job.get("result")
    queue = job.get("queue")
    userid = job.get("userid")
    return JobRecord(
        id=int(job["id"]),
        state=STATE_NAMES.get(state, str(state)) if isinstance(state, int) else "?",
        result=RESULT_NAMES.get(result) if isinstance(result, int) and state == 64 else None,
        name=str(job.get("name") or ""),
        userid=userid if isinstance(userid, int) else None,
        queue=queue if isinstance(queue, str) else None,
        t_submit=float(job.get("t_submit") or 0.0),
    )


@dataclass(frozen=True)
class Selection:
    """The selection options, as given."""

    active: bool = False
    all: bool = False
    filters: frozenset[str] = frozenset()  # state and result names, lower case
    since: float | None = None  # epoch: jobs inactive since then (and active ones)
    count: int | None = None
    user: str | None = None  # a name, a uid, "all"; None: the caller's
    name: re.Pattern[str] | None = None
    queues: tuple[str, ...] = ()
    within: str | None = None  # --in JOBID: the instance job JOBID runs
    new: bool = False  # follow --new: jobs submitted later too

    @property
    def given(self) -> bool:
        """Whether anything selects jobs (else only the JOBs named are read)."""
        return bool(
            self.active
            or self.all
            or self.filters
            or self.since is not None
            or self.count is not None
            or self.user is not None
            or self.name is not None
            or self.queues
            or self.within is not None
            or self.new
        )

    def state_names(self) -> frozenset[str]:
        """The states and results asked for. As flux watch: -a is pending and
        running, -A every state; --jobs-since alone implies -A. With nothing
        of these, as flux jobs and flux pgrep: the active jobs."""
        names = set(self.filters)
        if self.active:
            names |= {"pending", "running"}
        if self.all or (self.since is not None and not names):
            names |= {"pending", "running", "inactive"}
        return frozenset(names or {"pending", "running"})


def parse_filters(values: Iterable[str]) -> frozenset[str]:
    """``-f`` values (each may be a comma list), checked as JobList checks them."""
    names: set[str] = set()
    for value in values:
        for name in value.split(","):
            name = name.strip().lower()
            if name not in STATES and name not in RESULTS:
                known = ", ".join([*STATES, *RESULTS])
                raise SelectionError(f"invalid filter {name!r} (one of {known})")
            names.add(name)
    return frozenset(names)


_AGO = re.compile(r"-?(?P<n>\d+(\.\d+)?)(?P<unit>s|m|h|d)?")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_when(text: str, now: float | None = None) -> float:
    """WHEN as an epoch: an ISO date and time, a time of day today, @EPOCH
    or a bare epoch (as flux watch takes it), or a duration ago (1h, -30m)."""
    spec = text.strip()
    clock = time.time() if now is None else now
    when: float | None = None
    ago = _AGO.fullmatch(spec)
    if spec.startswith("@"):
        try:
            when = float(spec[1:])
        except ValueError:
            when = None
    elif ago is not None and (ago["unit"] or spec.startswith("-")):
        when = clock - float(ago["n"]) * _UNIT[ago["unit"]]
    elif ago is not None:
        when = float(spec)  # a bare number: an epoch, as flux watch
    else:
        try:
            if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", spec):
                day = datetime.fromtimestamp(clock).strftime("%Y-%m-%d")
                spec = f"{day}T{spec}"
            when = datetime.fromisoformat(spec).timestamp()
        except ValueError:
            when = None
    if when is None:
        raise SelectionError(
            f"invalid time {text!r}: give a duration ago (1h, 30m), an absolute "
            "time (2026-11-25T10:00:00, 10:00:00) or @EPOCH"
        )
    if when > clock:
        raise SelectionError(f"{text!r} is in the future")
    return when


def userid_of(user: str | None) -> int:
    """--user as job-list takes it: the caller by default, ``all``, a name or a uid."""
    if user is None:
        return os.getuid()
    if user == "all":
        return USERID_ALL
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        pass
    try:
        return int(user)
    except ValueError:
        raise SelectionError(f"no such user {user!r}") from None


def job_list_payload(sel: Selection, since: float | None = None) -> dict[str, Any]:
    """The job-list.list request for a selection (``since`` overrides the
    selection's own: follow --new asks for what changed since its last look)."""
    states = results = 0
    for name in sel.state_names():
        if name in STATES:
            states |= STATES[name]
        else:
            results |= RESULTS[name]
    terms: list[dict[str, Any]] = []
    userid = userid_of(sel.user)
    if userid != USERID_ALL:
        terms.append({"userid": [userid]})
    if sel.queues:
        terms.append({"queue": list(sel.queues)})
    if states and results:
        terms.append({"or": [{"states": [states]}, {"results": [results]}]})
    elif states:
        terms.append({"states": [states]})
    elif results:
        terms.append({"results": [results]})
    # --name is matched here, so job-list must not stop at --count first.
    limit = 0 if sel.name is not None else (sel.count or DEFAULT_COUNT)
    when = since if since is not None else sel.since
    return {
        "max_entries": limit,
        "attrs": list(ATTRS),
        "since": when or 0.0,
        "constraint": {"and": terms},
    }


def choose(records: Iterable[JobRecord], sel: Selection) -> list[JobRecord]:
    """The records a selection keeps, oldest first (job-list answers pending
    jobs first, then the most recent): --name's matches, at most --count."""
    kept = [r for r in records if sel.name is None or sel.name.search(r.name)]
    if sel.name is not None and sel.count:
        # As flux pgrep: the first N matches of job-list's order.
        kept = kept[: sel.count]
    return sorted(kept, key=lambda r: r.id)


def job_arg(record: JobRecord, within: str | None) -> str:
    """How a chosen job is named as a JOB argument (its prefix too)."""
    f58 = format_jobid(record.id)
    return f"{within}/{f58}" if within else f58


class Discovery:
    """follow --new: the matching jobs submitted after the first look.

    ``ask(payload)`` is job-list through the boundary. Each ``poll`` asks
    for the active jobs and those that ended since the last look (a second
    of overlap for the clocks: a job submitted and ended between two looks
    is not missed), and returns those never seen and submitted since
    ``start`` (taken before the first look), oldest first. A job submitted
    before it that comes to match later (``-f failed --new``) is not new.
    """

    def __init__(
        self,
        sel: Selection,
        ask: Callable[[dict[str, Any]], list[JobRecord]],
        seen: Iterable[int],
        start: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = set(sel.state_names())
        if names & {"pending", "running", "depend", "priority", "sched", "run", "cleanup"}:
            names.add("inactive")  # it may have ended before it was seen
        # --count limits the first look; every later job is kept.
        self.sel = replace(
            sel, active=False, all=False, filters=frozenset(names), since=None, count=None
        )
        self.ask = ask
        self.seen = set(seen)
        self.clock = clock
        self.start = start
        self.last = start

    def poll(self) -> list[JobRecord]:
        now = self.clock()
        records = self.ask(job_list_payload(self.sel, since=self.last - 1.0))
        self.last = now
        chosen = choose(records, self.sel)
        fresh = [r for r in chosen if r.id not in self.seen and r.t_submit >= self.start]
        self.seen.update(r.id for r in fresh)
        return fresh
