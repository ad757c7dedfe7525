"""Pipes and signals: a closed pipe, a full disk, Ctrl-C and SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

FLUXOUT = shutil.which("fluxout") or "fluxout"


def header(ntasks: int = 1) -> bytes:
    ctx = {
        "version": 1,
        "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
        "count": {"stdout": ntasks, "stderr": ntasks},
        "options": {},
    }
    return orjson.dumps({"timestamp": 1.0, "name": "header", "context": ctx}) + b"\n"


def data(i: int, text: str, stream: str = "stdout") -> bytes:
    ctx = {"stream": stream, "rank": "0", "data": text}
    return orjson.dumps({"timestamp": 2.0 + i, "name": "data", "context": ctx}) + b"\n"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "output.eventlog"
    with path.open("wb") as f:
        f.write(header())
        f.writelines(data(i, f"line {i}\n") for i in range(200_000))
    return path


def test_closed_pipe_ends_quietly(big: Path) -> None:
    # A real `fluxout cat BIG | head -1`.
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; '{FLUXOUT}' cat '{big}' | head -1"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout == b"line 0\n"
    assert proc.stderr == b""
    assert proc.returncode == 128 + signal.SIGPIPE


@pytest.mark.parametrize("args", [["cat"], ["cat", "-l"], ["lines", "--json"], ["events"]])
def test_closed_pipe_ends_every_command_quietly(big: Path, args: list[str]) -> None:
    cmd = " ".join(args)
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"'{FLUXOUT}' {cmd} '{big}' | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.stderr == b""
    assert proc.stdout == b"141\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_full_disk_is_one_error_line(big: Path) -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [FLUXOUT, "cat", str(big)], stdout=full, stderr=subprocess.PIPE, timeout=60, check=False
        )
    assert proc.returncode == 1
    assert proc.stderr == b"fluxout: cannot write to stdout: No space left on device\n"


def _start_follow(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """follow an output eventlog whose job never ends, once it has printed."""
    log = tmp_path / "output.eventlog"
    log.write_bytes(header() + data(0, "first\n") + data(1, "partial line"))
    proc = subprocess.Popen(
        [FLUXOUT, "follow", "-l", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"0: first\n"
    return proc, log


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_follow_interrupted(tmp_path: Path, signum: int, status: int) -> None:
    proc, log = _start_follow(tmp_path)
    with log.open("ab") as f:
        f.write(data(2, " ends here\nsecond\n"))
    time.sleep(0.5)  # follow polls the file every 0.1 s
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == status
    assert b"Traceback" not in err
    # Everything received before the signal was written out.
    assert out == b"0: partial line ends here\n0: second\n"


def test_follow_of_a_growing_file(tmp_path: Path) -> None:
    proc, log = _start_follow(tmp_path)
    with log.open("ab") as f:
        f.write(data(2, "\n"))
        eofs = [
            orjson.dumps(
                {
                    "timestamp": 9.0,
                    "name": "data",
                    "context": {"stream": s, "rank": "0", "eof": True},
                }
            )
            + b"\n"
            for s in ("stdout", "stderr")
        ]
        f.writelines(eofs)
    out, err = proc.communicate(timeout=30)
    # An output eventlog alone cannot tell the job's exit status: it says so.
    unknown = (
        b"fluxout: output.eventlog: warning: no main or exec eventlog: "
        b"the job's exit status is unknown (exiting 0)\n"
    )
    assert (out, err, proc.returncode) == (b"0: partial line\n", unknown, 0)


def test_module_entry_point(big: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fluxout", "--version"], capture_output=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith(b"fluxout, version ")
