"""fluxout against a real Flux instance, next to ``flux job attach``.

These run when a ``flux`` command is found: ``FLUXOUT_TEST_FLUX`` naming it,
or ``flux`` on PATH; otherwise they are skipped.  Each test starts its own
instance (``flux start --test-size=2 SCRIPT``) under a timeout; the script
runs jobs, fluxout and attach, and leaves their outputs in files.

fluxout runs as ``python -m fluxout`` with PYTHONPATH holding only this
repository: the Flux bindings are found through the ``flux`` command on
PATH (flux start puts its bindir there), which is the fallback of
fluxout.sources.flux.bindings.import_flux.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.test_cli_fixtures import split_own

REPO = Path(__file__).resolve().parent.parent
FLUX = os.environ.get("FLUXOUT_TEST_FLUX") or shutil.which("flux")

pytestmark = pytest.mark.skipif(
    not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX"
)

# Shell functions every script gets.  $FO runs fluxout, $FLUX is flux.
PRELUDE = r"""
set -u
fo() { $PY -m fluxout "$@"; }
# save NAME CMD...: stdout, stderr and status of CMD in NAME.out/.err/.rc
save() { local n=$1; shift; "$@" >"$n.out" 2>"$n.err" </dev/null; echo $? >"$n.rc"; }
# until_true SECONDS CMD...: poll CMD every 0.05 s
until_true() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
"""


def fluxout_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FLUX_URI", "PYTHONPATH")}
    env["PYTHONPATH"] = str(REPO)  # fluxout, and no Flux bindings
    env["PY"] = sys.executable
    env["FLUX"] = str(FLUX)
    env["PATH"] = os.pathsep.join([str(Path(str(FLUX)).parent), env.get("PATH", "")])
    return env


def in_instance(
    work: Path, script: str, size: int = 2, timeout: float = 180, *options: str
) -> subprocess.CompletedProcess[bytes]:
    """Run a bash script inside a new test instance, in ``work``."""
    path = work / "script.sh"
    path.write_text("#!/bin/bash\n" + PRELUDE + script)
    path.chmod(0o755)
    try:
        return subprocess.run(
            [str(FLUX), "start", f"--test-size={size}", *options, str(path)],
            cwd=work,
            env=fluxout_env(),
            timeout=timeout,
            capture_output=True,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the test instance did not finish in {timeout}s: {exc.stderr!r}")


def result(work: Path, name: str) -> tuple[bytes, bytes, int]:
    out = (work / f"{name}.out").read_bytes()
    err = (work / f"{name}.err").read_bytes()
    rc = int((work / f"{name}.rc").read_text())
    assert b"Traceback" not in err, err.decode(errors="replace")
    return out, err, rc


def assert_same_as_attach(
    mine: tuple[bytes, bytes, int], theirs: tuple[bytes, bytes, int], jobid: bytes
) -> None:
    """fluxout follow = attach: stdout, stderr data, status, and attach's own
    lines (exceptions, exit message) first among fluxout's.

    (fluxout's failure summary follows them when the job failed, but may be
    empty: flux-core posts shell.task-exit for the first task to exit only.)"""
    out, err, rc = mine
    a_out, a_err, a_rc = theirs
    assert rc == a_rc
    assert out == a_out
    assert split_own(err)[0] == split_own(a_err)[0]
    norm = [x.replace(jobid, b"JOB").replace(b"flux-job: ", b"") for x in split_own(a_err)[1]]
    ours = [x.replace(jobid, b"JOB").replace(b"fluxout: JOB: ", b"") for x in split_own(err)[1]]
    assert ours[: len(norm)] == norm
    if rc == 0:
        assert ours == norm


# -- fixture cases, live ------------------------------------------------------------

LIVE_CASES = [
    "hello",
    "exit-code",
    "signaled",
    "unbuffered-partial",
    "binary",
    "timeout-exception",
    "canceled-running",
    "never-started",
    "no-trailing-newline",
    "command-not-found",
    "output-limit",
    "stderr-interleaved",
    "utf8-and-escapes",
    "long-line",
    "many-small-lines",
    "redirect",
]

# What happens to a case's job after submission, before it ends by itself.
AFTER_SUBMIT = {
    "canceled-running": (
        'until_true 30 sh -c "$FLUX job eventlog -p output $id | grep -c about.to.be | grep -q 2"'
        " && $FLUX cancel $id"
    ),
    "never-started": "sleep 0.5 && $FLUX cancel $id",
}


@pytest.mark.parametrize("case", LIVE_CASES)
def test_fixture_case_live_is_attach(case: str, tmp_path: Path) -> None:
    """Run the case's job; follow it live with fluxout and attach side by
    side; then cat it (plain and -l -u) next to attach after the end."""
    meta = json.loads((FIXTURES / case / "case.json").read_text())
    shutil.copy(FIXTURES / "gen.py", tmp_path / "gen.py")
    command = [
        arg.replace(f"/tmp/fluxout-capture/{case}", str(tmp_path)) for arg in meta["command"]
    ]
    assert command[:2] == ["flux", "submit"], command
    submit = shlex.join(["$FLUX", *command[1:]]).replace("'$FLUX'", "$FLUX")
    # attach only says where redirected output went (test_redirected.py reads it).
    script = f"""
