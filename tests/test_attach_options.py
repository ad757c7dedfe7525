"""follow with flux job attach's options: -E, -X, -w, -v, -q, the status line.

The oracles are real ``flux job attach`` runs with the same options on the
same jobs (tests/data/attach, see its README). fluxout runs on each job
saved (a directory, through the CLI) and live (the fake Flux of
tests/fakeflux.py replaying it from its submission, and after its end).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import fluxout.status as status_mod
from fluxout import jansson
from fluxout.eventlog import Event
from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.status import PendingStatus
from fluxout.watch import Request, run
from tests.conftest import Run
from tests.fakeflux import FakeFlux

DATA = Path(__file__).parent / "data" / "attach"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "case.json").is_file())


def meta(case: str) -> dict[str, Any]:
    return json.loads((DATA / case / "case.json").read_text())


CAPTURES = [(case, name) for case in CASES for name in meta(case)["attach"]]


def attach(case: str, name: str) -> tuple[bytes, bytes, int]:
    d = DATA / case
    return (
        (d / f"attach.{name}.stdout").read_bytes(),
        (d / f"attach.{name}.stderr").read_bytes(),
        int((d / f"attach.{name}.rc").read_text()),
    )


# -- comparing stderr, kind of line by kind of line -----------------------------
#
# attach writes what it reads from three eventlogs as each answer comes, so
# how main events, exec events and output interleave is a matter of timing;
# within each kind, the order is the eventlog's.

# A line of attach's (or fluxout's) own that follows, on the same line, an
# exec log write that had no newline.
GLUED = re.compile(rb"(?<=[^\n\d])(\d+\.\d{3}s: (?:job|exec)\.|flux-job: |fluxout: )")
EVENT = re.compile(rb"^\d+\.\d{3}s: (job|exec)\.")
EXCEPTION = re.compile(rb"^\d+\.\d{3}s: job\.exception ")


def kinds(stderr: bytes, names: list[bytes]) -> dict[str, list[bytes]]:
    """stderr's lines by kind: "exception", "job" and "exec" events,
    "message" (attach's flux-job: lines, fluxout's own), and "rest" (the
    job's stderr, shell log lines, exec log lines, notices), each in order,
    with the job's names (jobid, path) as JOB."""
    text = GLUED.sub(rb"\n\1", stderr)
    for name in names:
        text = text.replace(name, b"JOB")
    out: dict[str, list[bytes]] = {k: [] for k in ("exception", "job", "exec", "message", "rest")}
    for line in text.split(b"\n")[:-1] if text.endswith(b"\n") else text.split(b"\n"):
        if EXCEPTION.match(line):
            out["exception"].append(line)
        elif m := EVENT.match(line):
            out[m.group(1).decode()].append(line)
        elif line.startswith((b"flux-job: ", b"fluxout: JOB: ")):
            out["message"].append(line.split(b": ", 2 if line.startswith(b"fluxout") else 1)[-1])
        else:
            out["rest"].append(line)
    return out


def assert_kinds_are_attach(
    mine: tuple[bytes, bytes, int], theirs: tuple[bytes, bytes, int], names: list[bytes]
) -> None:
    """stdout and status exactly; each kind of stderr line, in order; attach's
    messages first among fluxout's (its failure summary follows them)."""
    out, err, rc = mine
    a_out, a_err, a_rc = theirs
    assert (out, rc) == (a_out, a_rc)
    ours, want = kinds(err, names), kinds(a_err, names)
    for kind in ("exception", "job", "exec", "rest"):
        assert ours[kind] == want[kind], kind
    assert ours["message"][: len(want["message"])] == want["message"]
    if rc == 0:
        assert ours["message"] == want["message"]


def request_options(args: list[str]) -> dict[str, Any]:
    """attach's options as a Request's fields."""
    flags = {"-E": "show_events", "-X": "show_exec", "-v": "verbose", "-q": "quiet"}
    options: dict[str, Any] = {}
    words = iter(args)
    for word in words:
        if word == "-w":
            options["wait_event"] = next(words)
        else:
            options[flags[word]] = True
    return options


def _terminal(stderr: io.BytesIO | None = None, tty: bool = False, **env: str) -> Terminal:
    err = stderr if stderr is not None else io.BytesIO()
    return Terminal(io.BytesIO(), err, tty, tty, False, env)


Live = Callable[..., tuple[bytes, bytes, int]]


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Live:
    """Run one request on a fake instance: (stdout, stderr, status)."""

    def go(fake: FakeFlux, command: str, term: Terminal | None = None, **options: Any) -> Any:
        monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: fake)
        term = term if term is not None else _terminal()
        rc = run(Request(command, [fake.f58], **options), term)
        assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
        assert fake.hazards == []  # nothing asked could harm a real broker
        return term.stdout.getvalue(), term.stderr.getvalue(), rc

    return go


