"""fluxout on broken, truncated, odd and foreign eventlogs.

The corpus in tests/data/malformed/ (see make_corpus.py there) holds one
directory per case: ``output.eventlog`` and the exact stdout, stderr and
exit status ``fluxout cat <case>/output.eventlog`` must give, run from
tests/data/malformed/.  The contract (DESIGN.md): never a traceback, each
malformed line reported once with its line number, everything valid around
it still printed, status 1 when a line was lost, 0 when only warned about.

Cases too big or too binary to commit are made here, in tmp_path.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from fluxout.sources.file import classify
from tests.conftest import DATA, FIXTURES

MALFORMED = DATA / "malformed"
CORPUS = sorted(d.name for d in MALFORMED.iterdir() if (d / "output.eventlog").is_file())
HELLO = (FIXTURES / "hello" / "output.eventlog").read_bytes()
HEADER = HELLO.split(b"\n")[0] + b"\n"

# fluxout's own report of a bad line: "fluxout: JOB: [warning: ]output
# eventlog line N: WHAT".
PROBLEM = re.compile(
    rb"^fluxout: (?P<job>[^:]+): (?P<warning>warning: )?"
    rb"(?P<eventlog>output|main|exec) eventlog line (?P<lineno>\d+): (?P<what>.+)$"
)


def hello_stream(stream: str) -> bytes:
    """What the hello fixture shows on one stream."""
    out = []
    for line in HELLO.split(b"\n")[:-1]:
        context = orjson.loads(line)["context"]
        if context.get("stream") == stream and "data" in context:
            out.append(context["data"].encode())
    return b"".join(out)


def environment() -> dict[str, str]:
    """The test's environment without what changes fluxout's output."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLUXOUT_")
        and k not in ("NO_COLOR", "FORCE_COLOR", "FLUX_URI", "CLICOLOR_FORCE")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def fluxout(
    *args: str | Path, cwd: Path = MALFORMED, stdin: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    with open(stdin if stdin is not None else os.devnull, "rb") as f:
        result = subprocess.run(
            [sys.executable, "-m", "fluxout", *map(str, args)],
            cwd=cwd,
            stdin=f,
            capture_output=True,
            env=environment(),
            timeout=300,
        )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stdout[:10000]
    return result


def expected(case: str) -> tuple[bytes, bytes, int]:
    d = MALFORMED / case
    return (
        (d / "expected.stdout").read_bytes(),
        (d / "expected.stderr").read_bytes(),
        int((d / "expected.rc").read_text()),
    )


def own_lines(stderr: bytes) -> list[bytes]:
    """fluxout's own lines in stderr (job stderr left out)."""
    return [line for line in stderr.split(b"\n") if line.startswith(b"fluxout: ")]


def test_corpus_is_complete() -> None:
    assert len(CORPUS) >= 25
    for case in CORPUS:
        for name in ("expected.stdout", "expected.stderr", "expected.rc"):
            assert (MALFORMED / case / name).is_file(), f"{case}/{name}"


@pytest.mark.parametrize("case", CORPUS)
def test_cat_exact(case: str) -> None:
    out, err, rc = expected(case)
    result = fluxout("cat", f"{case}/output.eventlog")
    assert result.stdout == out
    assert result.stderr == err
    assert result.returncode == rc


@pytest.mark.parametrize("case", CORPUS)
def test_expected_stderr_has_one_line_per_problem(case: str) -> None:
    """Each line number is reported at most once, in order, as one line."""
    _, err, rc = expected(case)
    linenos = []
    errors = 0
    for line in own_lines(err):
        match = PROBLEM.match(line)
        assert match, line
        assert match["job"] == f"{case}/output.eventlog".encode()
        linenos.append(int(match["lineno"]))
        errors += not match["warning"]
    assert linenos == sorted(set(linenos))
    assert rc == (1 if errors else 0)


@pytest.mark.parametrize("case", CORPUS)
def test_cat_stdin(case: str) -> None:
    """The same through stdin (``-``): the same bytes, messages about ``-``."""
    out, err, rc = expected(case)
    result = fluxout("cat", "-", stdin=MALFORMED / case / "output.eventlog")
    assert result.stdout == out
    assert result.stderr == err.replace(
        f"fluxout: {case}/output.eventlog: ".encode(), b"fluxout: -: "
    )
    assert result.returncode == rc


def run_from_pipe(*args: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    """fluxout ARGS /dev/fd/N, N a pipe holding data (as ``<(...)`` gives)."""
    r, w = os.pipe()
    try:
        assert len(data) < 60000  # fits in the pipe: no writer thread
        os.write(w, data)
        os.close(w)
        w = -1
        result = subprocess.run(
            [sys.executable, "-m", "fluxout", *args, f"/dev/fd/{r}"],
            cwd=MALFORMED,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=environment(),
            timeout=60,
            pass_fds=(r,),
        )
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    assert b"Traceback" not in result.stderr
    return result


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="no /dev/fd")
@pytest.mark.parametrize("case", CORPUS)
def test_cat_pipe_path(case: str) -> None:
    """A path that is a pipe is read once, from its start (it cannot be
    reopened to read it again after looking at its first line)."""
    out, err, rc = expected(case)
    data = (MALFORMED / case / "output.eventlog").read_bytes()
    result = run_from_pipe("cat", data=data)
    assert result.stdout == out
    job = re.escape(b"fluxout: /dev/fd/") + rb"\d+: "
    assert re.sub(job, b"fluxout: X: ", result.stderr) == err.replace(
        f"fluxout: {case}/output.eventlog: ".encode(), b"fluxout: X: "
    )
    assert result.returncode == rc


@pytest.mark.parametrize("name", ["eventlog", "exec.eventlog", "output.eventlog"])
def test_events_of_each_eventlog_from_stdin_and_pipe(name: str) -> None:
    """Which eventlog a pipe holds is known before events picks eventlogs."""
    path = FIXTURES / "hello" / name
    from_file = fluxout("events", "--json", path)
    assert from_file.returncode == 0
    assert from_file.stdout.count(b"\n") == path.read_bytes().count(b"\n")
    from_stdin = fluxout("events", "--json", "-", stdin=path)
    assert from_stdin.returncode == 0
    assert from_stdin.stdout == from_file.stdout.replace(f'"job":"{path}"'.encode(), b'"job":"-"')
    if Path("/dev/fd").is_dir():
        from_pipe = run_from_pipe("events", "--json", data=path.read_bytes())
        assert from_pipe.returncode == 0
        assert re.sub(rb'"job":"/dev/fd/\d+"', b'"job":"-"', from_pipe.stdout) == (
            from_stdin.stdout
        )


@pytest.mark.parametrize("case", CORPUS)
def test_cat_directory(case: str) -> None:
    """The case directory itself (the fixture layout) gives the same output."""
    out, err, rc = expected(case)
    if case.endswith(("main-eventlog", "exec-eventlog")):
        pytest.skip("in a directory, output.eventlog is taken as output by its name")
    result = fluxout("cat", case)
    assert result.stdout == out
    assert result.stderr == err.replace(
        f"fluxout: {case}/output.eventlog: ".encode(), f"fluxout: {case}: ".encode()
    )
    assert result.returncode == rc


@pytest.mark.parametrize("case", CORPUS)
@pytest.mark.parametrize(
    "args",
    [("cat", "-l"), ("cat", "-l", "-u"), ("lines", "--json"), ("lines",)],
    ids=["cat-l", "cat-l-u", "lines-json", "lines"],
)
def test_decorated_commands_report_the_same_problems(case: str, args: tuple[str, ...]) -> None:
    _, err, rc = expected(case)
    result = fluxout(*args, f"{case}/output.eventlog")
    assert result.returncode == rc
    assert own_lines(result.stderr) == own_lines(err)
    if args == ("cat", "-l"):
        # Every line labelled and complete, even a last partial one.
        assert result.stdout == b"" or result.stdout.endswith(b"\n")
        for line in result.stdout.split(b"\n")[:-1]:
            assert re.match(rb"^\d+: ", line), line
    if args == ("lines", "--json"):
        for line in result.stdout.split(b"\n")[:-1]:
            record = orjson.loads(line)
            assert set(record) >= {"job", "rank", "stream", "line", "eol", "timestamp"}


@pytest.mark.parametrize("case", CORPUS)
def test_events_json(case: str) -> None:
    """events shows RFC 18 entries: only lines that are not entries are errors."""
    result = fluxout("events", "--json", f"{case}/output.eventlog")
    assert result.returncode in (0, 1)
    for line in own_lines(result.stderr):
        match = PROBLEM.match(line)
        assert match, line
        assert not match["warning"]
    assert result.returncode == (1 if own_lines(result.stderr) else 0)
    for line in result.stdout.split(b"\n")[:-1]:
        record = orjson.loads(line)
        assert record["job"] == f"{case}/output.eventlog"
        assert record["eventlog"] in ("output", "main", "exec")
        assert isinstance(record["name"], str)
        assert isinstance(record["timestamp"], float)


@pytest.mark.parametrize("case", CORPUS)
def test_events_human(case: str) -> None:
    result = fluxout("events", f"{case}/output.eventlog")
    assert result.returncode in (0, 1)


# -- what tells an output eventlog from the others -------------------------------


def test_classify() -> None:
    main = (FIXTURES / "hello" / "eventlog").read_bytes()
    exec_ = (FIXTURES / "hello" / "exec.eventlog").read_bytes()
    assert classify(HELLO) == "output"
    assert classify(main) == "main"
    assert classify(exec_) == "exec"
    assert classify(b"") == "output"
    assert classify(b"\x1f\x8b\x08\x00garbage") == "output"
    # An unknown or malformed first line says nothing: the next one tells.
    assert classify(b'{"timestamp":1,"name":"progress"}\n' + main) == "main"
    assert classify(b'{"timestamp":1,"name":7}\n' + HELLO) == "output"
    assert classify(b"not json\n" + exec_) == "exec"
    assert classify(b'{"timestamp":1,"name":"progress"}\n') == "output"
    # "starting" is an exec event, "start" a main one.
    assert classify(b'{"timestamp":1,"name":"starting"}\n') == "exec"
    assert classify(b'{"timestamp":1,"name": "start"}\n') == "main"


# -- big lines, made at test time --------------------------------------------------


BIG = 50 * 1024 * 1024


# Run by a small intermediate Python: a child forked from the big pytest
# process would count pytest's own pages in its peak RSS (Linux keeps the
# high-water mark across fork and exec).
MEASURE = """
import json, os, subprocess, sys
args, out, err, inp = json.loads(sys.argv[1])
with open(out, "wb") as o, open(err, "wb") as e, open(inp, "rb") as i:
    proc = subprocess.Popen(args, stdin=i, stdout=o, stderr=e)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps([proc.returncode, usage.ru_maxrss]))
"""


def run_measured(
    args: list[str], stdout: Path, stderr: Path, stdin: Path | None = None
) -> tuple[int, int]:
    """Run fluxout with output to files; (exit status, peak RSS in bytes)."""
    spec = [
        [sys.executable, "-m", "fluxout", *args],
        str(stdout),
        str(stderr),
        str(stdin if stdin is not None else os.devnull),
    ]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(spec)],
        capture_output=True,
        env=environment(),
        timeout=300,
        check=True,
    )
    rc, maxrss = json.loads(result.stdout)
    assert b"Traceback" not in stderr.read_bytes()
    return rc, maxrss * (1 if sys.platform == "darwin" else 1024)


