"""--progress: the bar of jobs done at the bottom of stderr's terminal.

The core runs in-process with an injected Terminal. Where the bar's
placement matters, stdout and stderr are one BytesIO (one screen), and a
tiny screen model applies its carriage returns, erases and newlines: the
screen a user is left with must hold every line the run without
--progress writes, then the bar's final counts on a line of its own.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fluxout.render.bottom as bottom
import fluxout.render.progress as progress
from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.watch import Request, run
from tests.conftest import run_in_process
from tests.fakeflux import FakeFlux, SharedFake

ENV = {"COLUMNS": "100"}
# hello exits 0, exit-code 3, signaled is killed, many-small-lines exits 0.
JOBS = ("hello", "exit-code", "signaled", "many-small-lines")
FAILED = 2
BAR = re.compile(rb"(\d+)/(\d+) done, (\d+) failed")


def screen(data: bytes) -> list[bytes]:
    """The lines a terminal shows after ``data``: ``\\r`` goes back to the
    line's start, ``ESC [K`` erases to its end, other bytes overwrite."""
    lines: list[bytearray] = [bytearray()]
    col = 0
    for piece in re.split(rb"(\r|\n|\x1b\[K)", data):
        line = lines[-1]
        if piece == b"\r":
            col = 0
        elif piece == b"\n":
            lines.append(bytearray())
            col = 0
        elif piece == b"\x1b[K":
            del line[col:]
        elif piece:
            line[col : col + len(piece)] = piece
            col += len(piece)
    if not lines[-1]:
        lines.pop()
    return [bytes(line) for line in lines]


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every redraw is due: the redraw clock moves a second a look."""
    now = iter(range(1, 1 << 30))
    monkeypatch.setattr(bottom, "clock", lambda: float(next(now)))
    yield


def _run(req: Request, shared: bool, tty: bool = True) -> tuple[bytes, bytes, int]:
    out = io.BytesIO()
    err = out if shared else io.BytesIO()
    rc = run(req, Terminal(out, err, tty, tty, shared, ENV))
    return out.getvalue(), err.getvalue(), rc


@pytest.fixture(autouse=True)
def _materialized(case_dir) -> None:  # type: ignore[no-untyped-def]
    """The fixtures as files (many-small-lines' output is compressed)."""
    for case in (*JOBS, "no-trailing-newline"):
        DIRS[case] = case_dir(case)


DIRS: dict[str, Path] = {}


def _cat(progress: bool, jobs: tuple[str, ...] = JOBS, **kw: Any) -> Request:
    return Request("cat", [str(DIRS[j]) for j in jobs], color="never", progress=progress, **kw)


def _bars(data: bytes) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m.groups())) for m in BAR.finditer(data)]  # type: ignore[misc]


def test_stdout_is_the_same_bytes_with_the_bar() -> None:
    plain = _run(_cat(False), shared=False)
    out, err, rc = _run(_cat(True), shared=False)
    assert (out, rc) == (plain[0], plain[2])
    assert b"done" not in out
    # On stderr: the same lines, and the final counts.
    assert screen(err)[:-1] == screen(plain[1])
    assert _bars(screen(err)[-1]) == [(len(JOBS), len(JOBS), FAILED)]


def test_the_bar_never_shares_a_line_with_output(ticking: None) -> None:
    plain, _, _ = _run(_cat(False), shared=True)
    mixed, _, rc = _run(_cat(True), shared=True)
    assert rc == 0
    shown = screen(mixed)
    # Every line of the run is there as it was, the bar only below them.
    assert shown[:-1] == screen(plain)
    assert not any(BAR.search(line) for line in shown[:-1])
    assert _bars(shown[-1]) == [(4, 4, FAILED)]
    # It was drawn as the jobs ended, each count in turn, not only at the end.
    drawn = _bars(mixed)
    assert (0, 4, 0) in drawn and (1, 4, 0) in drawn and (2, 4, 1) in drawn
    assert drawn[-1] == (4, 4, FAILED)
    # Drawn where the cursor is at a line's start: after a newline or \r.
    for m in BAR.finditer(mixed):
        assert mixed[: m.start()].endswith((b"\r\x1b[K", b"\n")), mixed[m.start() - 20 : m.end()]


