"""Shell completions in completions/: generated from Click, and working shells.

Each file is loaded and driven in the real shell: bash through its
completion function, zsh through its completion system in a pseudo-terminal
(zsh/zpty), fish through ``complete -C``. A shell that is not installed is
skipped, with the reason (.ci/run installs bash, zsh and fish).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import click
import pytest

from fluxout.cli import cli
from tools import manpage

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
BASH = COMPLETIONS / "fluxout.bash"
ZSH = COMPLETIONS / "_fluxout"
FISH = COMPLETIONS / "fluxout.fish"
REGENERATE = "run `python tools/manpage.py man/` and commit the result"

ROOT_CTX = click.Context(cli, info_name="fluxout", **cli.context_settings)
COMMANDS = {name: cmd for name, cmd in cli.commands.items() if not cmd.hidden}
JOBIDS = ["f2BCq7Vp3", "f3mZ8Kq1"]


def _options(name: str) -> list[click.Option]:
    cmd = COMMANDS[name] if name else cli
    ctx = (
        click.Context(cmd, parent=ROOT_CTX, info_name=name, **cmd.context_settings)
        if name
        else ROOT_CTX
    )
    return [p for p in cmd.get_params(ctx) if isinstance(p, click.Option) and not p.hidden]


def _choices() -> list[tuple[str, str, list[str]]]:
    """(command, option, values) for every Choice option."""
    return [
        (name, opt, [str(c) for c in o.type.choices])
        for name in COMMANDS
        for o in _options(name)
        if isinstance(o.type, click.Choice)
        for opt in o.opts
    ]


def _needs(shell: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        shutil.which(shell) is None,
        reason=f"{shell} is not installed (.ci/run installs it)",
    )


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """An environment with a fake flux whose `flux jobs` lists JOBIDS."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "flux.log"
    flux = bindir / "flux"
    flux.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >>"{log}"\n'
        '[ "$*" = "jobs -no {id.f58plain}" ] || exit 1\n' + "".join(f"echo {j}\n" for j in JOBIDS)
    )
    flux.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "FLUXOUT_FLUX_LOG": str(log),
    }


# -- the checked-in files are what the code generates ----------------------------


def test_checked_in_completions_are_up_to_date(tmp_path: Path) -> None:
    manpage.write(tmp_path / "man", tmp_path / "completions")
    generated = sorted(p.name for p in (tmp_path / "completions").iterdir())
    assert sorted(p.name for p in COMPLETIONS.iterdir()) == generated, REGENERATE
    for name in generated:
        new = (tmp_path / "completions" / name).read_text("utf-8")
        assert (COMPLETIONS / name).read_text("utf-8") == new, (
            f"completions/{name} is out of date: {REGENERATE}"
        )


@pytest.mark.parametrize("path", [BASH, ZSH, FISH], ids=lambda p: p.name)
def test_every_command_and_option_is_in_each_file(path: Path) -> None:
    text = path.read_text("utf-8")
    assert "python tools/manpage.py man/" in text
    for name in ["", *COMMANDS]:
        if name:
            assert name in text
        for option in _options(name):
            for spelling in [*option.opts, *option.secondary_opts]:
                if path is FISH:
                    flag = "-l" if spelling.startswith("--") else "-s"
                    assert f"{flag} {spelling.lstrip('-')}" in text, spelling
                else:
                    assert spelling in text, spelling
    for _, _, values in _choices():
        assert " ".join(values) in text


# -- bash ----------------------------------------------------------------------