fo() {{ $PY -m fluxout "$1" {"--no-redirected" if case == "redirect" else ""} "${{@:2}}"; }}
id=$({submit})
echo "$id" >jobid
save follow fo follow $id &
f=$!
save attach $FLUX job attach $id &
a=$!
{AFTER_SUBMIT.get(case, "true")}
wait $f $a
save cat fo cat $id
save attach-after $FLUX job attach $id
save cat-lu fo cat -l -u $id
save attach-l $FLUX job attach -l $id
"""
    proc = in_instance(tmp_path, script)
    assert (tmp_path / "jobid").is_file(), proc.stderr.decode(errors="replace")
    jobid = (tmp_path / "jobid").read_text().strip().encode()
    assert_same_as_attach(result(tmp_path, "follow"), result(tmp_path, "attach"), jobid)
    out, err, rc = result(tmp_path, "cat")
    a_out, a_err, _ = result(tmp_path, "attach-after")
    assert (out, rc) == (a_out, 0)
    assert split_own(err)[0] == split_own(a_err)[0]
    out, err, rc = result(tmp_path, "cat-lu")
    a_out, a_err, _ = result(tmp_path, "attach-l")
    assert (out, rc) == (a_out, 0)
    assert split_own(err)[0] == split_own(a_err)[0]


# -- a job still writing ---------------------------------------------------------------

SLOW_JOB = (
    "$FLUX submit -n2 sh -c "
    "'for i in $(seq 1 12); do echo \"line $i of $FLUX_TASK_RANK\"; sleep 0.25; done'"
)


def test_follow_streams_a_job_still_writing(tmp_path: Path) -> None:
    script = f"""
id=$({SLOW_JOB})
echo "$id" >jobid
$FLUX job wait-event $id start
sleep 0.6
save follow fo follow $id &
f=$!
# fluxout prints line 6 while the job is still running.
until_true 20 grep -q "line 6 of" follow.out
$FLUX jobs -no {{state}} $id >state-at-line-6
wait $f
save attach $FLUX job attach $id
"""
    in_instance(tmp_path, script)
    assert (tmp_path / "state-at-line-6").read_text().strip() == "RUN"
    jobid = (tmp_path / "jobid").read_text().strip().encode()
    mine = result(tmp_path, "follow")
    assert_same_as_attach(mine, result(tmp_path, "attach"), jobid)
    assert mine[0].count(b"\n") == 24


def test_events_and_lines_follow_live(tmp_path: Path) -> None:
    script = f"""
