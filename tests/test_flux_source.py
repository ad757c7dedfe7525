"""The live Flux source, on a fake Flux boundary that replays every fixture.

The core runs in-process (fluxout.watch.run over BytesIO) with
``fluxout.sources.flux.boundary.connect`` pointing at tests/fakeflux.FakeFlux, which
replays the captured eventlogs with their own timing; the oracles are the
same ``attach.*`` files the directory source is checked against in
test_cli_fixtures.py.
"""

from __future__ import annotations

import errno
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

import fluxout.sources.flux as fluxsrc
from fluxout.errors import NoFluxError
from fluxout.jobid import FORMS, format_jobid
from fluxout.render.terminal import Terminal
from fluxout.sources.flux import bindings, source
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.watch import Request, run
from tests.conftest import CASES
from tests.fakeflux import GUEST, OTHER, FakeFlux
from tests.test_cli_fixtures import split_own

# Real seconds per fixture second when replaying a job live.
SCALE = 0.02

Live = Callable[..., tuple[bytes, bytes, int]]


def _terminal() -> Terminal:
    return Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Live:
    """Run one request on a fake instance: (stdout, stderr, status)."""

    def go(fake: FakeFlux, command: str, job: str | None = None, **options: Any) -> Any:
        monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: fake)
        term = _terminal()
        # As attach: a redirected job's files (not on this machine) are only
        # named; tests/test_redirected.py reads them.
        options.setdefault("redirected", False)
        rc = run(Request(command, [job or fake.f58], **options), term)
        assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
        # Nothing fluxout asked could have harmed a real broker.
        assert fake.hazards == []
        return term.stdout.getvalue(), term.stderr.getvalue(), rc

    return go


def attach(d: Path, label: bool = False) -> tuple[bytes, bytes, int]:
    name = "attach-label" if label else "attach"
    return (
        (d / f"{name}.stdout").read_bytes(),
        (d / f"{name}.stderr").read_bytes(),
        int((d / f"{name}.rc").read_bytes()),
    )


def assert_follow_is_attach(d: Path, fake: FakeFlux, out: bytes, err: bytes, rc: int) -> None:
    """As test_cli_fixtures checks follow: attach's stdout, status, own lines."""
    a_out, a_err, a_rc = attach(d)
    assert rc == a_rc
    assert out == a_out
    assert split_own(err)[0] == split_own(a_err)[0]
    jobid = fake.f58.encode()
    _, mine = split_own(err)
    _, theirs = split_own(a_err)
    norm = [line.replace(jobid, b"JOB").replace(b"flux-job: ", b"") for line in theirs]
    ours = [line.replace(jobid, b"JOB").replace(b"fluxout: JOB: ", b"") for line in mine]
    assert ours[: len(norm)] == norm
    if rc == 0:  # else fluxout's failure summary, if anything is left to say
        assert ours[len(norm) :] == []


def started(d: Path) -> bool:
    return (d / "exec.eventlog").is_file()


# -- every fixture: cat and follow are attach ----------------------------------