# -- every capture: saved, live from the submission, live after the end ------------


@pytest.mark.parametrize(("case", "name"), CAPTURES)
def test_saved_job_is_attach(case: str, name: str, run: Run) -> None:
    d = DATA / case
    args = meta(case)["attach"][name]
    # Its files are not here: attach's notice is fluxout's with --no-redirected
    # (tests/test_redirected.py has the default's warning).
    mine = run("follow", *args, *(["--no-redirected"] if case == "redirect" else []), d)
    # A saved job is named by its jobid when its exec eventlog holds it, else
    # by its directory's name.
    names = [meta(case)["jobid"].encode(), bytes(d), d.name.encode()]
    assert_kinds_are_attach(mine, attach(case, name), names)


@pytest.mark.parametrize(("case", "name"), CAPTURES)
@pytest.mark.parametrize("start_at", [0.0, None])
def test_live_job_is_attach(case: str, name: str, start_at: float | None, live: Live) -> None:
    fake = FakeFlux(DATA / case, start_at=start_at)
    options = request_options(meta(case)["attach"][name])
    options["redirected"] = case != "redirect"
    mine = live(fake, "follow", follow=True, **options)
    assert_kinds_are_attach(mine, attach(case, name), [fake.f58.encode()])


@pytest.mark.parametrize("args", [["-E", "-X"], ["-q"], ["-v"], ["-w", "start"]])
def test_cat_wait_is_attach(args: list[str], run: Run) -> None:
    case = "pending-exception"
    name = {"-E": "EX", "-q": "q", "-v": "v", "-w": "w-start"}[args[0]]
    mine = run("cat", "--wait", *args, DATA / case)
    names = [meta(case)["jobid"].encode(), bytes(DATA / case), case.encode()]
    assert_kinds_are_attach(mine, attach(case, name), names)


def test_cat_shows_events_and_exceptions_so_far(run: Run) -> None:
    d = DATA / "pending-exception"
    out, err, rc = run("cat", "-E", "-X", "-q", d)
    assert rc == 0
    assert out == attach("pending-exception", "EX")[0]
    want = kinds(
        attach("pending-exception", "EX")[1], [meta("pending-exception")["jobid"].encode()]
    )
    ours = kinds(err, [meta("pending-exception")["jobid"].encode(), bytes(d)])
    for kind in ("exception", "job", "exec"):
        assert ours[kind] == want[kind]
    assert ours["rest"] == [b"err 1", b"err 0"]  # -q: no shell log lines
    assert kinds(attach("pending-exception", "q")[1], [])["rest"] == ours["rest"]


def test_wait_event_needs_wait_with_cat(run: Run) -> None:
    d = DATA / "pending-exception"
    for args in (["-w", "start"], ["--wait-event=clean"], ["--show-status"]):
        out, err, rc = run("cat", *args, d)
        assert (out, rc) == (b"", 2)
        assert err.startswith(b"fluxout: ") and b"cannot be used without --wait" in err
        assert err.count(b"\n") == 1