def test_redraws_are_paced(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the clock still, the bar is drawn once at the start: the jobs
    ending in the same instant do not redraw it; the final counts stay."""
    monkeypatch.setattr(bottom, "clock", lambda: 100.0)
    mixed, _, _ = _run(_cat(True), shared=True)
    assert _bars(mixed) == [(0, 4, 0), (4, 4, FAILED)]


def test_a_partial_last_line_is_not_the_bar_s(ticking: None) -> None:
    """One job whose output ends without a newline (no decoration: its
    bytes as they are): the bar waits for a line's start, and the final
    counts go on a line of their own, below the partial one."""
    jobs = ("no-trailing-newline",)
    plain, _, _ = _run(_cat(False, jobs), shared=True)
    assert not plain.endswith(b"\n")
    mixed, _, _ = _run(_cat(True, jobs), shared=True)
    shown = screen(mixed)
    assert shown[:-1] == screen(plain)
    assert _bars(shown[-1]) == [(1, 1, 0)]
    for m in BAR.finditer(mixed):
        before = mixed[: m.start()]
        assert before.endswith((b"\r\x1b[K", b"\n")), before[-40:]


def test_jps_shows_jobs_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter([10.0, 10.0, *[12.0] * 100])
    monkeypatch.setattr(progress, "clock", lambda: next(now))
    _, err, _ = _run(_cat(True, jps=True), shared=False)
    assert screen(err)[-1].endswith(b"100.0%   2.0 job/s")  # 4 jobs in 2 s


def test_elapsed_time_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter([10.0, 10.0, *[3735.0] * 100])
    monkeypatch.setattr(progress, "clock", lambda: next(now))
    _, err, _ = _run(_cat(True), shared=False)
    assert screen(err)[-1].endswith(b"100.0% 1:02:05")


def test_a_job_that_cannot_be_read_counts_as_failed(tmp_path: Path) -> None:
    req = _cat(True, ("hello",))
    req.jobs.append(str(tmp_path / "missing"))
    _, err, rc = _run(req, shared=False)
    assert rc == 1
    assert _bars(screen(err)[-1]) == [(2, 2, 1)]


def test_off_a_terminal_it_does_nothing() -> None:
    assert _run(_cat(True), shared=False, tty=False) == _run(_cat(False), shared=False, tty=False)


def test_the_bar_is_cut_to_the_terminal() -> None:
    for columns in (30, 60, 200):
        err = io.BytesIO()
        run(_cat(True), Terminal(io.BytesIO(), err, True, True, False, {"COLUMNS": str(columns)}))
        last = screen(err.getvalue())[-1].decode()
        assert len(last) < columns
        assert last.startswith("4/4 done, 2 failed")


def test_the_failed_count_is_red_on_colour() -> None:
    req = _cat(True)
    req.color = "always"
    _, err, _ = _run(req, shared=False)
    assert b"\x1b[1;31m2 failed\x1b[0m" in screen(err)[-1]


def test_jps_needs_progress() -> None:
    out, err, rc = run_in_process("cat", "--jps", DIRS["hello"])
    assert (out, rc) == (b"", 2)
    assert b"--jps changes the bar of --progress: it cannot be used without --progress" in err


def test_follow_of_several_live_jobs(monkeypatch: pytest.MonkeyPatch, ticking: None) -> None:
    """follow of jobs running on a (fake) instance, replayed in real time:
    their lines print above the bar, which counts them as they end."""
    fakes = {}
    for case in JOBS:
        fake = FakeFlux(DIRS[case], scale=0.01, start_at=0.0)
        fakes[fake.f58] = (fake, case)
    # One connection for the jobs of the command: each request goes to its job.
    shared = SharedFake(*(fake for fake, _ in fakes.values()))
    monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: shared)
    req = Request("follow", list(fakes), follow=True, color="never", progress=True)
    mixed, _, rc = _run(req, shared=True)
    assert rc == 137  # signaled's 128+9, the worst
    shown = screen(mixed)
    assert _bars(shown[-1]) == [(4, 4, FAILED)]
    drawn = _bars(mixed)
    assert drawn[0] == (0, 4, 0) and len(set(drawn)) >= 4
    # Every job's lines are whole and in order, none on the bar's line.
    assert not any(BAR.search(line) for line in shown[:-1])
    for f58, (_, case) in fakes.items():
        prefix = f"{f58}: ".encode()
        mine = [ln[len(prefix) :] for ln in shown if ln.startswith(prefix)]
        expected = (DIRS[case] / "attach.stdout").read_bytes().splitlines()
        stdout = set(expected)  # the job's stdout lines, among its stderr ones
        assert [ln for ln in mine if ln in stdout] == expected, case


def test_the_bar_takes_the_status_line_s_place(tmp_path: Path) -> None:
    """A saved job that waits for its end: without --progress its status
    line says what the files lack; with it, the one bottom line is the bar,
    and the status is not written beside it or over it."""
    from tests.test_saved_wait import MAIN, OUTPUT, STDOUT, Following, _append, _cut_job

    d = _cut_job(tmp_path, MAIN[:-1], OUTPUT)  # no clean event yet
    req = Request("follow", [str(d)], follow=True, color="never", progress=True)
    following = Following(req, tty=True)
    following.wait_until(lambda: b"0/1 done" in following.err.text(), "no bar")
    _append(d / "eventlog", MAIN[-1:])
    assert following.end() == 0
    assert following.out.text() == STDOUT
    err = following.err.text()
    assert b"waiting for more" not in err
    assert _bars(screen(err)[-1]) == [(1, 1, 0)]


def test_output_erases_a_status_line_once() -> None:
    """The bottom line alone: a status line is erased by the output that
    replaces it, and not drawn again until it is set again."""
    err = io.BytesIO()
    line = bottom.BottomLine(err, stdout_on_screen=True)
    line.show_status(b"fluxout: waiting")
    line.show_status(b"fluxout: waiting")  # as it is on the screen: not written again
    line.before_write(0)
    line.wrote(0, b"out\n")
    line.before_write(0)  # nothing on the line now: nothing to erase
    assert err.getvalue() == b"\r\x1b[Kfluxout: waiting\r\x1b[K"
    assert line.status is None
