"""The sdist and the wheel: ``python -m build``, then install the wheel and run it.

Slow-ish (about 15 s: build sets up its isolated environments), but part of
the default run. The project is copied first, so the build leaves nothing in
the work tree. The wheel goes into a fresh venv with --no-deps --no-index;
its dependencies come from the running interpreter's site-packages through a
.pth file, so the test needs no network beyond what build itself needs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "man").glob("*.1"))
DATA_FILES = [
    *(f"share/man/man1/{page}" for page in PAGES),
    "share/bash-completion/completions/fluxout.bash",
    "share/zsh/site-functions/_fluxout",
    "share/fish/vendor_completions.d/fluxout.fish",
]
# Without git (an unpacked sdist), a copy of everything but these.
IGNORE = shutil.ignore_patterns(
    "bench",
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
)

try:
    import build  # noqa: F401

    HAVE_BUILD = True
except ImportError:
    HAVE_BUILD = False

pytestmark = pytest.mark.skipif(
    not HAVE_BUILD, reason="build is not installed (pip install '.[test]')"
)


def _copy_project(dest: Path) -> None:
    """The project's files, as git sees them (tracked, or new and not ignored)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, dest, ignore=IGNORE)
        return
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        path = ROOT / name
        if path.is_file():  # not a file deleted but not yet committed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / name)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel of a copy of the project (the wheel built from the sdist)."""
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    _copy_project(src)
    out = base / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        log = result.stdout + result.stderr
        if "No matching distribution found" in log or "Could not find a version" in log:
            pytest.skip("build could not fetch setuptools for its isolated env")
        pytest.fail(f"python -m build failed:\n{log[-4000:]}")
    return out


def _one(directory: Path, pattern: str) -> Path:
    found = list(directory.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_wheel_holds_man_pages_and_completions(dist: Path) -> None:
    wheel = _one(dist, "fluxout-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = sorted(n.split(".data/data/", 1)[1] for n in names if ".data/data/" in n)
    assert data == sorted(DATA_FILES)
    assert any(n.endswith("fluxout/cli.py") for n in names)
    # The man page generator is a development tool: not installed.
    assert not any(n.startswith("tools/") or n.endswith("manpage.py") for n in names)
    assert not any(n.startswith(("tests/", "examples/")) for n in names)


def test_sdist_holds_sources_pages_completions_examples_and_tests(dist: Path) -> None:
    sdist = _one(dist, "fluxout-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = {
        "pyproject.toml",
        "README.md",
        "fluxout/cli.py",
        "completions/fluxout.bash",
        "completions/_fluxout",
        "completions/fluxout.fish",
        "examples/hello/output.eventlog",
        "tests/conftest.py",
        "tests/test_man.py",
        "tools/manpage.py",  # tests/test_man.py regenerates the pages with it
        *(f"man/{page}" for page in PAGES),
    }
    assert expected <= names
    assert any(n.startswith("tests/data/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_installed_wheel_runs(dist: Path, tmp_path: Path) -> None:
    wheel = _one(dist, "fluxout-*.whl")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    # click, rich and orjson from the interpreter running the tests. A .pth
    # line only adds the directory: its own .pth files (an editable install
    # of this project) are not read, so fluxout comes from the wheel.
    purelib = sysconfig.get_paths()["purelib"]
    platlib = sysconfig.get_paths()["platlib"]
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "_fluxout_test_deps.pth").write_text(f"{purelib}\n{platlib}\n")

    for data in DATA_FILES:
        assert (venv / data).is_file(), data

    fluxout = venv / "bin" / "fluxout"
    where = subprocess.run(
        [str(python), "-c", "import fluxout; print(fluxout.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)

    version = subprocess.run(
        [str(fluxout), "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert (version.returncode, version.stderr) == (0, "")
    assert version.stdout.startswith("fluxout, version ")

    cat = subprocess.run(
        [str(fluxout), "cat", str(ROOT / "examples" / "hello")],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert cat.returncode == 0, cat.stderr
    lines = cat.stdout.decode().splitlines()
    assert len(lines) == 12
    assert "hello from rank 0: stdout line 1" in lines
    assert cat.stderr.decode().count("this line went to stderr") == 4

    if shutil.which("man"):
        # man-db finds pages beside the venv's bin/ on PATH, as for any prefix.
        found = subprocess.run(
            ["man", "-w", "fluxout-cat"],
            capture_output=True,
            text=True,
            env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin"},
        )
        if found.returncode == 0:
            assert found.stdout.strip() == str(venv / "share/man/man1/fluxout-cat.1")
