"""Shared test helpers: the captured Flux fixtures, materialized on demand.

tests/data/fixtures/ is a copy of real eventlogs captured from Flux 0.88.0
(see its README.md). Files over 256 KiB are stored xz-compressed; ``case_dir``
gives a directory where every file is back in its original form.
"""

from __future__ import annotations

import io
import lzma
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: the suite runs on every core of a machine others
# share, where one example's time says nothing (the property is the test).
settings.register_profile("fluxout", deadline=None)
settings.load_profile("fluxout")

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "case.json").is_file())

_materialized: dict[str, Path] = {}

# run(*args, stdin=b"") -> (stdout bytes, stderr bytes, exit status)
Run = Callable[..., tuple[bytes, bytes, int]]


def materialize(case: str, root: Path) -> Path:
    """Copy a fixture case under root, decompressing its .xz files."""
    if case in _materialized:
        return _materialized[case]
    src = FIXTURES / case
    dest = root / case
    for path in src.rglob("*"):
        target = dest / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".xz":
            with lzma.open(path) as f, open(target.with_suffix(""), "wb") as out:
                shutil.copyfileobj(f, out)
        else:
            shutil.copyfile(path, target)
    _materialized[case] = dest
    return dest


@pytest.fixture(scope="session")
def fixtures_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixtures")


@pytest.fixture
def case_dir(fixtures_root: Path):  # type: ignore[no-untyped-def]
    """A function: case name -> materialized directory."""

    def get(case: str) -> Path:
        return materialize(case, fixtures_root)

    return get


# pytest-xdist's workers run with COLUMNS=80 and LINES=24 in their
# environment: fluxout (and attach) would take them over the size of the
# terminals the tests make.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

# The console script lives beside the interpreter in a virtualenv: make it
# findable even when pytest is run as .venv/bin/pytest without activation.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def run_in_process(
    *args: str | Path,
    stdin: bytes | None = None,
    tty: tuple[bool, bool] = (False, False),
    env: Mapping[str, str] | None = None,
) -> tuple[bytes, bytes, int]:
    """fluxout.cli.main(argv) in this process, on an injected terminal: its
    streams bytes in memory (what a pipe would see, unless ``tty`` says
    stdout or stderr is a terminal), its environment ``env`` (os.environ by
    default), without the cost of a new interpreter per run."""
    from fluxout.cli import main
    from fluxout.render.terminal import Terminal

    out, err = io.BytesIO(), io.BytesIO()
    terminal = Terminal(
        out, err, *tty, False, os.environ if env is None else env, io.BytesIO(stdin or b"")
    )
    try:
        main([str(a) for a in args], terminal)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    return out.getvalue(), err.getvalue(), status


# FLUXOUT_TEST_SUBPROCESS=1 runs each `run` as the installed console script
# instead (pipes, signals, terminals and packaging have tests of their own
# that always run real processes).
IN_PROCESS = not os.environ.get("FLUXOUT_TEST_SUBPROCESS")


@pytest.fixture
def run(script_runner) -> Run:  # type: ignore[no-untyped-def]
    def go(*args: str | Path, stdin: bytes | None = None) -> tuple[bytes, bytes, int]:
        if IN_PROCESS:
            stdout, stderr, status = run_in_process(*args, stdin=stdin)
            assert b"Traceback" not in stderr, stderr.decode(errors="replace")
            return stdout, stderr, status
        result = script_runner.run(
            ["fluxout", *map(str, args)],
            universal_newlines=False,
            print_result=False,
            stdin=io.BytesIO(stdin if stdin is not None else b""),
        )
        assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
        return result.stdout, result.stderr, result.returncode

    return go