def test_options_from_the_environment(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXOUT_FOLLOW_QUIET", "1")
    monkeypatch.setenv("FLUXOUT_FOLLOW_WAIT_EVENT", "start")
    mine = run("follow", DATA / "pending-exception")
    names = [meta("pending-exception")["jobid"].encode(), bytes(DATA / "pending-exception")]
    theirs = attach("pending-exception", "w-start")
    assert mine[2] == theirs[2] == 1
    assert (
        kinds(mine[1], names)["rest"] == kinds(attach("pending-exception", "q")[1], names)["rest"]
    )


def test_several_jobs_name_each_line(run: Run) -> None:
    """With several jobs, each line of fluxout's says whose it is, -q or
    not, and the exec log's last write gets its newline (decorated output
    is line by line)."""
    a, b = DATA / "exec-log", DATA / "redirect"
    _, err, rc = run("follow", "-q", "-E", a, b)
    assert rc == 1
    lines = err.splitlines(True)
    assert b"exec-log: fake shell: cannot start\n" in lines
    assert b"exec-log: no newline\n" in lines
    assert b"exec-log: 0.000s: job.submit" in err and b"redirect: 0.000s: job.submit" in err
    assert b"redirected" not in err


# -- the exception raised while the job was pending ------------------------------------


class _Timed(io.BytesIO):
    """A stream that notes the fake instance's time of each write."""

    def __init__(self, fake: FakeFlux) -> None:
        super().__init__()
        self.fake = fake
        self.writes: list[tuple[float, bytes]] = []

    def write(self, data: Any) -> int:
        self.writes.append((self.fake.now(), bytes(data)))
        return super().write(data)


def test_exception_while_pending_is_printed_while_pending(live: Live) -> None:
    """A severity-2 exception of a held job is printed as it is posted,
    before the job starts, as attach printed it (it was not printed at all)."""
    fake = FakeFlux(DATA / "pending-exception", scale=0.0, start_at=0.0)
    events = [json.loads(line) for line in (DATA / "pending-exception" / "eventlog").open()]
    t0 = events[0]["timestamp"]
    raised, started = (
        next(e["timestamp"] - t0 for e in events if e["name"] == name)
        for name in ("exception", "start")
    )
    stderr = _Timed(fake)
    _, err, rc = live(fake, "follow", _terminal(stderr), follow=True)
    line = next(
        line
        for line in attach("pending-exception", "plain")[1].splitlines(True)
        if b"job.exception" in line
    )
    assert line == f"{raised:.3f}s: job.exception {fake.f58} type=test severity=2 test\n".encode()
    assert line in err.splitlines(True)
    when = next(t for t, data in stderr.writes if line in data)
    assert raised <= when < started
    assert rc == 3


# -- jansson's JSON ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 2, "a": 1}, '{"b":2,"a":1}'),
        ({"x": 0.1}, '{"x":0.10000000000000001}'),
        (
            [1.0, 90.0, -0.0, 1e16, 1e17, 1e-7, 1e300],
            "[1.0,90.0,-0.0,10000000000000000.0,1e17,9.9999999999999995e-8,1.0000000000000001e300]",
        ),
        ({"s": 'é"\\\t\n\x01\x1f\x7f/\u2028'}, '{"s":"é\\"\\\\\\t\\n\\u0001\\u001F\x7f/\u2028"}'),
        (
            {"t": True, "f": False, "n": None, "e": [], "o": {}},
            '{"t":true,"f":false,"n":null,"e":[],"o":{}}',
        ),
        ({"i": -(2**63)}, '{"i":-9223372036854775808}'),
    ],
)
def test_jansson_dumps(value: object, text: str) -> None:
    assert jansson.dumps(value) == text


def test_jansson_dumps_deep() -> None:
    value: Any = 1
    for _ in range(2000):
        value = [value]
    assert jansson.dumps(value) == "[" * 2000 + "1" + "]" * 2000