def _bash(words: list[str], env: dict[str, str], cwd: Path = ROOT) -> list[str]:
    """COMPREPLY of the fluxout completion for words (the last is the cursor's)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    script = (
        f"source '{BASH}' || exit 3\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}\n'
        '_fluxout fluxout "${COMP_WORDS[COMP_CWORD]}" '
        '"${COMP_WORDS[COMP_CWORD-1]}" || exit 4\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    return [line for line in result.stdout.splitlines() if line]


@_needs("bash")
def test_bash_registers_the_completion() -> None:
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"source '{BASH}'; complete -p fluxout"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == "complete -F _fluxout fluxout"


@_needs("bash")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["fluxout", "cat", "--str"], ["--stream"]),
        (["fluxout", "cat", "--stream", ""], ["stdout", "stderr", "all"]),
        (["fluxout", "cat", "--stream", "std"], ["stdout", "stderr"]),
        # --stream=VALUE: bash breaks words at '=' by default...
        (["fluxout", "cat", "--stream", "=", ""], ["stdout", "stderr", "all"]),
        (["fluxout", "cat", "--stream", "=", "a"], ["all"]),
        # ... and not when '=' is out of COMP_WORDBREAKS.
        (["fluxout", "cat", "--stream=std"], ["--stream=stdout", "--stream=stderr"]),
        (["fluxout", ""], list(COMMANDS)),
        (["fluxout", "-"], ["-V", "--version", "-h", "--help"]),
        (["fluxout", "ev"], ["events"]),
        (["fluxout", "cat", "--color", ""], ["auto", "always", "never"]),
        (["fluxout", "follow", "--colour", "n"], ["never"]),
        (["fluxout", "events", "--eventlog", ""], ["main", "exec", "output", "all"]),
        (["fluxout", "cat", "-L", "t"], ["trace"]),
        (["fluxout", "lines", "--log-level", "w"], ["warn", "warning"]),
        (["fluxout", "cat", "-l", "--tasks", ""], []),  # an idset: nothing to offer
    ],
)
def test_bash_completes(words: list[str], expected: list[str], shell_env: dict[str, str]) -> None:
    assert _bash(words, shell_env) == expected


@_needs("bash")
def test_bash_completes_every_choice(shell_env: dict[str, str]) -> None:
    for name, option, values in _choices():
        assert _bash(["fluxout", name, option, ""], shell_env) == values


@_needs("bash")
def test_bash_completes_log_levels(shell_env: dict[str, str]) -> None:
    got = _bash(["fluxout", "cat", "--log-level", ""], shell_env)
    assert got[0] == "fatal"
    assert "trace" in got
    assert got[-8:] == [str(n) for n in range(8)]


@_needs("bash")
def test_bash_completes_jobs_and_paths(shell_env: dict[str, str]) -> None:
    got = _bash(["fluxout", "cat", "-l", ""], shell_env)
    assert set(JOBIDS) <= set(got)
    assert "examples" in got
    assert _bash(["fluxout", "follow", "exa"], shell_env) == ["examples"]
    assert _bash(["fluxout", "events", "f2"], shell_env) == ["f2BCq7Vp3"]
    log = Path(shell_env["FLUXOUT_FLUX_LOG"]).read_text()
    assert set(log.splitlines()) == {"jobs -no {id.f58plain}"}


@_needs("bash")
def test_bash_without_flux(shell_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "bin" / "flux").unlink()
    env = {**shell_env, "PATH": f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin"}
    if shutil.which("flux", path=env["PATH"]):
        pytest.skip("a real flux is installed in /usr/bin")
    assert _bash(["fluxout", "cat", "exa"], env) == ["examples"]


@_needs("bash")
@pytest.mark.skipif(shutil.which("timeout") is None, reason="no timeout(1)")
def test_bash_does_not_hang_on_a_slow_instance(shell_env: dict[str, str]) -> None:
    flux = Path(shell_env["PATH"].split(os.pathsep)[0]) / "flux"
    flux.write_text("#!/bin/sh\nexec sleep 30\n")
    start = time.monotonic()
    assert _bash(["fluxout", "cat", "exa"], shell_env) == ["examples"]
    assert time.monotonic() - start < 15


# -- zsh -----------------------------------------------------------------------

# Drives zsh's completion system in a pseudo-terminal: compadd is wrapped to
# print each match it adds, and the completion ends the shell when done.
ZSH_CAPTURE = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1= PROMPT= RPROMPT=; unsetopt zle_bracketed_paste 2>/dev/null"
zpty -w z "autoload -U compinit; compinit -u -d ${(q)3}"
zpty -w z "source ${(q)1}"
zpty -w z 'compadd() {
  if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi
  local -a __m; builtin compadd -A __m "$@"; local __w
  for __w in $__m; do print -r -- "<<""M:$__w>>"; done
  builtin compadd "$@"
}'
zpty -w z '_capture_end() { print -r -- "<<""END>>"; exit }'
zpty -w z 'comppostfuncs=(_capture_end)'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no"
zpty -w z "bindkey '^I' complete-word"
zpty -n -w z "$2"$'\t'
local line
while zpty -r z line; do
  [[ $line == *'<<END>>'* ]] && break
  if [[ $line == *'<<M:'* ]]; then
    line=${line#*<<M:}; print -r -- ${line%%>>*}
  fi
done
zpty -d z
"""