def big_text(astral: bool = False) -> str:
    """About 50 MB of text: ASCII, multibyte UTF-8, tabs, NUL, CR, newlines.

    CPython keeps a string with a character beyond U+FFFF (an emoji) in 4
    bytes per character, the decoded JSON string then costs 4x its length:
    ``astral`` adds one such character, at the end.
    """
    unit = 'line ünïcödé €uro \t tab \x00 nul \r cr \\ backslash " quote\n'
    text = unit * (BIG // len(unit.encode()))
    return text + "𝄞\n" if astral else text


def big_data_file(root: Path, astral: bool = False) -> tuple[Path, bytes]:
    """hello with a 50 MB data event after its header; (path, the data)."""
    payload = big_text(astral)
    line = orjson.dumps(
        {
            "timestamp": 1795619483.5,
            "name": "data",
            "context": {"stream": "stdout", "rank": "0", "data": payload},
        }
    )
    assert len(line) > BIG
    path = root / "output.eventlog"
    tail = b"".join(HELLO.split(b"\n")[i] + b"\n" for i in (1, 13, 14, 21, 22))
    path.write_bytes(HEADER + line + b"\n" + tail)
    return path, payload.encode()


@pytest.fixture(scope="module")
def big_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return big_data_file(tmp_path_factory.mktemp("big"))


# Peak RSS allowed, in line sizes.  The line is read (1x) and decoded to a
# str (1x, 2x with characters beyond Latin-1) then to bytes (1x); with a
# character beyond U+FFFF the str takes 4 bytes a character (see big_text).
RSS_BOUND = {False: 6, True: 8}
# Beside the line: the interpreter and fluxout's modules, whatever the
# line's size (about 30 MiB; the 6x above had been taking it out of its slack).
RSS_BASE = 32 << 20


@pytest.mark.parametrize("astral", [False, True], ids=["bmp", "astral"])
@pytest.mark.parametrize("via", ["path", "stdin"])
def test_50mb_data_line(tmp_path: Path, via: str, astral: bool) -> None:
    path, payload = big_data_file(tmp_path, astral)
    out, err = tmp_path / "out", tmp_path / "err"
    if via == "path":
        rc, rss = run_measured(["cat", str(path)], out, err)
    else:
        rc, rss = run_measured(["cat", "-"], out, err, stdin=path)
    assert rc == 0
    assert err.read_bytes() == b"rank 1: this line went to stderr\n"
    written = out.read_bytes()
    assert len(written) == len(payload)
    assert written == payload
    size = path.stat().st_size
    assert rss < RSS_BASE + RSS_BOUND[astral] * size, (
        f"peak RSS {rss >> 20} MiB for a {size >> 20} MiB line"
    )


def test_50mb_data_line_labelled(big_data: tuple[Path, bytes]) -> None:
    path, payload = big_data
    result = fluxout("cat", "-l", "--stream", "stdout", path)
    assert result.returncode == 0
    assert result.stderr == b""
    lines = payload.split(b"\n")[:-1]
    assert result.stdout == b"".join(b"0: " + line + b"\n" for line in lines)


def test_50mb_garbage_line(tmp_path: Path) -> None:
    path = tmp_path / "output.eventlog"
    garbage = bytes(range(33, 127)) * (BIG // 94)
    garbage = garbage.replace(b"\n", b" ")
    hello = HELLO.split(b"\n")
    path.write_bytes(HEADER + garbage + b"\n" + hello[2] + b"\n" + hello[1] + b"\n")
    out, err = tmp_path / "out", tmp_path / "err"
    rc, rss = run_measured(["cat", str(path)], out, err)
    assert rc == 1
    assert out.read_bytes() == b"hello from rank 1: stdout line 1\n"
    assert (
        err.read_bytes()
        == (
            f"fluxout: {path}: output eventlog line 2: invalid JSON "
            "(unexpected character, expected a JSON value at column 1)\n"
            "rank 1: this line went to stderr\n"
        ).encode()
    )
    assert rss < 6 * path.stat().st_size


def test_50mb_garbage_line_without_newline(tmp_path: Path) -> None:
    """A huge last line that never ends: one error, and what came before."""
    path = tmp_path / "output.eventlog"
    path.write_bytes(HELLO + b'{"timestamp":1.5,"name":"data","context":' + b"[" * BIG)
    result = fluxout("cat", path)
    assert result.returncode == 1
    (problem,) = own_lines(result.stderr)
    assert problem.startswith(f"fluxout: {path}: output eventlog line 26: invalid JSON (".encode())
    assert len(problem) < 200
    assert result.stdout == hello_stream("stdout")


def test_line_over_the_limit_is_dropped_with_bounded_memory(tmp_path: Path) -> None:
    """300 MiB of NUL bytes with no newline (a sparse file), then hello: the
    long line is reported and dropped as it is read, hello's data shown."""
    path = tmp_path / "output.eventlog"
    size = 300 << 20
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(size)
        f.write(HELLO)
    out, err = tmp_path / "out", tmp_path / "err"
    rc, rss = run_measured(["cat", str(path)], out, err)
    assert rc == 1
    assert out.read_bytes() == hello_stream("stdout")
    assert err.read_bytes() == (
        f"fluxout: {path}: output eventlog line 1: line longer than 256 MiB skipped\n"
        f"fluxout: {path}: warning: output eventlog line 2: data before the header\n"
    ).encode() + hello_stream("stderr")
    assert rss < (256 << 20) + (100 << 20)


# -- files that are not eventlogs at all ---------------------------------------


MAX_REPORTED = 20  # fluxout.job.Problems.MAX_REPORTED


def assert_told_once(path: Path, result: subprocess.CompletedProcess[bytes]) -> None:
    """A file that is not an eventlog gets one line, at its first line that
    is not JSON: the others like it are not told one by one (cat
    /etc/passwd once printed 22 lines). A line that is JSON but no event is
    still told, each (the first 20, then counted)."""
    lines = [(n, line) for n, line in enumerate(path.read_bytes().split(b"\n"), 1)]
    if lines and lines[-1][1] == b"":
        lines.pop()
    wanted: list[tuple[int, bool]] = []  # (line, is the "not an eventlog" line)
    for n, line in lines:
        if not line.strip():
            continue
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            if not any(gate for _, gate in wanted):
                wanted.append((n, True))
            continue
        wanted.append((n, False))
    assert result.returncode == 1
    assert result.stdout == b""
    told = []
    for message in result.stderr.split(b"\n")[:-1][:MAX_REPORTED]:
        match = PROBLEM.match(message)
        assert match, message
        assert not match["warning"]
        told.append((int(match["lineno"]), b": not an eventlog: " in message))
    assert told == wanted[:MAX_REPORTED]


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(random.Random(20240601).randbytes(1 << 20))
    result = fluxout("cat", path)
    assert_told_once(path, result)


def test_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "output.eventlog.gz"
    path.write_bytes(gzip.compress(HELLO, mtime=0))
    assert_told_once(path, fluxout("cat", path))


def test_executable_file(tmp_path: Path) -> None:
    true = shutil.which("true")
    if true is None:
        pytest.skip("no true(1) to copy")
    path = tmp_path / "true"
    shutil.copyfile(true, path)
    assert_told_once(path, fluxout("cat", path))


@pytest.mark.parametrize(
    "args",
    [("cat", "-l"), ("lines", "--json"), ("events", "--json")],
    ids=["cat-l", "lines-json", "events-json"],
)
def test_random_bytes_other_commands(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(random.Random(7).randbytes(1 << 16))
    assert_told_once(path, fluxout(*args, path))