def test_jansson_dumps_is_libjansson() -> None:
    """Against the real thing, where libjansson is found (flux links it)."""
    import ctypes
    import ctypes.util
    import random
    import struct

    import orjson

    name = ctypes.util.find_library("jansson")
    if name is None:
        pytest.skip("no libjansson here")
    lib = ctypes.CDLL(name)
    lib.json_loads.restype = ctypes.c_void_p
    lib.json_loads.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.json_dumps.restype = ctypes.c_void_p
    lib.json_dumps.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.json_delete.argtypes = [ctypes.c_void_p]
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    rng = random.Random(7)
    for _ in range(3000):
        real = struct.unpack("d", rng.randbytes(8))[0]
        if real != real or real in (float("inf"), float("-inf")):
            real = rng.random() * 10 ** rng.randint(-30, 30)
        text = "".join(
            chr(rng.choice([rng.randint(1, 0x7F), rng.randint(0xA0, 0xD7FF)])) for _ in range(6)
        )
        raw = orjson.dumps(
            {"r": real, "s": text, "l": [rng.randint(-(2**63), 2**63 - 1), {"k": real}]}
        )
        handle = lib.json_loads(raw, 0, None)
        assert handle, raw
        dumped = lib.json_dumps(handle, 0x20)  # JSON_COMPACT
        theirs = ctypes.string_at(dumped).decode()
        libc.free(dumped)
        assert jansson.dumps(orjson.loads(raw)) == theirs


# -- the status line of a pending job -----------------------------------------------


def ev(name: str, **context: object) -> Event:
    return Event(0.0, name, dict(context))


def test_pending_status_words_are_attachs(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(status_mod, "wall_clock", lambda: now[0])
    pending = PendingStatus(2.0)
    assert pending.line(99.0) is None  # nothing seen yet
    said = []
    for event in [
        ev("submit"),
        ev("validate"),
        ev("depend"),
        ev("priority", priority=16),
        ev("alloc"),
        ev("prolog-start"),
        ev("prolog-start"),
        ev("prolog-finish"),
        ev("prolog-finish"),
        ev("exception", severity=1, type="x", note=""),
        ev("jobspec-update"),
    ]:
        pending.see(event)
        said.append(pending.message)
    assert said == [
        "submitted",
        "resolving dependencies",
        "waiting for priority assignment",
        "waiting for resources",
        "starting",
        "waiting for prolog",
        "waiting for prolog",
        "waiting for prolog",
        "starting",
        "starting",
        "starting",
    ]
    assert pending.line(99.0) is None  # not 2 s yet
    now[0] = 102.0
    assert pending.line(99.0) == ("starting", "00:00:03")
    now[0] = 99.0 + 3 * 3600 + 62
    assert pending.line(99.0) == ("starting", "03:01:02")
    for ends in (ev("start"), ev("clean"), ev("exception", severity=0)):
        pending = PendingStatus(0.0)
        pending.see(ev("submit"))
        assert pending.line(99.0) is not None
        pending.see(ends)
        assert pending.over and pending.line(99.0) is None


STATUS = re.compile(rb"\r\x1b\[K(fluxout: [^\r\n]*?) *(\d\d:\d\d:\d\d)")


def _held(monkeypatch: pytest.MonkeyPatch, **queue: Any) -> FakeFlux:
    """The never-started job, held: it waits (urgency 0) until Ctrl-C at
    5.2 s; fluxout's reader wakes every 0.25 s (fixture time, from 0.1 s)."""
    from tests.conftest import FIXTURES

    fake = FakeFlux(FIXTURES / "never-started", start_at=0.0, hold=True, interrupt_at=5.2, **queue)
    fake.changes = sorted({*fake.changes, *(0.1 + i / 4 for i in range(21))})
    first = json.loads((FIXTURES / "never-started" / "eventlog").read_text().splitlines()[0])
    monkeypatch.setattr(status_mod, "wall_clock", lambda: first["timestamp"] + fake.now())
    return fake


def test_status_line_after_2_seconds_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
    live: Live,
) -> None:
    fake = _held(monkeypatch)
    stderr = _Timed(fake)
    with pytest.raises(KeyboardInterrupt):
        live(fake, "follow", _terminal(stderr, True, COLUMNS="60"), follow=True, color="never")
    shown = [(t, m) for t, data in stderr.writes for m in STATUS.finditer(data)]
    assert shown, stderr.getvalue()
    # Shown from 2 s on, once a second, with the time since the submission.
    assert shown[0][0] >= 2.0
    text = f"fluxout: {fake.f58} waiting for resources".encode()
    assert [m.group(1) for _, m in shown] == [text] * len(shown)
    assert [m.group(2) for _, m in shown] == [b"00:00:02", b"00:00:03", b"00:00:04", b"00:00:05"]
    # The clock at the right edge of the 60 columns (the last one left free).
    assert all(len(m.group(0).decode()) == len("\r\x1b[K") + 59 for _, m in shown)
    assert stderr.getvalue().endswith(b"\r\x1b[K")  # erased on the way out
    # The queue was asked about once (attach: every 10 s), and is not stopped.
    assert [key for call, key in fake.calls if call == "rpc"] == [
        "job-list.list-id",
        "job-manager.queue-status",
    ]