def _zsh(line: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    script = tmp_path / "capture.zsh"
    script.write_text(ZSH_CAPTURE)
    result = subprocess.run(
        ["zsh", "-f", str(script), str(ZSH), line, str(tmp_path / "zcompdump")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.splitlines() if m]


@_needs("zsh")
def test_zsh_loads_the_completion(tmp_path: Path) -> None:
    dump = tmp_path / "zcompdump"
    sourced = subprocess.run(
        [
            "zsh",
            "-f",
            "-c",
            f"autoload -U compinit; compinit -u -d '{dump}'; source '{ZSH}'; "
            "print -r -- $_comps[fluxout]",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (sourced.returncode, sourced.stderr) == (0, "")
    assert sourced.stdout.strip() == "_fluxout"
    # Installed in $fpath, as share/zsh/site-functions/_fluxout is.
    from_fpath = subprocess.run(
        [
            "zsh",
            "-f",
            "-c",
            f"fpath=('{COMPLETIONS}' $fpath); autoload -U compinit; "
            f"compinit -u -d '{dump}.2'; print -r -- $_comps[fluxout]",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (from_fpath.returncode, from_fpath.stderr) == (0, "")
    assert from_fpath.stdout.strip() == "_fluxout"


@_needs("zsh")
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("fluxout cat --str", ["--stream"]),
        ("fluxout cat --stream ", ["stdout", "stderr", "all"]),
        ("fluxout cat --stream=", ["stdout", "stderr", "all"]),
        ("fluxout ", list(COMMANDS)),
        ("fluxout cat --color=", ["auto", "always", "never"]),
        ("fluxout events --eventlog ", ["main", "exec", "output", "all"]),
        ("fluxout lines -L tr", ["trace"]),
    ],
)
def test_zsh_completes(
    line: str, expected: list[str], shell_env: dict[str, str], tmp_path: Path
) -> None:
    assert _zsh(line, shell_env, tmp_path) == expected


@_needs("zsh")
def test_zsh_completes_jobs_and_paths(shell_env: dict[str, str], tmp_path: Path) -> None:
    got = _zsh("fluxout cat ", shell_env, tmp_path)
    assert set(JOBIDS) <= set(got)
    assert "examples" in got
    assert _zsh("fluxout cat f2", shell_env, tmp_path) == ["f2BCq7Vp3"]


# -- fish ----------------------------------------------------------------------


def _fish(line: str, env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        ["fish", "--no-config", "-c", f"source '{FISH}'; complete -C'{line}'"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    return [m.split("\t")[0] for m in result.stdout.splitlines()]


@_needs("fish")
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("fluxout cat --stre", ["--stream"]),
        ("fluxout cat --stream ", ["all", "stderr", "stdout"]),
        ("fluxout cat --stream=", ["--stream=all", "--stream=stderr", "--stream=stdout"]),
        ("fluxout ", sorted(COMMANDS)),
        ("fluxout cat --color=", ["--color=always", "--color=auto", "--color=never"]),
        ("fluxout events --eventlog ", ["all", "exec", "main", "output"]),
        ("fluxout lines -L tr", ["trace"]),
        ("fluxout cat exa", ["examples/"]),
    ],
)
def test_fish_completes(line: str, expected: list[str], shell_env: dict[str, str]) -> None:
    assert sorted(_fish(line, shell_env)) == expected


@_needs("fish")
def test_fish_completes_jobs(shell_env: dict[str, str]) -> None:
    got = _fish("fluxout follow ", shell_env)
    assert set(JOBIDS) <= set(got)
    assert "examples/" in got
