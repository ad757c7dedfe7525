"""Many live jobs followed in one event loop (fluxout.sources.flux.loop), offline.

The fake boundary (tests/fakeflux.py) holds many fake jobs in one
SharedFake (one handle, one reactor); its watches tell their news as the
real futures' callbacks do (``notify``), so the push-driven loop runs here
as it does on a real instance: one connection, no thread per job, a cap on
what is in flight, every line of every job, in order.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest

from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.sources.flux import loop
from fluxout.watch import Request, run
from tests.conftest import FIXTURES
from tests.fakeflux import FakeFlux, SharedFake

CASES = ["hello", "exit-code", "stderr-interleaved", "unbuffered-partial", "many-small-lines"]
BASE = 1 << 40  # the fake jobs' ids, well clear of the fixtures' own


def _terminal() -> Terminal:
    return Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})


def _run(req: Request) -> tuple[bytes, bytes, int]:
    term = _terminal()
    rc = run(req, term)
    assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
    return term.stdout.getvalue(), term.stderr.getvalue(), rc


def _by_job(data: bytes) -> dict[str, list[bytes]]:
    got: dict[str, list[bytes]] = {}
    for line in data.splitlines(keepends=True):
        job, _, rest = line.partition(b": ")
        got.setdefault(job.decode(), []).append(rest)
    return got


def _reference(case: str) -> tuple[list[bytes], list[bytes]]:
    """A fixture job's lines as fluxout shows them among several jobs (its
    saved directory read twice, one after the other: the first half)."""
    d = str(FIXTURES / case)
    out, err, _ = _run(Request("cat", [d, d]))
    halves = []
    for data in (out, err):
        lines = _by_job(data).get(case, [])
        halves.append(lines[: len(lines) // 2])
    return halves[0], halves[1]


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make a SharedFake of N fake jobs the only connection fluxout gets."""
    hubs: list[loop.Hub] = []

    class Hub(loop.Hub):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            hubs.append(self)

    monkeypatch.setattr(loop, "Hub", Hub)

    def make(n: int, **fake: Any) -> tuple[SharedFake, list[str], list[str]]:
        cases = [CASES[i % len(CASES)] for i in range(n)]
        fakes = [FakeFlux(FIXTURES / c, jobid=BASE + i, **fake) for i, c in enumerate(cases)]
        both = SharedFake(*fakes)
        connects: list[str] = []

        def connect(uri: str | None, name: str) -> SharedFake:
            connects.append(name)
            return both

        monkeypatch.setattr(flux_boundary, "connect", connect)
        both.connects = connects  # type: ignore[attr-defined]
        both.hubs = hubs  # type: ignore[attr-defined]
        return both, [f.f58 for f in fakes], cases

    return make


def test_200_jobs_followed_to_the_end_on_one_connection(
    instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "MAX_IN_FLIGHT", 8)
    monkeypatch.setattr(loop, "MAX_ACTIVE", 50)
    fake, ids, cases = instance(200, start_at=0.0)
    threads = threading.active_count()
    out, err, rc = _run(Request("follow", ids, follow=True))
    assert threading.active_count() == threads  # no reader thread was left, nor needed
    assert len(fake.connects) == 1
    assert fake.hazards == []
    assert 0 < fake.hubs[0].most_in_flight <= 8
    got_out, got_err = _by_job(out), _by_job(err)
    refs = {case: _reference(case) for case in set(cases)}
    for jobid, case in zip(ids, cases, strict=True):
        want_out, want_err = refs[case]
        assert got_out.get(jobid, []) == want_out, jobid
        assert [x for x in got_err.get(jobid, []) if x in want_err] == want_err, jobid
    statuses = [int((FIXTURES / c / "attach.rc").read_text()) for c in cases]
    assert rc == max(statuses)
    # Every watch was answered or canceled by the end: nothing left in flight.
    assert fake.hubs[0].in_flight == 0


def test_jobs_past_the_cap_wait_their_turn(instance: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for 3 jobs at once, 12 are followed, 3 at a time: none fails."""
    monkeypatch.setattr(loop, "MAX_ACTIVE", 3)
    monkeypatch.setattr(loop, "MAX_IN_FLIGHT", 1)
    fake, ids, cases = instance(12, start_at=0.0)
    out, _, _ = _run(Request("follow", ids, follow=True))
    got = _by_job(out)
    for jobid, case in zip(ids, cases, strict=True):
        assert got.get(jobid, []) == _reference(case)[0], jobid
    assert fake.hubs[0].most_in_flight == 1
    assert fake.hazards == []


def test_ctrl_c_with_many_jobs_in_flight_cancels_every_watch(instance: Any) -> None:
    fake, ids, _ = instance(60, start_at=0.0)
    fake.fakes[0].interrupt_at = 0.7
    with pytest.raises(KeyboardInterrupt):
        _run(Request("follow", ids, follow=True))
    watches = [w for f in fake.fakes for w in f.watches]
    assert watches
    assert all(w.canceled or w.error is not None for w in watches)
    assert fake.hazards == []


def test_live_and_saved_jobs_together(instance: Any) -> None:
    _, ids, cases = instance(3, start_at=0.0)
    saved = str(FIXTURES / "stderr-interleaved")
    out, _, _ = _run(Request("follow", [*ids, saved], follow=True))
    got = _by_job(out)
    for jobid, case in zip(ids, cases, strict=True):
        assert got.get(jobid, []) == _reference(case)[0]
    assert got["stderr-interleaved"] == _reference("stderr-interleaved")[0]


def test_a_lazy_selection_is_consumed_as_slots_free(instance: Any) -> None:
    """follow_together takes an iterable: a selection may be a generator."""
    from fluxout.sources.flux.loop import OVER, Instance, follow_together
    from fluxout.sources.flux.source import open_job

    fake, ids, _ = instance(5, start_at=0.0)
    inst = Instance()
    opened: list[str] = []

    class Job:
        def __init__(self, name: str) -> None:
            opened.append(name)
            self.source = open_job(
                int(fake.fakes[ids.index(name)].jobid), name, None, inst.boundary(name)
            )
            self.wanted = frozenset(("main", "exec", "output"))
            self.bytes = 0

        def feed(self, eventlog: str, chunk: Any) -> None:
            self.bytes += len(chunk) if isinstance(chunk, bytes) else 0

        def idle(self) -> bool:
            return False

    ends = [
        m.source.name
        for m, end in follow_together((Job(n) for n in ids), max_active=2)
        if end == OVER
    ]
    assert sorted(ends) == sorted(ids)
    assert opened == ids
