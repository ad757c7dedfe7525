"""The man pages in man/: generated from the Click commands, and clean roff.

A page that drifts from the code fails here; the fix is always
``python tools/manpage.py man/`` (which also regenerates completions/).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from fluxout.cli import cli
from tools import manpage

ROOT = Path(__file__).resolve().parent.parent
MAN = ROOT / "man"
EXAMPLES = ROOT / "examples"
REGENERATE = "run `python tools/manpage.py man/` and commit the result"

ROOT_CTX = click.Context(cli, info_name="fluxout", **cli.context_settings)
COMMANDS = {name: cmd for name, cmd in cli.commands.items() if not cmd.hidden}
PAGES = ["fluxout.1", *(f"fluxout-{name}.1" for name in COMMANDS)]
SECTIONS = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "EXIT STATUS",
    "ENVIRONMENT",
    "EXAMPLES",
    "SEE ALSO",
]


def _ctx(name: str) -> click.Context:
    if not name:
        return ROOT_CTX
    cmd = COMMANDS[name]
    return click.Context(cmd, parent=ROOT_CTX, info_name=name, **cmd.context_settings)


def _options(name: str) -> list[click.Option]:
    ctx = _ctx(name)
    return [p for p in ctx.command.get_params(ctx) if isinstance(p, click.Option) and not p.hidden]


def _page(name: str) -> str:
    return (MAN / (f"fluxout-{name}.1" if name else "fluxout.1")).read_text("utf-8")


# -- the checked-in pages are what the code generates ---------------------------


def test_checked_in_pages_are_up_to_date(tmp_path: Path) -> None:
    manpage.write(tmp_path, None)
    generated = sorted(p.name for p in tmp_path.iterdir())
    assert generated == sorted(PAGES)
    assert sorted(p.name for p in MAN.glob("*.1")) == generated, REGENERATE
    for name in generated:
        new = (tmp_path / name).read_text("utf-8")
        old = (MAN / name).read_text("utf-8")
        diff = "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                f"man/{name} (checked in)",
                f"man/{name} (generated)",
                n=1,
            )
        )
        assert old == new, f"man/{name} is out of date: {REGENERATE}\n{diff}"


def test_the_regenerate_command(tmp_path: Path) -> None:
    """The one documented command writes pages and completions; --check."""
    mandir = tmp_path / "man"
    mandir.mkdir()
    (mandir / "fluxout-gone.1").write_text("a page of a command removed\n")
    (mandir / "other.1").write_text("not ours\n")
    cmd = [sys.executable, str(ROOT / "tools" / "manpage.py")]
    subprocess.run([*cmd, "man/"], cwd=tmp_path, check=True, capture_output=True)
    assert sorted(p.name for p in mandir.iterdir()) == sorted([*PAGES, "other.1"])
    completions = sorted(p.name for p in (tmp_path / "completions").iterdir())
    assert completions == ["_fluxout", "fluxout.bash", "fluxout.fish"]

    check = subprocess.run([*cmd, "--check", "man/"], cwd=tmp_path, capture_output=True, text=True)
    assert (check.returncode, check.stdout) == (0, "")
    (mandir / "fluxout-cat.1").write_text("stale\n")
    check = subprocess.run([*cmd, "--check", "man/"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 1
    assert "fluxout-cat.1" in check.stdout
    assert (mandir / "fluxout-cat.1").read_text() == "stale\n"  # --check writes nothing


@pytest.mark.parametrize("name", PAGES)
def test_each_page_says_how_to_regenerate_it(name: str) -> None:
    head = (MAN / name).read_text("utf-8").splitlines()[:6]
    assert all(line.startswith('.\\"') for line in head[:4])
    assert any("python tools/manpage.py man/" in line for line in head)
    assert manpage.__doc__ is not None
    assert "python tools/manpage.py man/" in manpage.__doc__


# -- what the pages say ----------------------------------------------------------


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_option_is_documented(name: str) -> None:
    page = _page(name)
    options = page.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    for option in _options(name):
        for spelling in [*option.opts, *option.secondary_opts]:
            assert f"\\fB{manpage.esc(spelling)}\\fR" in options, spelling
        if option.help:
            first_words = " ".join(option.help.split()[:3])
            assert manpage.esc(first_words) in options, option.name


@pytest.mark.parametrize("name", [*COMMANDS])
def test_every_option_has_its_environment_variable(name: str) -> None:
    env = _page(name).split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
    prefix = _ctx(name).auto_envvar_prefix
    for option in _options(name):
        if option.expose_value and option.allow_from_autoenv and option.name:
            assert f"{prefix}_{option.name.upper()}" in env, option.name


@pytest.mark.parametrize("name", PAGES)
def test_sections_in_flux_core_order(name: str) -> None:
    text = (MAN / name).read_text("utf-8")
    found = re.findall(r"^\.SH (.+)$", text, flags=re.MULTILINE)
    assert [s for s in found if s in SECTIONS] == SECTIONS
    title = name.removesuffix(".1").upper().replace("-", "\\-")
    assert text.count(".TH ") == 1
    assert f'.TH "{title}" "1" ' in text
    for variable in ("FLUX_URI", "NO_COLOR", "FORCE_COLOR"):
        assert f"\\fB{variable}\\fR" in text
    see_also = text.split(".SH SEE ALSO", 1)[1]
    assert "\\fB\\%flux\\-job\\fR(1)" in see_also
    assert "\\fB\\%flux\\-jobs\\fR(1)" in see_also


def test_fluxout_page_lists_every_command() -> None:
    text = _page("")
    for name in COMMANDS:
        assert f".SY fluxout\\ {name}" in text
        assert f"\\fB\\%fluxout\\-{name}\\fR(1)" in text


def test_every_command_has_its_own_prose() -> None:
    """A new command needs DESCRIPTION and EXAMPLES in tools/manpage.py."""
    assert set(manpage.PAGES) == {"", *COMMANDS}
    for name, page in manpage.PAGES.items():
        assert page.description and page.examples, name
    longs = {o.long for c in manpage.program()[1] for o in c.options}
    assert set(manpage.OPTION_NOTES) <= longs  # notes of removed options go too


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_examples_use_real_options(name: str) -> None:
    """Every option in an example exists: examples drift with the code."""
    known = {
        sub: {s for o in _options(sub) for s in [*o.opts, *o.secondary_opts]} for sub in COMMANDS
    }
    for example in manpage.PAGES[name].examples:
        for line in example.commands:
            plain = re.sub(r"\$\([^)]*\)", "JOB", line)  # $(flux job last)
            words = plain.split("|")[0].split()
            if words[:1] != ["fluxout"]:
                continue
            sub = words[1]
            assert sub in known, line
            for word in words[2:]:
                if word.startswith("-") and word != "-":
                    assert word.split("=")[0] in known[sub], (word, line)


def test_documented_environment_variables_work() -> None:
    """FLUXOUT_CAT_STREAM and FLUXOUT_CAT_LABEL, as the ENVIRONMENT section says."""
    env = {**os.environ, "FLUXOUT_CAT_STREAM": "stderr", "FLUXOUT_CAT_LABEL": "1"}
    env.pop("NO_COLOR", None)
    out = subprocess.run(
        [sys.executable, "-m", "fluxout", "cat", str(EXAMPLES / "hello")],
        env=env,
        capture_output=True,
        check=True,
    )
    assert out.stdout == b""
    assert out.stderr.startswith(b"1: rank 1: this line went to stderr\n")
    assert "FLUXOUT_CAT_STREAM" in _page("cat")
    assert "FLUXOUT_CAT_LABEL" in _page("cat")


# -- roff ----------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_roff_is_escaped(name: str) -> None:
    text = (MAN / name).read_text("utf-8")
    assert text.isascii(), "non-ASCII must be written as \\[uXXXX]"
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}: {line}"
        assert line.strip(), f"blank line {where}"
        assert line == line.rstrip(), f"trailing space {where}"
        if line.startswith('.\\"'):
            continue
        assert not line.startswith("'"), where
        if line.startswith("."):
            assert re.match(r"\.(TH|SH|SS|TP|PP|IP|RS|RE|EX|EE|SY|OP|YS|br|ad)\b", line)
        # Every hyphen is a minus sign (\-), so options copy and search well.
        assert not re.search(r"(?<!\\)-", line), f"unescaped hyphen {where}"
        # Every backslash starts a known escape.
        for escape in re.findall(r"\\(.)", line):
            assert escape in '-efI&%[(" ', f"escape \\{escape} in {where}"


def test_escaping_helpers() -> None:
    assert manpage.esc("a-b\\c ƒ") == "a\\-b\\ec \\[u0192]"
    assert manpage.markup(".start") == "\\&.start"
    assert manpage.markup("'quote") == "\\&'quote"
    assert manpage.markup("`--x` and *JOB*, see flux-job(1)") == (
        "\\fB\\%\\-\\-x\\fR and \\fIJOB\\fR, see \\fB\\%flux\\-job\\fR(1)"
    )


def _groff(page: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
    )


needs_groff = pytest.mark.skipif(
    shutil.which("groff") is None,
    reason="groff is not installed (.ci/run installs groff-base)",
)


@needs_groff
def test_groff_reports_warnings(tmp_path: Path) -> None:
    """The check below would see a bad page: warnings are really on."""
    bad = tmp_path / "bad.1"
    bad.write_text(".TH BAD 1\n.SH NAME\nbad \\- page\n.NOSUCHMACRO\n\\fBx\n")
    assert "warning" in _groff(bad).stderr


@needs_groff
@pytest.mark.parametrize("name", PAGES)
def test_groff_renders_without_warnings(name: str) -> None:
    result = _groff(MAN / name)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.skipif(
    shutil.which("man") is None, reason="man is not installed (.ci/run installs man-db)"
)
@pytest.mark.parametrize("name", PAGES)
def test_man_renders_the_page(name: str) -> None:
    env = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")
    result = subprocess.run(
        ["man", "--warnings", "-l", str(MAN / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    text = re.sub(r".\x08", "", result.stdout)  # overstrike bold, if any
    assert "SYNOPSIS" in text
    assert "SEE ALSO" in text
    if name != "fluxout.1":
        assert "--stream" in text
    assert "ƒ2BC" in text  # \[u0192] comes out as the F58 prefix


@pytest.mark.skipif(shutil.which("lexgrog") is None, reason="lexgrog (man-db) is not installed")
@pytest.mark.parametrize("name", PAGES)
def test_whatis_reads_the_name_line(name: str) -> None:
    result = subprocess.run(
        ["lexgrog", str(MAN / name)], capture_output=True, text=True, timeout=60
    )
    page = name.removesuffix(".1")
    assert result.returncode == 0, result.stderr
    assert f': "{page} - ' in result.stdout
