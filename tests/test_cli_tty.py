"""fluxout in a real pseudo-terminal: colour on by default, off on request."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ANSI = re.compile(rb"\x1b\[[0-9;]*m")


def run_in_pty(args: list[str], env: dict[str, str] | None = None) -> tuple[bytes, int]:
    """Run fluxout with stdin, stdout and stderr on one pseudo-terminal."""
    master, slave = pty.openpty()
    # Raw output: no \n -> \r\n translation, so bytes compare as written.
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env["TERM"] = "xterm-256color"
    full_env.update(env or {})
    exe = shutil.which("fluxout")
    cmd = [exe] if exe else [sys.executable, "-m", "fluxout"]
    proc = subprocess.Popen(
        [*cmd, *args], stdin=slave, stdout=slave, stderr=slave, env=full_env, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks), proc.wait(timeout=30)


@pytest.fixture
def hello(case_dir) -> Path:
    return case_dir("hello")


def test_labels_are_coloured_on_a_terminal(hello: Path) -> None:
    out, rc = run_in_pty(["cat", "-l", str(hello)])
    assert rc == 0
    assert ANSI.search(out), out[:200]
    # The job's bytes are untouched: strip fluxout's colour, get attach -l.
    plain = ANSI.sub(b"", out)
    want = (hello / "attach-label.stdout").read_bytes()
    assert sorted(plain.splitlines()) == sorted(
        want.splitlines() + (hello / "attach-label.stderr").read_bytes().splitlines()
    )
    # Neighbouring ranks get different colours.
    colours = {}
    for m in re.finditer(rb"(\x1b\[[0-9;]*m)(\d+): ", out):
        colours.setdefault(int(m.group(2)), set()).add(m.group(1))
    assert colours[0] != colours[1]
    assert colours[1] != colours[2]


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--color", "never"], {}),
        ([], {"NO_COLOR": "1"}),
        (["--color=never"], {"FORCE_COLOR": "1"}),
    ],
)
def test_colour_off(hello: Path, args: list[str], env: dict[str, str]) -> None:
    out, rc = run_in_pty(["cat", "-l", *args, str(hello)], env)
    assert rc == 0
    assert not ANSI.search(out)
    assert b"0: hello from rank 0: stdout line 1\n" in out


def test_unlabelled_output_has_no_colour_on_a_terminal(hello: Path) -> None:
    out, rc = run_in_pty(["cat", str(hello)])
    assert rc == 0
    assert not ANSI.search(out)
    assert b"hello from rank 3: stdout line 3\n" in out


def test_markup_in_job_data_is_not_interpreted(case_dir) -> None:
    d = case_dir("utf8-and-escapes")
    out, rc = run_in_pty(
        ["cat", "-l", "--color", "always", "-t", "0", "--stream", "stdout", str(d)]
    )
    assert rc == 0
    expected = (d / "expected" / "stdout.0").read_bytes()
    # Drop fluxout's label (coloured) from each line; what is left is exact.
    label = re.compile(rb"^\x1b\[[0-9;]*m0: \x1b\[0m", re.M)
    assert label.sub(b"", out) == expected + (b"" if expected.endswith(b"\n") else b"\n")


def test_force_color_in_a_pipe(hello: Path) -> None:
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    exe = shutil.which("fluxout") or "fluxout"
    proc = subprocess.run([exe, "cat", "-l", str(hello)], capture_output=True, env=env, check=False)
    assert ANSI.search(proc.stdout)
    plain = subprocess.run(
        [exe, "cat", "-l", str(hello)],
        capture_output=True,
        env={k: v for k, v in env.items() if k != "FORCE_COLOR"},
        check=False,
    )
    assert not ANSI.search(plain.stdout)
    assert plain.stdout == (hello / "attach-label.stdout").read_bytes()