id=$({SLOW_JOB})
echo "$id" >jobid
save events fo events -f --json $id &
e=$!
save lines fo lines -f --json $id &
l=$!
wait $e $l
save events-after fo events --json $id
$FLUX job eventlog -p output $id >/dev/null
"""
    in_instance(tmp_path, script)
    events, _, rc = result(tmp_path, "events")
    after, _, rc_after = result(tmp_path, "events-after")
    assert rc == rc_after == 0

    def per_eventlog(text: bytes) -> dict[str, list[str]]:
        logs: dict[str, list[str]] = {}
        for line in text.splitlines():
            entry = json.loads(line)
            logs.setdefault(entry["eventlog"], []).append(line.decode())
        return logs

    assert per_eventlog(events) == per_eventlog(after)
    assert [json.loads(x)["name"] for x in events.splitlines() if b'"main"' in x][-1] == "clean"
    lines, _, rc = result(tmp_path, "lines")
    assert rc == 0
    rows = [json.loads(x) for x in lines.splitlines()]
    assert sorted((r["rank"], r["line"]) for r in rows) == sorted(
        (rank, f"line {i} of {rank}") for rank in (0, 1) for i in range(1, 13)
    )


# -- permissions --------------------------------------------------------------------------

# A job signed (mechanism "none") as user 9999: the instance owner may submit
# it by claiming to be that user with the owner role (flux-core
# t/t0005-exec-jobid.t does the same); guests' jobs run under the test
# execution service, which starts no processes, so the script writes the
# job's output eventlog into the guest namespace itself, the way a job
# shell would.
GUEST_JOB = r"""
$FLUX config load <<EOT
exec.testexec.allow-guests = true
EOT
spec=$($FLUX run --dry-run -n4 --setattr=system.exec.test.run_duration=4s true)
J=$($PY -c '
import base64, sys
head = b"version:i1:userid:i9999:mechanism:snone:".replace(b":", b"\0")
body = base64.b64encode(sys.argv[1].encode()).decode()
print(base64.b64encode(head).decode() + "." + body + ".none")
' "$spec")
id=$(printf %s "$J" |
    FLUX_HANDLE_USERID=9999 FLUX_HANDLE_ROLEMASK=0x1 $FLUX job submit --flags=signed)
echo "$id" >jobid
"""

AS_GUEST = "env FLUX_HANDLE_USERID=9999 FLUX_HANDLE_ROLEMASK=0x2"
AS_OTHER = "env FLUX_HANDLE_USERID=9998 FLUX_HANDLE_ROLEMASK=0x2"


def test_guest_reads_own_job_through_job_info(tmp_path: Path) -> None:
    """A user who owns the job but not the instance: the primary namespace
    says EPERM, so the main eventlog comes from job-info and the output from
    the guest namespace (which the job's user owns), then job-info.lookup."""
    hello = FIXTURES / "hello"
    shutil.copy(hello / "output.eventlog", tmp_path / "hello.output")
    script = (
        GUEST_JOB
        + f"""
$FLUX job wait-event $id start
save follow {AS_GUEST} $PY -m fluxout follow $id &
f=$!
dec=$($FLUX job id --to=dec $id)
# Write the hello job's output eventlog into the guest namespace, in pieces.
split -l 5 hello.output piece.
for p in piece.*; do
    $FLUX kvs put --namespace=job-$dec --append --raw output=- <$p
    sleep 0.2
done
wait $f
save cat {AS_GUEST} $PY -m fluxout cat $id
save attach {AS_GUEST} $FLUX job attach $id
save other-cat {AS_OTHER} $PY -m fluxout cat $id
save other-follow {AS_OTHER} $PY -m fluxout follow $id
save owner-cat fo cat $id
"""
    )
    in_instance(tmp_path, script)
    f58 = (tmp_path / "jobid").read_text().strip()
    hello_out = (hello / "attach.stdout").read_bytes()
    hello_data = split_own((hello / "attach.stderr").read_bytes())[0]
    for name in ("follow", "cat", "owner-cat"):
        out, err, rc = result(tmp_path, name)
        assert (out, split_own(err)[0], rc) == (hello_out, hello_data, 0), name
    assert result(tmp_path, "attach")[0] == hello_out
    for name in ("other-cat", "other-follow"):
        assert result(tmp_path, name) == (
            b"",
            f"fluxout: {f58}: that is not your job\n".encode(),
            1,
        )


def test_not_your_job(tmp_path: Path) -> None:
    script = f"""
id=$($FLUX submit -n1 echo hi)
echo "$id" >jobid
$FLUX job wait-event $id clean
save cat {AS_OTHER} $PY -m fluxout cat $id
save follow {AS_OTHER} $PY -m fluxout follow $id
save events {AS_OTHER} $PY -m fluxout events -f $id
save nojob fo cat ƒ2BC
"""
    in_instance(tmp_path, script)
    f58 = (tmp_path / "jobid").read_text().strip()
    for name in ("cat", "follow", "events"):
        assert result(tmp_path, name) == (
            b"",
            f"fluxout: {f58}: that is not your job\n".encode(),
            1,
        )
    assert result(tmp_path, "nojob") == (b"", "fluxout: ƒ2BC: no such job\n".encode(), 1)


# -- the instance going away, or not there ----------------------------------------------------


def test_instance_killed_mid_follow(tmp_path: Path) -> None:
    script = f"""
id=$({SLOW_JOB})
echo "$id" >jobid
save follow fo follow $id &
f=$!
until_true 20 grep -q "line 4 of" follow.out
kill -9 $($FLUX getattr broker.pid)
wait $f
"""
    in_instance(tmp_path, script, 2, 180, "--test-exit-timeout=0.5s")
    f58 = (tmp_path / "jobid").read_text().strip()
    out, err, rc = result(tmp_path, "follow")
    assert rc == 1
    lines = out.splitlines()
    assert b"line 4 of 0" in lines or b"line 4 of 1" in lines  # kept
    assert len(lines) < 24
    assert err.count(b"\n") == 1
    assert err.startswith(f"fluxout: {f58}: lost the connection to the Flux instance".encode())


def test_instance_not_reachable(tmp_path: Path) -> None:
    uri = f"local://{tmp_path}/no-such-socket"
    proc = subprocess.run(
        [sys.executable, "-m", "fluxout", "cat", "--uri", uri, "ƒ2BC"],
        env=fluxout_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == b""
    # The bindings loaded (found through the flux command on PATH): the
    # error is about the instance.
    assert proc.stderr.startswith(f"fluxout: ƒ2BC: cannot connect to Flux at {uri}: ".encode())
    assert proc.stderr.count(b"\n") == 1


def test_bindings_come_from_the_flux_on_path(tmp_path: Path) -> None:
    env = fluxout_env()
    plain = subprocess.run(
        [sys.executable, "-c", "import flux"], env=env, capture_output=True, check=False
    )
    if plain.returncode == 0:
        pytest.skip("flux is importable directly here: no fallback needed")
    # Without flux on PATH: one line saying what is missing.
    env_no_flux = dict(env, PATH=str(Path(sys.executable).parent))
    proc = subprocess.run(
        [sys.executable, "-m", "fluxout", "cat", "ƒ2BC"],
        env=env_no_flux,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        b"fluxout: \xc6\x922BC: cannot read a job by id: the Flux Python bindings do not load ("
    )
    assert proc.stderr.count(b"\n") == 2
    # With it: a live job reads fine (test_fixture_case_live_is_attach runs
    # the same way); here, the bindings' own path is what fluxout used.
    probe = "import fluxout.sources.flux as f; m = f.import_flux('x'); print(m.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    prefix = Path(os.path.realpath(str(FLUX))).parent.parent
    assert Path(proc.stdout.decode().strip()).resolve().is_relative_to(prefix.resolve())


# -- attach's options: -E, -X, -w, -v, -q, the status line --------------------------

# Both tasks write to stdout and stderr and exit 3; -o verbose=1 gives shell
# log lines with a file and line.
VERBOSE_JOB = (
    "$FLUX submit -n2 -o verbose=1 sh -c "
    '\'echo "out $FLUX_TASK_RANK"; echo "err $FLUX_TASK_RANK" >&2; exit 3\''
)

# A job shell that fails before it can write the job's output: what it
# writes becomes exec eventlog log events, and there is no guest.output.
FAKE_SHELL = r"""
cat >fakeshell <<'EOF'
#!/bin/sh
echo "fake shell: cannot start" >&2
echo "out line"
printf 'no newline' >&2
exit 1
EOF
chmod +x fakeshell
"""

ATTACH_OPTIONS = {
    "verbose": ["-E", "-X", "-E -X", "-w start", "-w finish", "-w priority", "-v", "-q"],
    "execlog": ["", "-q", "-X", "-E"],
    "redirect": ["-q", "-v"],
}


def test_attach_options_live_are_attach(tmp_path: Path) -> None:
    """follow (and cat --wait) with -E, -X, -w, -v, -q, next to flux job
    attach with the same options on the same jobs: while the job runs
    (-E -X) and after it ended."""
    from tests.test_attach_options import assert_kinds_are_attach

    runs = []
    for job, options in ATTACH_OPTIONS.items():
        for i, opts in enumerate(options):
            # The redirect job's file is readable here: attach only names it.
            mine = f"{opts} --no-redirected" if job == "redirect" else opts
            runs.append(
                f"save fo-{job}-{i} fo follow {mine} ${job}\n"
                f"save attach-{job}-{i} $FLUX job attach {opts} ${job}\n"
            )
    script = (
        FAKE_SHELL
        + f"""
verbose=$({VERBOSE_JOB.replace("submit", "submit --urgency=hold")})
save fo-live fo follow -E -X $verbose &
f=$!
save attach-live $FLUX job attach -E -X $verbose &
a=$!
$FLUX job wait-event $verbose priority >/dev/null
sleep 1
$FLUX job urgency $verbose default
wait $f $a
execlog=$($FLUX submit --setattr=system.exec.job_shell=$PWD/fakeshell -n1 true)
redirect=$($FLUX submit -n2 --output=out.txt sh -c 'echo "out $FLUX_TASK_RANK"')
$FLUX job wait-event $execlog clean >/dev/null
$FLUX job wait-event $redirect clean >/dev/null
echo "$verbose $execlog $redirect" >jobids
"""
        + "".join(runs)
        + """
save fo-cat-wait fo cat --wait -E -X -q $verbose
save attach-cat-wait $FLUX job attach -E -X -q $verbose
"""
    )
    in_instance(tmp_path, script)
    ids = dict(zip(ATTACH_OPTIONS, (tmp_path / "jobids").read_text().split(), strict=True))
    names = [x.encode() for x in ids.values()]
    checked = []
    for job, options in ATTACH_OPTIONS.items():
        for i, opts in enumerate(options):
            mine, theirs = result(tmp_path, f"fo-{job}-{i}"), result(tmp_path, f"attach-{job}-{i}")
            assert_kinds_are_attach(mine, theirs, names)
            checked.append((job, opts, theirs[2]))
    for name in ("live", "cat-wait"):
        assert_kinds_are_attach(
            result(tmp_path, f"fo-{name}"), result(tmp_path, f"attach-{name}"), names
        )
    # The statuses attach gave, so that the comparisons above meant something.
    assert ("verbose", "-w start", 1) in checked and ("verbose", "-w finish", 3) in checked
    assert ("execlog", "-q", 1) in checked
    err = result(tmp_path, "fo-execlog-1")[1]  # -q: the shell's words without attach's heads
    assert err.startswith(b"fake shell: cannot start\nout line\nno newlinefluxout: ")


def test_exception_while_pending_live(tmp_path: Path) -> None:
    """A non-fatal exception of a held job is printed while the job is still
    pending, as attach prints it: '2.093s: job.exception ƒ... type=test
    severity=2 test' (fluxout printed only fatal ones)."""
    script = f"""
id=$({VERBOSE_JOB.replace("submit", "submit --urgency=hold")})
echo "$id" >jobid
save follow fo follow $id &
f=$!
save attach $FLUX job attach $id &
a=$!
$FLUX job wait-event $id priority >/dev/null
sleep 0.5
$FLUX job raise --severity=2 --type=test $id test
until_true 30 grep -q job.exception follow.err
$FLUX jobs -no {{state}} $id >state-at-exception
$FLUX job urgency $id default
wait $f $a
"""
    in_instance(tmp_path, script)
    assert (tmp_path / "state-at-exception").read_text().strip() in ("PRIORITY", "SCHED")
    jobid = (tmp_path / "jobid").read_text().strip().encode()
    mine, theirs = result(tmp_path, "follow"), result(tmp_path, "attach")
    assert_same_as_attach(mine, theirs, jobid)
    line = next(x for x in theirs[1].splitlines() if b"job.exception" in x)
    assert line.endswith(b" job.exception " + jobid + b" type=test severity=2 test")
    assert line in mine[1].splitlines()


# Runs a command on a pseudo-terminal of 100 columns (stdin, stdout and
# stderr), and saves all it wrote there in OUT.
PTY_RUN = r"""
import fcntl, os, pty, struct, subprocess, sys, termios
out, cmd = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
attrs = termios.tcgetattr(slave)
attrs[1] &= ~termios.OPOST
termios.tcsetattr(slave, termios.TCSANOW, attrs)
proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
chunks = []
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    chunks.append(chunk)
open(out, "wb").write(b"".join(chunks))
sys.exit(proc.wait())
"""


# How a job is kept pending, and let go: held, or its queue stopped.
PENDING = {
    "held": ("--urgency=hold", "true", "$FLUX job urgency $id default", b""),
    "stopped-queue": ("", "$FLUX queue stop", "$FLUX queue start", b" (default queue stopped)"),
}


@pytest.mark.parametrize("pending", PENDING)
def test_pending_status_line_live_is_attachs(pending: str, tmp_path: Path) -> None:
    """On a terminal, a pending job's status line comes after 2 s, says what
    attach's says (that the queue is stopped, too), with its clock at the
    same right edge; fluxout's is gone once the job starts (attach leaves
    its last one on the screen)."""
    import re

    submit, before, release, why = PENDING[pending]
    (tmp_path / "pty_run.py").write_text(PTY_RUN)
    script = f"""
{before}
id=$({VERBOSE_JOB.replace("submit", f"submit {submit}")})
echo "$id" >jobid
NO_COLOR=1 $PY pty_run.py fo.tty $PY -m fluxout follow $id &
f=$!
$PY pty_run.py attach.tty $FLUX job attach $id &
a=$!
sleep 4.5
{release}
wait $f $a
"""
    in_instance(tmp_path, script)
    jobid = (tmp_path / "jobid").read_text().strip()
    status = rf"(flux-job|fluxout): {re.escape(jobid)} (\S.*?) +(\d\d:\d\d:\d\d)"
    pattern = re.compile(status.encode())
    mine = (tmp_path / "fo.tty").read_bytes()
    theirs = (tmp_path / "attach.tty").read_bytes()
    ours = [m for m in pattern.finditer(mine)]
    attachs = [m for m in pattern.finditer(theirs) if m.group(2) != b"started"]
    assert ours and attachs, (mine, theirs)
    said = {m.group(2) for m in ours}
    # attach asks about the queue asynchronously: its first line may come
    # before the answer does; fluxout's line says it from the start.
    late = {b"waiting for resources"} if why else set()
    assert said == {m.group(2) for m in attachs} - late
    waiting = b"waiting for resources" + why
    assert waiting in said and said <= {waiting, b"starting"}
    # After 2 s, then once a second, as attach.
    assert min(m.group(3) for m in ours) >= b"00:00:02"
    assert min(m.group(3) for m in attachs) >= b"00:00:02"
    assert len({m.group(3) for m in ours}) >= 2
    # The same width: the clock at the right edge, as attach puts it.
    widths = {len(m.group(0).decode()) for m in ours}
    assert widths == {len(m.group(0).decode()) for m in attachs} == {99}
    # Erased at the start: the job's output is on a clean line.
    last = ours[-1].end()
    assert mine.index(b"\r\x1b[K", last) < mine.index(b"out ")