@pytest.mark.parametrize("queue", [None, "batch"])
def test_status_line_says_the_queue_is_stopped(
    queue: str | None, monkeypatch: pytest.MonkeyPatch, live: Live
) -> None:
    """As attach: 'waiting for resources (default queue stopped)'."""
    fake = _held(monkeypatch, queue=queue, queue_stopped=True)
    stderr = _Timed(fake)
    with pytest.raises(KeyboardInterrupt):
        live(fake, "follow", _terminal(stderr, True), follow=True, color="never")
    texts = {m.group(1).decode() for m in STATUS.finditer(stderr.getvalue())}
    stopped = f"({queue or 'default'} queue stopped)"
    assert texts == {f"fluxout: {fake.f58} waiting for resources {stopped}"}


@pytest.mark.parametrize(
    ("options", "tty", "env"),
    [
        ({}, False, {}),  # not on a terminal
        ({"show_events": True}, True, {}),  # -E shows the events instead
        ({}, True, {"FLUX_ATTACH_NONINTERACTIVE": "1"}),  # attach's own switch
    ],
)
def test_no_status_line(
    options: dict[str, Any],
    tty: bool,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    live: Live,
) -> None:
    fake = _held(monkeypatch)
    stderr = _Timed(fake)
    with pytest.raises(KeyboardInterrupt):
        live(fake, "follow", _terminal(stderr, tty, **env), follow=True, color="never", **options)
    assert b"waiting" not in stderr.getvalue()
    assert all(call != "rpc" for call, _ in fake.calls)  # nor is the queue asked about


def test_show_status_at_once_in_a_pipe_until_the_job_starts(
    monkeypatch: pytest.MonkeyPatch, live: Live
) -> None:
    """--show-status: from the first moment, even in a pipe; a non-fatal
    exception leaves it, the start erases it for good."""
    case = DATA / "pending-exception"
    fake = FakeFlux(case, start_at=0.0)
    t0 = json.loads((case / "eventlog").read_text().splitlines()[0])["timestamp"]
    monkeypatch.setattr(status_mod, "wall_clock", lambda: t0 + fake.now())
    _, err, rc = live(fake, "follow", follow=True, show_status=True)
    assert rc == 3
    shown = list(STATUS.finditer(err))
    texts = [m.group(1).decode().removeprefix(f"fluxout: {fake.f58} ") for m in shown]
    assert texts[0] == "submitted"
    assert "waiting for resources" in texts
    # The exception line is written on an erased line; the status comes back.
    exception = next(x for x in attach(case.name, "plain")[1].splitlines(True) if b"exception" in x)
    at = err.index(b"\r\x1b[K" + exception)
    assert any(m.start() > at for m in shown)
    # Gone for good when the job starts, before the job's first output.
    output = err.index(b"err 0")
    assert shown[-1].end() < output
    assert err.index(b"\r\x1b[K", shown[-1].end()) < output