@pytest.mark.parametrize("case", CASES)
def test_cat_is_attach_in_one_lookup_per_eventlog(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir(case)
    fake = FakeFlux(d, start_at=None)
    out, err, rc = live(fake, "cat")
    a_out, a_err, _ = attach(d)
    assert (out, rc) == (a_out, 0)
    assert split_own(err)[0] == split_own(a_err)[0]
    kvs = fake.kvs
    assert fake.calls == [
        ("lookup", f"{kvs}.eventlog"),
        ("read", f"{kvs}.guest.exec.eventlog"),
        ("read", f"{kvs}.guest.output"),
    ]


@pytest.mark.parametrize("case", CASES)
def test_cat_label_unbuffered_is_attach_label(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir(case)
    out, err, rc = live(FakeFlux(d, start_at=None), "cat", label=True, unbuffered=True)
    a_out, a_err, _ = attach(d, label=True)
    assert (out, rc) == (a_out, 0)
    assert split_own(err)[0] == split_own(a_err)[0]


@pytest.mark.parametrize("case", CASES)
def test_follow_from_submit_is_attach(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    """follow from the job's submission on, seeing every step of the job."""
    d = case_dir(case)
    fake = FakeFlux(d, start_at=0.0)
    out, err, rc = live(fake, "follow", follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    watched = [key for call, key in fake.calls if call == "watch"]
    assert watched[0] == f"{fake.kvs}.eventlog"
    if started(d):
        # The running job's output came from the guest namespace watch.
        assert f"{fake.namespace}::output" in watched
    assert all(w.canceled or w.error is not None for w in fake.watches)


@pytest.mark.parametrize("case", CASES)
def test_follow_finished_job_reads_in_bulk(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir(case)
    fake = FakeFlux(d, start_at=None)
    out, err, rc = live(fake, "follow", follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    assert [call for call, _ in fake.calls] == ["lookup", "read", "read"]


# -- follow in the middle, and the namespace going away ----------------------------


@pytest.mark.parametrize("case", ["hello", "many-small-lines", "unbuffered-partial", "binary"])
@pytest.mark.parametrize("start_at", [0.05, 0.3, 0.6])
def test_follow_joining_a_running_job(case: str, start_at: float, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir(case)
    fake = FakeFlux(d, start_at=start_at)
    assert_follow_is_attach(d, fake, *live(fake, "follow", follow=True))


@pytest.mark.parametrize(
    "case", ["hello", "many-small-lines", "canceled-running", "shell-log-verbose"]
)
def test_eopnotsupp_switches_to_the_graft_mid_follow(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    """The guest watch ends with EOPNOTSUPP having missed the last appends
    (flux-core #2386): the rest comes from job.<id>.guest.output, once."""
    d = case_dir(case)
    fake = FakeFlux(d, start_at=0.0, lose_tail=0.15)
    out, err, rc = live(fake, "follow", follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    output_watch = next(w for w in fake.watches if w.key == f"{fake.namespace}::output")
    assert output_watch.error is not None and output_watch.error.errno == errno.EOPNOTSUPP
    graft = ("read", f"{fake.kvs}.guest.output")
    assert fake.calls.count(graft) == 1
    assert fake.calls.index(graft) > fake.calls.index(("watch", f"{fake.namespace}::output"))


# -- permissions --------------------------------------------------------------------


@pytest.mark.parametrize("case", ["hello", "exit-code", "timeout-exception", "never-started"])
def test_eperm_falls_back_to_job_info(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    """The job's owner who does not own the instance: the primary namespace
    is denied (EPERM), job-info (which checks access) is used instead."""
    d = case_dir(case)
    fake = FakeFlux(d, user=GUEST, start_at=None)
    out, err, rc = live(fake, "cat")
    a_out, a_err, _ = attach(d)
    assert (out, rc) == (a_out, 0)
    assert split_own(err)[0] == split_own(a_err)[0]
    assert ("job_info_lookup", "eventlog") in fake.calls
    if started(d):
        assert ("job_info_lookup", "guest.output") in fake.calls

    fake = FakeFlux(d, user=GUEST, scale=SCALE, start_at=0.0)
    out, err, rc = live(fake, "follow", follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    assert ("event_watch", "eventlog") in fake.calls
    if started(d):
        # The guest namespace belongs to the job's user: still watched
        # directly, unless the job ended (EOPNOTSUPP) before the output watch
        # was due: then its output is read once, through job-info.
        # On a loaded machine the job may be over before fluxout first looks
        # (its clean event already in the main eventlog): then no watch is
        # made at all, and the output is read once, through job-info.
        once = fake.calls.count(("job_info_lookup", "guest.output")) == 1
        ended = any(w.error is not None and w.error.errno == errno.EOPNOTSUPP for w in fake.watches)
        never_watched = not any(call[0] == "watch" for call in fake.calls)
        assert ("watch", f"{fake.namespace}::output") in fake.calls or (
            once and (ended or never_watched)
        )


def test_not_your_job(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("hello")
    for command, follow in (("cat", False), ("follow", True), ("events", True)):
        fake = FakeFlux(d, user=OTHER, start_at=0.3)
        out, err, rc = live(fake, command, follow=follow)
        assert (out, err, rc) == (b"", f"fluxout: {fake.f58}: that is not your job\n".encode(), 1)


def test_no_such_job(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("hello")
    for user in ("owner", GUEST):
        for command, follow in (("cat", False), ("follow", True), ("lines", True)):
            fake = FakeFlux(d, user=user, start_at=None)
            out, err, rc = live(fake, command, job="ƒ2BC", follow=follow)
            assert (out, err, rc) == (b"", "fluxout: ƒ2BC: no such job\n".encode(), 1)


# -- never-started, lost instance, Ctrl-C ------------------------------------------------


def test_never_started_job(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("never-started")
    fake = FakeFlux(d, start_at=None)
    assert live(fake, "cat")[::2] == (b"", 0)
    fake = FakeFlux(d, scale=SCALE, start_at=0.0)
    out, err, rc = live(fake, "follow", follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    # No guest namespace was ever asked for: the job never started.
    assert all("::" not in key for _, key in fake.calls)


def test_held_job_waits_until_ctrl_c(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    """A job that never starts: follow waits (idle) until interrupted, and
    cleans up its watches on the way out."""
    d = case_dir("never-started")
    fake = FakeFlux(d, start_at=0.0, hold=True, interrupt_at=30.0)
    with pytest.raises(KeyboardInterrupt):
        live(fake, "follow", follow=True)
    assert fake.now() >= 30.0
    assert fake.watches and all(w.canceled for w in fake.watches)
    assert all("::" not in key for _, key in fake.calls)


def test_ctrl_c_mid_output_cancels_every_watch(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("hello")
    fake = FakeFlux(d, start_at=0.0, interrupt_at=0.7)
    with pytest.raises(KeyboardInterrupt):
        live(fake, "follow", follow=True)
    assert len(fake.watches) == 3  # main, exec and output
    assert all(w.canceled for w in fake.watches)


@pytest.mark.parametrize("die_at", [0.0, 0.805])
def test_instance_gone_mid_follow(die_at: float, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("hello")
    fake = FakeFlux(d, start_at=0.0, die_at=die_at + 1e-6)
    out, err, rc = live(fake, "follow", follow=True)
    a_out, _, _ = attach(d)
    assert rc == 1
    assert a_out.startswith(out)  # what arrived is kept
    assert (out != b"") == (die_at > 0.8)  # hello's tasks write from 0.798 s on
    assert out != a_out
    last = err.splitlines()[-1]
    assert last.startswith(
        f"fluxout: {fake.f58}: lost the connection to the Flux instance".encode()
    )


# -- events and lines --------------------------------------------------------------------


def _by_eventlog(text: bytes, job: str) -> dict[str, list[dict[str, Any]]]:
    logs: dict[str, list[dict[str, Any]]] = {}
    for line in text.splitlines():
        entry = json.loads(line)
        assert entry.pop("job") == job
        logs.setdefault(entry["eventlog"], []).append(entry)
    return logs


@pytest.mark.parametrize("case", ["hello", "exit-code", "shell-log-verbose", "never-started"])
@pytest.mark.parametrize("follow", [False, True])
def test_events_json_live_is_the_saved_eventlogs(
    case: str, follow: bool, case_dir, live: Live
) -> None:  # type: ignore[no-untyped-def]
    d = case_dir(case)
    saved = _terminal()
    assert run(Request("events", [str(d)], json=True), saved) == 0
    assert isinstance(saved.stdout, io.BytesIO)
    fake = FakeFlux(d, scale=SCALE if follow else 0.0, start_at=0.0 if follow else None)
    out, err, rc = live(fake, "events", json=True, follow=follow)
    assert (err, rc) == (b"", 0)
    mine = _by_eventlog(out, fake.f58)
    theirs = _by_eventlog(saved.stdout.getvalue(), str(d))
    assert mine == theirs
    if not follow:
        assert out == saved.stdout.getvalue().replace(
            json.dumps(str(d)).encode(), json.dumps(fake.f58, ensure_ascii=False).encode()
        )


def test_events_follow_main_only_ends_at_clean(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("hello")
    fake = FakeFlux(d, scale=SCALE, start_at=0.0)
    out, _, rc = live(fake, "events", json=True, follow=True, eventlogs=frozenset(["main"]))
    assert rc == 0
    assert [json.loads(x)["name"] for x in out.splitlines()][-1] == "clean"
    assert all("::" not in key for _, key in fake.calls)  # no guest watch needed


def test_lines_follow_live(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("unbuffered-partial")
    saved = _terminal()
    run(Request("lines", [str(d)], json=True), saved)
    assert isinstance(saved.stdout, io.BytesIO)
    fake = FakeFlux(d, scale=SCALE, start_at=0.0)
    out, _, rc = live(fake, "lines", json=True, follow=True)
    assert rc == 0

    def records(text: bytes) -> list[tuple[Any, ...]]:
        rows = [json.loads(x) for x in text.splitlines()]
        return sorted((r["rank"], r["stream"], r["line"], r["eol"]) for r in rows)

    assert records(out) == records(saved.stdout.getvalue())


# -- the bindings ---------------------------------------------------------------------------


def test_binding_dirs_of_the_flux_on_path(tmp_path: Path) -> None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    flux = prefix / "bin" / "flux"
    flux.write_text("#!/bin/sh\nexit 1\n")
    flux.chmod(0o755)
    assert fluxsrc.binding_dirs(str(flux)) == []  # nothing there, and flux env fails
    site = prefix / "lib" / version / "site-packages" / "flux"
    site.mkdir(parents=True)
    assert fluxsrc.binding_dirs(str(flux)) == [str(site.parent)]
    env = prefix / "elsewhere" / "flux"
    env.mkdir(parents=True)
    site.rmdir()
    flux.write_text(f"#!/bin/sh\necho 'export PYTHONPATH=\"/nonexistent:{env.parent}\"'\n")
    assert fluxsrc.binding_dirs(str(flux)) == [str(env.parent)]


def test_no_bindings_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise ImportError("libflux-core.so.2: cannot open shared object file")

    monkeypatch.setattr(bindings, "_try_import", broken)
    monkeypatch.setattr(bindings, "binding_dirs", lambda flux_cmd=None: [])
    monkeypatch.setattr(bindings.shutil, "which", lambda name: None)
    with pytest.raises(NoFluxError) as info:
        fluxsrc.import_flux("ƒ2BC")
    assert str(info.value) == (
        "ƒ2BC: cannot read a job by id: the Flux Python bindings do not load "
        "(libflux-core.so.2: cannot open shared object file)"
    )
    assert info.value.hint == (
        "put flux-core's flux command on PATH, or read a saved eventlog by its path "
        "(./output.eventlog)"
    )


def test_flux_on_path_without_bindings_for_this_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """flux was on PATH, and the message said "no flux command on PATH"."""
    flux = tmp_path / "bin" / "flux"
    flux.parent.mkdir()
    flux.write_text("#!/bin/sh\n")
    (tmp_path / "lib" / "python3.6" / "site-packages" / "flux").mkdir(parents=True)
    monkeypatch.setattr(bindings, "_try_import", lambda: (_ for _ in ()).throw(ImportError("x")))
    monkeypatch.setattr(bindings, "binding_dirs", lambda flux_cmd=None: [])
    monkeypatch.setattr(bindings.shutil, "which", lambda name: str(flux))
    with pytest.raises(NoFluxError) as info:
        fluxsrc.import_flux("ƒ2BC")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert str(info.value) == (
        f"ƒ2BC: cannot read a job by id: {flux} has bindings for Python 3.6 only, "
        f"and this is Python {here}"
    )
    assert info.value.hint is not None and "Python that flux was built for" in info.value.hint


def test_no_bindings_from_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bindings, "_try_import", lambda: (_ for _ in ()).throw(ImportError("x")))
    monkeypatch.setattr(bindings, "binding_dirs", lambda flux_cmd=None: [])
    term = _terminal()
    assert run(Request("cat", ["ƒ2BC"]), term) == 1
    assert isinstance(term.stderr, io.BytesIO)
    err = term.stderr.getvalue().decode()
    lines = err.splitlines()
    assert len(lines) == 2 and all(len(line) < 130 for line in lines), err
    assert lines[0].startswith("fluxout: ƒ2BC: cannot read a job by id: ")
    assert lines[1].startswith("fluxout: ") and "./output.eventlog" in lines[1]


# -- pieces ------------------------------------------------------------------------------------


def test_cursor_never_repeats_or_loses_a_byte() -> None:
    cursor = source._Cursor()
    assert cursor.feed(b"abc") == b"abc"
    cursor.pos = 0  # a new stream, from the start
    assert cursor.feed(b"ab") == b""
    assert cursor.feed(b"cde") == b"de"
    cursor.pos = 0
    assert cursor.feed(b"abcdefg") == b"fg"


def test_large_values_are_sliced() -> None:
    value = bytes(range(256)) * ((3 * source.CHUNK) // 256 + 7)
    parts = list(source._slices("output", value))
    assert len(parts) == 4
    assert b"".join(p for _, p in parts) == value


@pytest.mark.parametrize("form", [f for f in FORMS if f != "f58"])
def test_every_jobid_form_names_the_job_in_f58(form: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    d = case_dir("exit-code")
    fake = FakeFlux(d, start_at=None)
    spelled = format_jobid(fake.jobid, form)
    out, err, rc = live(fake, "follow", job=spelled, follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    assert f"fluxout: {fake.f58}: ".encode() in err


# -- never harm the instance: the watches kvs-watch can die of ------------------------
#
# Two lookups of a guest namespace that is gone, the first with
# FLUX_KVS_WAITCREATE and the second sent before the first is answered, abort a
# flux-core 0.88 broker (kvs-watch.c: watcher_respond: nsm->commit != NULL).
# The fake records both halves of that as hazards; the live fixture above
# checks that no test's run made any.


def test_the_fake_sees_both_hazards(case_dir) -> None:  # type: ignore[no-untyped-def]
    fake = FakeFlux(case_dir("hello"), start_at=0.5)
    ns = fake.namespace
    fake.watch("exec.eventlog", ns)
    fake.watch("output", ns)  # sent before the first is answered
    assert fake.hazards == [f"{ns}::output sent while {ns}::exec.eventlog in flight"]
    fake = FakeFlux(case_dir("hello"), start_at=0.5)
    fake.watch("exec.eventlog", ns, waitcreate=True)
    assert fake.hazards == [f"{ns}::exec.eventlog watched with FLUX_KVS_WAITCREATE"]
    fake = FakeFlux(case_dir("hello"), start_at=0.5)
    first = fake.watch("exec.eventlog", ns)
    fake.wait(0.1)
    assert first.answered
    fake.watch("output", ns)
    fake.watch(f"{fake.kvs}.eventlog")  # the primary namespace is not a guest one
    assert fake.hazards == []


def shell_init(fake: FakeFlux) -> float:
    """When the fixture's exec eventlog says shell.init (fixture time)."""
    log = fake.guest["exec.eventlog"]
    lines = log.data.splitlines()
    return next(t for t, line in zip(log.times, lines, strict=True) if b'"shell.init"' in line)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("start_at", [0.0, 0.4])
def test_output_is_watched_after_shell_init_one_guest_lookup_at_a_time(
    case: str,
    start_at: float,
    case_dir,  # type: ignore[no-untyped-def]
    live: Live,
) -> None:
    d = case_dir(case)
    fake = FakeFlux(d, start_at=start_at)
    assert_follow_is_attach(d, fake, *live(fake, "follow", follow=True))  # no hazards
    guest = [w for w in fake.watches if w.key.startswith(fake.namespace)]
    outputs = [w for w in guest if w.key.endswith("::output")]
    if outputs:
        execs = [w for w in guest if w.key.endswith("::exec.eventlog")]
        assert execs and execs[0].opened < outputs[0].opened
        assert outputs[0].opened_at >= shell_init(fake)


@pytest.mark.parametrize("case", ["hello", "exit-code", "unbuffered-partial", "canceled-running"])
def test_job_ended_before_its_watches_open(case: str, case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    """The main eventlog says running, but the namespace is already gone:
    the exec watch fails at once (EOPNOTSUPP) and no output watch is sent;
    both guest eventlogs come from the graft."""
    d = case_dir(case)
    probe = FakeFlux(d)
    fake = FakeFlux(d, start_at=(probe.removed + probe.released) / 2)
    assert fake.removed <= fake.now() < fake.released
    out, err, rc = live(fake, "follow", follow=True)
    assert_follow_is_attach(d, fake, out, err, rc)
    guest = [w.key for w in fake.watches if w.guest]
    assert guest == [f"{fake.namespace}::exec.eventlog"]
    assert fake.watches[1].error is not None
    assert fake.watches[1].error.errno == errno.EOPNOTSUPP
    assert ("read", f"{fake.kvs}.guest.output") in fake.calls


def test_output_key_not_there_yet_is_asked_again(case_dir, live: Live) -> None:  # type: ignore[no-untyped-def]
    """shell.init seen, the output header not yet written: the watch fails
    with ENOENT (no WAITCREATE), and is sent again later."""
    d = case_dir("hello")
    fake = FakeFlux(d, start_at=0.0)
    output = fake.guest["output"]
    output.times[0] = shell_init(fake) + 0.05  # the header comes after shell.init
    assert output.times[0] < output.times[1]
    fake.changes = sorted({*fake.changes, output.times[0]})
    assert_follow_is_attach(d, fake, *live(fake, "follow", follow=True))
    outputs = [w for w in fake.watches if w.key == f"{fake.namespace}::output"]
    assert len(outputs) >= 2
    assert outputs[0].error is not None and outputs[0].error.errno == errno.ENOENT


def test_real_boundary_watches_never_ask_waitcreate() -> None:
    """FluxBoundary.watch, on a stand-in for libflux: the flags it sends."""

    class Lib:
        sent: ClassVar[list[tuple[object, int, bytes]]] = []

        def flux_kvs_lookup(self, h: object, ns: object, flags: int, key: bytes) -> object:
            self.sent.append((ns, flags, key))
            return object()

        def flux_kvs_lookup_cancel(self, f: object) -> int:
            return 0

    class Future:
        def __init__(self, handle: object) -> None:
            pass

        def then(self, callback: object) -> None:
            pass

    class Constants:
        FLUX_KVS_WATCH = 0x4
        FLUX_KVS_WAITCREATE = 0x8
        FLUX_KVS_WATCH_APPEND = 0x20

    class Flux:
        constants = Constants
        future = type("future", (), {"Future": Future})

    class Ffi:
        NULL = None

    boundary = object.__new__(fluxsrc.FluxBoundary)
    boundary.flux, boundary.lib, boundary.ffi, boundary.h = Flux, Lib(), Ffi, object()
    boundary.watch("job.0000.0001.eventlog")
    boundary.watch("exec.eventlog", "job-1")
    boundary.watch("output", "job-1")
    assert [flags for _, flags, _ in Lib.sent] == [0x4 | 0x20] * 3
    assert [ns for ns, _, _ in Lib.sent] == [None, b"job-1", b"job-1"]
