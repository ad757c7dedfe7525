"""fluxout.output's *_async futures against flux.job.output's, from a reactor.

One test instance runs the fixture cases' jobs (as tests/test_output_live.py
does), then a script puts every future of both modules, for every job at
once, on ONE handle, collects their records from ``then`` callbacks and
runs ``h.reactor_run()``: the way a service uses them. Where the two must
agree they are equal; ours also equals our own generators. Then running
jobs are followed the same way, all at once, and give every line of every
task, whole.

Runs when a ``flux`` command is found and its bindings have flux.job;
skipped otherwise.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.test_integration import FLUX, in_instance
from tests.test_output_live import PLAIN, SUBMIT

pytestmark = pytest.mark.skipif(
    not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX"
)

RUNNING = 8  # running jobs followed at once by futures on one handle

SCRIPT = r"""
import json, sys, subprocess, os
from fluxout.sources.flux.bindings import import_flux
flux = import_flux("test")
try:
    import flux.job
    from flux.job import output as original
except Exception as exc:
    json.dump({"skip": f"flux.job does not import: {exc!r}"}, open("results.json", "w"))
    sys.exit(0)
from fluxout import output as ours

h = flux.Flux()
FLUX = os.environ["FLUX"]

def submit(args):
    return subprocess.run([FLUX, "submit", *args.split()], capture_output=True, text=True,
                          check=True).stdout.strip()

cases = json.loads(open("cases.json").read())
jobs = {name: submit(args) for name, args in cases.items()}
subprocess.run([FLUX, "cancel", jobs["never-started"]], check=True)
for jobid in jobs.values():
    subprocess.run([FLUX, "job", "wait-event", "-t", "120", jobid, "clean"], check=True)
jobs["unknown"] = "12345"

def error(exc):
    return ["raise", type(exc).__module__ + "." + type(exc).__name__, exc.errno, exc.strerror]

def event_record(e):
    return [type(e).__name__, dict(e), e.render() if hasattr(e, "render") else None]

pending = []
mine = []  # our futures not ended yet
grace = []

def attach(module, kind, jobid, **kw):
    # A future's records, taken from its then() callback.
    slot = {"items": [], "end": None}
    if kind == "events":
        future = module.output_event_watch_async(h, jobid, **kw)
    elif kind == "watch":
        future = module.output_watch_async(h, jobid, **kw)
    else:
        future = module.output_watch_lines_async(h, jobid, **kw)

    def cb(f):
        try:
            if kind == "events":
                item = f.get_event()
                if item is None:
                    return finish("ok")
                slot["items"].append(event_record(item))
            else:
                stream, data = f.get_output() if kind == "watch" else f.getline()
                if data is None:
                    return finish("ok")
                slot["items"].append([stream, data])
        except OSError as exc:
            finish(error(exc))

    def finish(end):
        if slot["end"] is None:
            slot["end"] = end
            pending.remove(slot)
            if slot in mine:
                mine.remove(slot)
            if not pending:
                h.reactor_stop()
            elif not mine and not grace:
                # Ours are over: the original's get 10 s more (some never end).
                grace.append(h.timer_watcher_create(10, lambda *a: h.reactor_stop()))
                grace[0].start()

    pending.append(slot)
    if module is ours:
        mine.append(slot)
    future.then(cb)
    slot["future"] = future  # held, as a caller holds it
    return slot

results = {}
for name, jobid in jobs.items():
    r = results[name] = {"jobid": jobid}
    for module, who in ((original, "original"), (ours, "ours")):
        r[who] = {
            "lines": attach(module, "lines", jobid),
            "lines_keepends": attach(module, "lines", jobid, keepends=True),
            "lines_labelio": attach(module, "lines", jobid, labelio=True),
            "watch": attach(module, "watch", jobid),
            "events": attach(module, "events", jobid),
            "events_nowait": attach(module, "events", jobid, nowait=True),
        }
    # Our generators, for the same records.
    r["sync"] = {
        "lines": [list(x) for x in ours.output_watch_lines(h, jobid)] if name not in (
            "never-started", "unknown") else None,
    }
timer = h.timer_watcher_create(120, lambda *a: h.reactor_stop())
timer.start()
h.reactor_run()
timer.stop()
for r in results.values():
    for who in ("original", "ours"):
        for slot in r[who].values():
            slot.pop("future")

# Running jobs, all followed at once by our futures on the one handle.
running = [submit("-n2 python3 gen.py hello") for _ in range(%(running)d)]
follow = {jobid: attach(ours, "lines", jobid, labelio=True, keepends=True) for jobid in running}
timer = h.timer_watcher_create(120, lambda *a: h.reactor_stop())
timer.start()
h.reactor_run()
for slot in follow.values():
    slot.pop("future")
