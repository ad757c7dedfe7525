"""Many jobs: a selection made into JOB arguments, and what follow --new adds.

The policy is fluxout.selection's; this module asks the instance (through
the Flux boundary) and hands the readers a plain list of JOB arguments:
jobids, or jobid paths ``ƒA/ƒB`` for a selection ``--in ƒA``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fluxout.errors import FluxoutError
from fluxout.jobid import is_jobid, parse_jobid
from fluxout.selection import Discovery, JobRecord, Selection, choose, job_arg, job_list_payload

if TYPE_CHECKING:
    from fluxout.sources.flux.boundary import Boundary

__all__ = ["discover", "expand"]


def _boundary(sel: Selection, uri: str | None) -> tuple[Boundary, str]:
    """A boundary on the instance the selection is made in (--in: the
    instance that job runs)."""
    from fluxout.nested import instance_uri, parse_jobid_path
    from fluxout.sources.flux import boundary as _b

    where = uri
    what = "job selection"
    if sel.within is not None:
        path = parse_jobid_path(sel.within)
        parents = path if path is not None else [parse_jobid(sel.within)]
        where = instance_uri(parents, uri, sel.within)
        what = sel.within
    return _b.connect(where, what), what


def _ask(flux: Boundary, what: str, payload: dict[str, Any]) -> list[JobRecord]:
    try:
        return list(flux.list_jobs(payload))
    except OSError as exc:
        raise FluxoutError(what, f"cannot list jobs: {exc.strerror or exc}") from None


def _key(arg: str) -> str:
    return str(parse_jobid(arg)) if is_jobid(arg) else arg


def expand(
    explicit: list[str], sel: Selection | None, uri: str | None
) -> tuple[list[str], set[int], float]:
    """The JOBs named, then the selected ones not named already (oldest
    first); the ids of the selected jobs and when they were asked for
    (follow --new takes the jobs submitted since, not seen)."""
    start = time.time()
    if sel is None or not sel.given:
        return list(explicit), set(), start
    flux, what = _boundary(sel, uri)
    chosen = choose(_ask(flux, what, job_list_payload(sel)), sel)
    have = {_key(a) for a in explicit}
    jobs = list(explicit)
    for record in chosen:
        arg = job_arg(record, sel.within)
        if _key(arg) not in have:
            jobs.append(arg)
    return jobs, {r.id for r in chosen}, start


def discover(
    sel: Selection, uri: str | None, seen: set[int], start: float
) -> Callable[[], list[str]]:
    """follow --new: a function giving the JOBs of jobs that appeared since
    it was last called (one job-list request; call it every second or so)."""
    flux, what = _boundary(sel, uri)
    found = Discovery(sel, lambda payload: _ask(flux, what, payload), seen, start)

    def poll() -> list[str]:
        return [job_arg(r, sel.within) for r in found.poll()]

    return poll
