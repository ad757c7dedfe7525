"""fluxout.output against flux.job.output itself, on a real instance.

One test instance (``flux start --test-size=2``) runs a set of jobs (the
fixture cases' gen.py), then a script calls both modules on each job with
the same handle, and writes what each returned or raised. Where the two
must agree they are equal; where fluxout.output differs on purpose (whole
lines, labels per line, log lines ending in a newline, redirects told,
``\\r`` kept in a line) the difference is exactly that one.

Runs when a ``flux`` command is found and its bindings have flux.job
(which needs ply); skipped otherwise.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.test_integration import FLUX, in_instance

pytestmark = pytest.mark.skipif(
    not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX"
)

SUBMIT = {
    "hello": "-N2 -n4 python3 gen.py hello",
    "exit-code": "-n4 python3 gen.py exit-code",
    "stderr-interleaved": "-n2 python3 gen.py stderr-interleaved",
    "binary": "-n2 python3 gen.py binary",
    "unbuffered-partial": "-n2 -o output.stdout.buffer.type=none python3 gen.py unbuffered-partial",
    "utf8-and-escapes": "-n1 python3 gen.py utf8-and-escapes",
    "no-trailing-newline": "-n2 python3 gen.py no-trailing-newline",
    "command-not-found": "/nonexistent",
    "shell-log-verbose": "-n2 -o verbose=2 python3 gen.py shell-log-verbose",
    "redirect": "-n2 --output=out.txt --error=err.txt python3 gen.py hello",
    "timeout": "-t 1s sleep 30",
    "never-started": "--urgency=0 true",
}

SCRIPT = r"""
import json, sys, time, subprocess, os
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
cases = json.loads(open("cases.json").read())
jobs = {}
for name, args in cases.items():
    jobs[name] = subprocess.run(
        [os.environ["FLUX"], "submit", *args.split()], capture_output=True, text=True, check=True
    ).stdout.strip()
subprocess.run([os.environ["FLUX"], "cancel", jobs["never-started"]], check=True)
for name, jobid in jobs.items():
    wait = [os.environ["FLUX"], "job", "wait-event", "-t", "120", jobid, "clean"]
    subprocess.run(wait, check=True)
jobs["unknown"] = "12345"

def outcome(fn):
    try:
        value = fn()
        if hasattr(value, "__next__"):
            value = [list(x) if isinstance(x, tuple) else x for x in value]
        elif isinstance(value, tuple):
            value = list(value)
        return ["ok", value]
    except Exception as exc:
        return ["raise", type(exc).__module__ + "." + type(exc).__name__,
                getattr(exc, "errno", None), getattr(exc, "strerror", None), str(exc)]

ATTRS = ("rank", "stream", "eof", "data", "level", "levelstr", "message", "component",
         "file", "line", "version", "stdout_count", "stderr_count", "stdout_encoding",
         "stderr_encoding", "path", "severity", "exc_type", "note", "timestamp", "name")

def events(module, jobid, **kw):
    def go():
        out = []
        for e in module.output_event_watch(h, jobid, **kw):
            attrs = {a: str(getattr(e, a)) for a in ATTRS if hasattr(e, a)}
            render = e.render() if hasattr(e, "render") else None
            out.append([type(e).__name__, dict(e), attrs, render])
        return out
    return outcome(go)

def joined(module, jobid):
    def go():
        streams = {}
        for stream, data in module.output_watch(h, jobid):
            streams[stream] = streams.get(stream, "") + data
        return streams
    return outcome(go)

results = {}
for name, jobid in jobs.items():
    r = results[name] = {"jobid": jobid}
    for module, who in ((original, "original"), (ours, "ours")):
        r[who] = {
            "job_output": outcome(lambda: module.job_output(h, jobid)),
            "job_output_labelio": outcome(lambda: module.job_output(h, jobid, labelio=True)),
            "job_output_tasks": outcome(lambda: module.job_output(h, jobid, tasks="1")),
            "job_output_quiet": outcome(lambda: module.job_output(h, jobid, log_stderr_level=-1)),
            "job_output_nowait": outcome(lambda: module.job_output(h, jobid, nowait=True)),
            "watch": joined(module, jobid),
            "lines": outcome(lambda: module.output_watch_lines(h, jobid)),
            "lines_keepends": outcome(lambda: module.output_watch_lines(h, jobid, keepends=True)),
            "lines_labelio": outcome(lambda: module.output_watch_lines(h, jobid, labelio=True)),
            "events": events(module, jobid),
            "events_nowait": events(module, jobid, nowait=True),
        }