results["running"] = follow
results["states"] = subprocess.run([FLUX, "jobs", "-no", "{state}", *running],
                                   capture_output=True, text=True).stdout.split()
json.dump(results, open("results.json", "w"))
"""


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("async-live")
    shutil.copy(FIXTURES / "gen.py", work / "gen.py")
    (work / "cases.json").write_text(json.dumps(SUBMIT))
    (work / "compare.py").write_text(SCRIPT % {"running": RUNNING})
    done = in_instance(work, "save compare $PY compare.py\n", timeout=600)
    err = (work / "compare.err").read_text() if (work / "compare.err").exists() else ""
    assert done.returncode == 0 and (work / "results.json").exists(), (done.stderr, err)
    results: dict[str, Any] = json.loads((work / "results.json").read_text())
    if "skip" in results:
        pytest.skip(results["skip"])
    return results


def both(compared: dict[str, Any], job: str, what: str) -> tuple[Any, Any]:
    return compared[job]["original"][what], compared[job]["ours"][what]


def joined(items: list[list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for stream, data in items:
        out[stream] = out.get(stream, "") + data
    return out


@pytest.mark.parametrize("job", [*SUBMIT, "unknown"])
def test_every_future_ends(compared: dict[str, Any], job: str) -> None:
    for what, slot in compared[job]["ours"].items():
        assert slot["end"] is not None, what
    # The original's do too, but for a job that ran out of time: some of
    # its futures may wait on there (a race of its chain of watches).
    if job != "timeout":
        hung = [w for w, slot in compared[job]["original"].items() if slot["end"] is None]
        assert hung == []


@pytest.mark.parametrize("job", PLAIN)
@pytest.mark.parametrize("what", ["lines", "lines_keepends", "lines_labelio", "events"])
def test_same_records_from_the_reactor(compared: dict[str, Any], job: str, what: str) -> None:
    original, ours = both(compared, job, what)
    if job == "unknown":  # FileNotFoundError (ENOENT) both; ours names the job
        assert original["end"][:3] == ours["end"][:3] == ["raise", "builtins.FileNotFoundError", 2]
        assert ours["end"][3] == "job ƒ4fr not found"  # 12345
        return
    assert ours == original


@pytest.mark.parametrize("job", [j for j in SUBMIT if j != "never-started"])
def test_same_output_and_events(compared: dict[str, Any], job: str) -> None:
    original, ours = both(compared, job, "watch")
    assert ours["end"] == original["end"] == "ok"
    # The same bytes per stream (ours may give several events' data at once).
    assert joined(ours["items"]) == joined(original["items"])
    original, ours = both(compared, job, "events_nowait")
    assert ours == original


def test_never_started_is_the_originals_error(compared: dict[str, Any]) -> None:
    jobid = compared["never-started"]["jobid"]
    for what in ("lines", "watch", "events"):
        original, ours = both(compared, "never-started", what)
        assert ours == original
        assert ours["end"] == ["raise", "builtins.OSError", 5, f"job {jobid} never started"]


def test_the_futures_give_what_the_generators_give(compared: dict[str, Any]) -> None:
    for job in SUBMIT:
        sync = compared[job]["sync"]["lines"]
        if sync is not None:
            assert compared[job]["ours"]["lines"]["items"] == sync, job


def test_whole_lines_where_the_original_splits_them(compared: dict[str, Any]) -> None:
    original, ours = both(compared, "unbuffered-partial", "lines_keepends")
    assert ["stdout", "partial "] in original["items"]  # a piece, as a line
    assert ["stdout", "rank 0: partial line in pieces\n"] in ours["items"]


def test_running_jobs_followed_at_once_on_one_handle(compared: dict[str, Any]) -> None:
    assert compared["states"] == ["INACTIVE"] * RUNNING
    want: dict[str, str] = {}
    for p in (FIXTURES / "hello" / "expected").iterdir():
        stream, rank = p.name.split(".")
        if int(rank) < 2 and p.read_bytes():
            want[f"{stream}.{rank}"] = "".join(
                f"{rank}: {line}" for line in p.read_text().splitlines(keepends=True)
            )
    for jobid, slot in compared["running"].items():
        assert slot["end"] == "ok", jobid
        got: dict[str, str] = {}
        for stream, line in slot["items"]:
            key = f"{stream}.{line.split(':')[0]}"
            got[key] = got.get(key, "") + line
        assert got == want, jobid