# One URI instead of the handle, and a job by its path-free f58 id: the same.
r = results["hello"]["ours"]
r["by_uri"] = outcome(lambda: ours.job_output(os.environ["FLUX_URI"], jobs["hello"]))
r["by_env"] = outcome(lambda: ours.job_output(None, jobs["hello"]))

# The library: two running jobs followed at once, through the caller's handle.
from fluxout import library
def submit(args):
    return subprocess.run(
        [os.environ["FLUX"], "submit", *args.split()], capture_output=True, text=True, check=True
    ).stdout.strip()
a = submit("-n2 python3 gen.py hello")
b = submit("-n2 python3 gen.py stderr-interleaved")
lines = library.lines(a, b, handle=h, follow=True)
results["follow_two"] = {
    "jobs": [a, b],
    "lines": [[x.job, x.rank, x.stream, x.text.decode(), x.eol] for x in lines],
    "states": subprocess.run(
        [os.environ["FLUX"], "jobs", "-no", "{state}", a, b], capture_output=True, text=True
    ).stdout.split(),
}
json.dump(results, open("results.json", "w"))
"""


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("output-live")
    shutil.copy(FIXTURES / "gen.py", work / "gen.py")
    (work / "cases.json").write_text(json.dumps(SUBMIT))
    (work / "compare.py").write_text(SCRIPT)
    done = in_instance(work, "save compare $PY compare.py\n", timeout=600)
    err = (work / "compare.err").read_text() if (work / "compare.err").exists() else ""
    assert done.returncode == 0 and (work / "results.json").exists(), (done.stderr, err)
    results: dict[str, Any] = json.loads((work / "results.json").read_text())
    if "skip" in results:
        pytest.skip(results["skip"])
    return results


ALL = [*SUBMIT, "unknown"]
# Jobs whose every data event is whole lines, broken at \n only, with no
# shell log messages or redirects: there the two modules agree on everything.
PLAIN = ["hello", "exit-code", "stderr-interleaved", "timeout", "never-started", "unknown"]


def both(compared: dict[str, Any], job: str, what: str) -> tuple[Any, Any]:
    return compared[job]["original"][what], compared[job]["ours"][what]


@pytest.mark.parametrize("job", ALL)
@pytest.mark.parametrize("what", ["events", "events_nowait", "watch"])
def test_same_events_and_output(compared: dict[str, Any], job: str, what: str) -> None:
    original, ours = both(compared, job, what)
    if job == "unknown":  # FileNotFoundError (ENOENT) both; ours names the job
        assert ours[:3] == original[:3] == ["raise", "builtins.FileNotFoundError", 2]
        assert ours[3] == "job ƒ4fr not found"  # 12345
        return
    assert ours == original


@pytest.mark.parametrize("job", PLAIN)
@pytest.mark.parametrize(
    "what",
    [
        "job_output",
        "job_output_labelio",
        "job_output_tasks",
        "job_output_quiet",
        "lines",
        "lines_keepends",
        "lines_labelio",
    ],
)
def test_same_results_where_lines_are_plain(compared: dict[str, Any], job: str, what: str) -> None:
    original, ours = both(compared, job, what)
    if job == "unknown" and what.startswith("job_output"):
        # Both FileNotFoundError (ENOENT); ours names the job.
        assert original[:3] == ours[:3] == ["raise", "builtins.FileNotFoundError", 2]
        assert ours[4] == "[Errno 2] job ƒ4fr not found"  # 12345
        return
    assert ours == original


def test_never_started_errors_are_the_originals(compared: dict[str, Any]) -> None:
    original, ours = both(compared, "never-started", "job_output")
    assert original[1] == ours[1] == "flux.job.event.JobException"
    assert ours == original
    for what in ("watch", "lines", "events"):
        original, ours = both(compared, "never-started", what)
        assert ours == original
        assert ours[:3] == ["raise", "builtins.OSError", 5]
        assert ours[3] == f"job {compared['never-started']['jobid']} never started"


def test_nowait(compared: dict[str, Any]) -> None:
    for job in PLAIN[:-2]:
        assert both(compared, job, "job_output_nowait")[1] == both(compared, job, "job_output")[0]
    original, ours = both(compared, "never-started", "job_output_nowait")
    assert original[1] == ours[1] == "builtins.FileNotFoundError"
    assert original[4] in ours[4]  # ours has its errno (ENOENT) too


def test_job_output_log_lines_end_in_a_newline(compared: dict[str, Any]) -> None:
    for job in ("command-not-found", "shell-log-verbose"):
        logs = [e[3] for e in compared[job]["original"]["events"][1] if e[0] == "LogEvent"]
        assert logs
        for what, stream in (("job_output", 1), ("job_output_quiet", 2)):
            original, ours = both(compared, job, what)
            assert ours[1][stream].replace("\n", "") == original[1][stream].replace("\n", "")
            for text in logs:
                assert text + "\n" in ours[1][stream]
            assert ours[1][0] == original[1][0]


def test_job_output_tells_redirects(compared: dict[str, Any]) -> None:
    original, ours = both(compared, "redirect", "job_output")
    events = compared["redirect"]["original"]["events"][1]
    told = "".join(e[3] + "\n" for e in events if e[0] == "RedirectEvent")
    assert told.startswith("0-1: stdout redirected to out.txt\n")
    assert original == ["ok", ["", "", ""]]
    assert ours == ["ok", ["", told, ""]]


def test_whole_lines_where_the_original_splits_them(compared: dict[str, Any]) -> None:
    original, ours = both(compared, "unbuffered-partial", "lines_keepends")
    assert ("stdout", "partial ") in [tuple(x) for x in original[1]]  # a piece, as a line
    assert ["stdout", "rank 0: partial line in pieces\n"] in ours[1]
    assert ["stdout", "rank 1: partial line in pieces\n"] in ours[1]
    for stream in ("stdout", "stderr"):
        mine = sorted("".join(t for s, t in ours[1] if s == stream))
        theirs = sorted("".join(t for s, t in original[1] if s == stream))
        assert mine == theirs  # the same characters, in whole lines
    # \r stays in the line: str.splitlines lost it (and \x0b, \x0c, \x1c-\x1e).
    original, ours = both(compared, "utf8-and-escapes", "lines")
    assert ["stdout", "crlf line\r"] in ours[1] and ["stdout", "crlf line"] in original[1]
    original, ours = both(compared, "binary", "lines_keepends")
    for stream in ("stdout", "stderr"):
        assert "".join(t for s, t in ours[1] if s == stream) == both(compared, "binary", "watch")[
            1
        ][1].get(stream, "")


def test_a_uri_or_flux_uri_is_the_handle(compared: dict[str, Any]) -> None:
    ours = compared["hello"]["ours"]
    assert ours["by_uri"] == ours["by_env"] == ours["job_output"]


def test_library_follows_two_running_jobs_with_one_handle(compared: dict[str, Any]) -> None:
    follow = compared["follow_two"]
    a, b = follow["jobs"]
    for job, case in ((a, "hello"), (b, "stderr-interleaved")):
        got: dict[str, bytes] = {}
        for name, rank, stream, text, eol in follow["lines"]:
            if name == job:
                key = f"{stream}.{rank}"
                got[key] = got.get(key, b"") + text.encode() + (b"\n" if eol else b"")
        want = {
            p.name: p.read_bytes()
            for p in (FIXTURES / case / "expected").iterdir()
            if p.read_bytes() and int(p.name.split(".")[1]) < 2
        }
        assert got == want
    # Over when both were: the lines were followed to the end.
    assert follow["states"] == ["INACTIVE", "INACTIVE"]
