"""Man pages and shell completions, generated from fluxout's Click commands.

Regenerate everything after changing the CLI, from the top of the repository:

    python tools/manpage.py man/

That writes ``man/fluxout.1`` and ``man/fluxout-COMMAND.1`` for every
command (and deletes the page of a command that is gone), plus the shell
completions ``fluxout.bash``, ``_fluxout`` (zsh) and ``fluxout.fish`` into
the man directory's sibling ``completions/`` (or ``--completions DIR``).
``--check`` only reports the files that would change, and exits 1 if any.
tests/test_man.py and tests/test_completions.py fail when a checked-in file
differs from what this module generates.

A development tool, not part of the installed package (fluxout never
imports it): run as a script, it reads the Click commands of the fluxout
of the checkout it is in, whatever fluxout is installed.

Everything about options (names, metavars, choices, defaults, ranges,
environment variables, help) is read from the Click objects in
fluxout.cli, so a new option shows up in every page and completion by
itself. The prose (DESCRIPTION, EXIT STATUS, ENVIRONMENT, EXAMPLES) is
hand-written here, per command, in ``PAGES``; ``OPTION_NOTES`` adds a
paragraph to an option where its help line is not enough.

Prose has three marks: text in backquotes is a literal (bold), text in
asterisks an argument (italic), and ``name(N)`` a reference to a page.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__":  # the checkout's fluxout, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click

from fluxout import __version__
from fluxout import cli as _cli

PROG = "fluxout"
REGENERATE = "python tools/manpage.py man/"
# flux jobs prints the user's active (pending and running) jobs by default;
# f58plain spells the F58 prefix as an ASCII f, easy to type.
JOBIDS_COMMAND = "flux jobs -no '{id.f58plain}'"
JOBIDS_TIMEOUT = 2  # seconds: a completion must never hang on a slow instance

# -- what the Click objects say ------------------------------------------------


@dataclass(frozen=True)
class Opt:
    """One option as users see it."""

    names: tuple[str, ...]  # every spelling, short ones first
    dest: str
    metavar: str | None  # None: a flag
    value_optional: bool  # --color[=WHEN]: the value may be left out
    kind: str  # "flag", "choice", "file", "dir" or "text"
    values: tuple[str, ...]  # values to complete (choices, log levels)
    choice: bool  # values are the only ones Click accepts
    help: str
    default: str | None
    range: str | None
    repeatable: bool
    envvars: tuple[str, ...]

    @property
    def long(self) -> str:
        longs = [n for n in self.names if n.startswith("--")]
        return longs[0] if longs else self.names[0]


@dataclass(frozen=True)
class Arg:
    metavar: str  # JOB...
    kind: str  # "job", "file", "dir" or "text"
    required: bool


@dataclass(frozen=True)
class Cmd:
    name: str  # "cat"; "" for fluxout itself
    short: str  # the first line of the help, without its period
    help: tuple[str, ...]  # the other paragraphs of the help
    options: tuple[Opt, ...]
    arguments: tuple[Arg, ...]
    envvar_prefix: str | None

    @property
    def path(self) -> str:
        return f"{PROG} {self.name}" if self.name else PROG

    @property
    def page(self) -> str:
        return f"{PROG}-{self.name}" if self.name else PROG


def _paragraphs(text: str) -> list[str]:
    text = click.unstyle(text).replace("\b", "")
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    return [p for p in paras if p]


def _log_levels() -> tuple[str, ...]:
    names = sorted(_cli.LOG_LEVELS, key=lambda n: _cli.LOG_LEVELS[n])
    return (*names, *(str(n) for n in range(8)))


# Values of parameter types that do not complete themselves through Click's
# shell_complete; keyed by the type's class name.
TYPE_VALUES: dict[str, Callable[[], tuple[str, ...]]] = {
    "LogLevelType": _log_levels,
}


def _kind(param: click.Parameter, ctx: click.Context) -> tuple[str, tuple[str, ...]]:
    """How a value is completed: a kind and, for "choice", the values."""
    ptype = param.type
    if isinstance(ptype, click.Choice):
        return "choice", tuple(str(c) for c in ptype.choices)
    if isinstance(ptype, click.Path):
        return ("dir" if ptype.dir_okay and not ptype.file_okay else "file"), ()
    if isinstance(ptype, click.File):
        return "file", ()
    known = TYPE_VALUES.get(type(ptype).__name__)
    if known is not None:
        return "choice", known()
    items = ptype.shell_complete(ctx, param, "")
    if items and all(item.type == "plain" for item in items):
        return "choice", tuple(str(item.value) for item in items)
    return "text", ()


def _metavar(param: click.Option, ctx: click.Context) -> str:
    if param.metavar is not None:
        return param.metavar
    if isinstance(param.type, click.Choice):
        return "|".join(str(c) for c in param.type.choices)
    if isinstance(param.type, click.types.StringParamType):
        return (param.name or "value").upper()
    return param.make_metavar(ctx).strip("[]")


def _envvars(param: click.Option, ctx: click.Context) -> tuple[str, ...]:
    """The variables Click reads for an option, in the order it tries them."""
    names: list[str] = []
    if isinstance(param.envvar, str):
        names.append(param.envvar)
    elif param.envvar:
        names.extend(str(e) for e in param.envvar)
    if param.allow_from_autoenv and ctx.auto_envvar_prefix and param.name:
        names.append(f"{ctx.auto_envvar_prefix}_{param.name.upper()}")
    return tuple(names)


def _option(param: click.Option, ctx: click.Context) -> Opt:
    names = tuple(sorted([*param.opts, *param.secondary_opts], key=lambda n: n.startswith("--")))
    takes_value = not param.is_flag and not param.count
    kind, values = _kind(param, ctx) if takes_value else ("flag", ())
    extra = param.get_help_extra(ctx)
    metavar = _metavar(param, ctx) if takes_value else None
    rng = extra.get("range")
    return Opt(
        names=names,
        dest=param.name or "",
        metavar=metavar,
        value_optional=takes_value and bool(getattr(param, "_flag_needs_value", False)),
        kind=kind,
        values=values,
        choice=isinstance(param.type, click.Choice),
        help=" ".join(_paragraphs(param.help or "")),
        default=extra.get("default"),
        range=rng.replace("x", metavar or "x", 1) if rng else None,
        repeatable=param.multiple,
        envvars=_envvars(param, ctx) if param.expose_value else (),
    )


def _argument(param: click.Argument, ctx: click.Context) -> Arg:
    metavar = param.metavar or (param.name or "ARG").upper()
    if param.nargs != 1 and not metavar.endswith("..."):
        metavar += "..."
    kind, _ = _kind(param, ctx)
    if type(param.type).__name__ == "JobArgType" or param.name == "jobs":
        kind = "job"
    elif kind == "choice":
        kind = "text"
    return Arg(metavar, kind, param.required)


def _command(cmd: click.Command, ctx: click.Context, name: str) -> Cmd:
    paras = _paragraphs(cmd.help or "")
    short = paras[0] if paras else (cmd.short_help or "")
    options: list[Opt] = []
    arguments: list[Arg] = []
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden:
            options.append(_option(param, ctx))
        elif isinstance(param, click.Argument):
            arguments.append(_argument(param, ctx))
    return Cmd(
        name=name,
        short=short.rstrip("."),
        help=tuple(paras[1:]),
        options=tuple(options),
        arguments=tuple(arguments),
        envvar_prefix=ctx.auto_envvar_prefix,
    )


def program() -> tuple[Cmd, tuple[Cmd, ...]]:
    """fluxout itself and its commands, in the order cli.py defines them."""
    group = _cli.cli
    root = click.Context(group, info_name=PROG, **group.context_settings)
    subs: list[Cmd] = []
    for name, sub in group.commands.items():
        if sub.hidden:
            continue
        ctx = click.Context(sub, parent=root, info_name=name, **sub.context_settings)
        subs.append(_command(sub, ctx, name))
    return _command(group, root, ""), tuple(subs)


# -- hand-written prose ----------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    commands: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    description: tuple[str, ...]
    exit_status: tuple[tuple[str, str], ...]
    examples: tuple[Example, ...]
    rfcs: tuple[str, ...] = ("18", "19", "22", "24")


JOB_PROSE = (
    "Each *JOB* is a Flux jobid in any form flux-job(1) accepts: F58 "
    "(`ƒ2BC` or `f2BC`), decimal, `0x` hexadecimal, dothex, a KVS path "
    "(`job.0000.…`) or mnemonic words. Any other argument is a path: a saved "
    "output eventlog, a directory holding `output.eventlog`, `eventlog` and "
    "`exec.eventlog` (as read with `flux kvs get --raw`), or `-` for standard "
    "input. An argument that parses as a jobid is a jobid; write `./NAME` to "
    "read a file of that name. Reading a saved eventlog needs no Flux "
    "instance.",
    "With several *JOB* arguments, each is shown in turn, in the order given, "
    "and the worst exit status wins. An error about one *JOB* is reported on "
    "one line, `fluxout: JOB: what happened`, and the next *JOB* is still "
    "shown.",
)

OUTPUT_PROSE = (
    "Job standard output goes to standard output and job standard error to "
    "standard error. fluxout's own messages (job shell log lines, exceptions, "
    "the exit summary) go to standard error.",
    "Without options that decorate or filter the output, the bytes written for "
    "a stream are exactly the bytes the selected tasks wrote to it, in "
    "eventlog order, binary data included: no newline is added and none is "
    "lost.",
    "Before anything labels, prefixes or filters them, lines are reassembled "
    "per task and stream: a line written in several pieces, interleaved with "
    "the writes of other tasks, is shown whole and under its own task. "
    "`flux job attach -l` labels each write instead, which splits such "
    "lines; `-l -u` does the same, byte for byte. Decorated output ends every "
    "line with a newline, a last line that had none included.",
    "On a terminal, colour marks fluxout's decorations only (a colour per "
    "task rank, red for errors); job data is never interpreted or changed.",
)

STATUS_ERRORS = (
    (
        "1",
        "A runtime error: no such job or file, permission denied, the Flux "
        "instance not reachable, an unreadable eventlog, or malformed eventlog "
        "lines (each is reported with its line number, and everything valid "
        "around them is still printed).",
    ),
    (
        "2",
        "A usage error: an unknown option, a bad jobid, idset or option value, "
        "or two options that cannot be used together (one of them would be "
        "ignored).",
    ),
    (
        "130",
        "Interrupted by Ctrl-C. fluxout detaches: it never cancels a job.",
    ),
    (
        "141",
        "Standard output was closed early, as in `fluxout cat JOB | head`: "
        "fluxout stops at once, quietly.",
    ),
    ("143", "Terminated by SIGTERM, after writing what it had."),
)

JOB_STATUS = (
    "the status `flux job attach` gives for the job: the highest exit code of "
    "its tasks, 128 plus the signal number for a task killed by a signal, or 1 "
    "for a job that never ran or was ended by a fatal exception. A saved job "
    "without its main eventlog gets the status its exec eventlog's `complete` "
    "event gives; without that either, the status is unknown: a warning says "
    "so, and the status is 0."
)

ENVIRONMENT = (
    (
        "FLUX_URI",
        "The Flux instance to read jobs from when `--uri` is not given, as for "
        "every flux command; flux(1) sets it in the jobs and shells it starts. "
        "Saved eventlogs need none.",
    ),
    (
        "NO_COLOR",
        "When set and not empty, `--color=auto` does not colour (https://no-color.org).",
    ),
    (
        "FORCE_COLOR",
        "When set and not empty (and NO_COLOR is not), `--color=auto` colours "
        "even what is not a terminal.",
    ),
    ("TERM", "`--color=auto` does not colour a terminal whose TERM is `dumb`."),
    (
        "FLUX_ATTACH_NONINTERACTIVE",
        "When set, `follow` and `cat --wait` show no status line for a pending "
        "job (unless `--show-status`), as for `flux job attach`.",
    ),
)

SAVE_EVENTLOGS = (
    "kvs=$(flux job id --to=kvs $id)",
    "mkdir saved",
    "flux kvs get --raw $kvs.guest.output >saved/output.eventlog",
    "flux kvs get --raw $kvs.eventlog >saved/eventlog",
    "fluxout cat -l saved",
)

PAGES: dict[str, Page] = {
    "": Page(
        description=(
            "fluxout reads the output and the events of Flux jobs. For people "
            "who look at job output, it replaces `flux job attach` and the "
            "Python module `flux.job.output`.",
            "Each command has its own page: fluxout-cat(1), fluxout-follow(1), "
            "fluxout-events(1) and fluxout-lines(1).",
            *JOB_PROSE,
        ),
        exit_status=(
            ("0", "Success."),
            ("job status", "With `follow` and `cat --wait`, " + JOB_STATUS),
            *STATUS_ERRORS,
        ),
        examples=(
            Example(
                "Print the output of your last job, each line labelled with its task rank:",
                ("fluxout cat -l $(flux job last)",),
            ),
            Example(
                "Submit a job and follow its output until it ends; the exit status is the job's:",
                ("fluxout follow $(flux submit -N2 -n4 ./app)",),
            ),
            Example(
                "Save the eventlogs of a finished job `$id`, then read them anywhere, "
                "without Flux:",
                SAVE_EVENTLOGS,
            ),
        ),
    ),
    "cat": Page(
        description=(
            "fluxout cat prints the output each *JOB* has so far and exits. "
            "For a job that is still running, that is what its tasks have "
            "written up to now; `--wait` waits for the job to finish and "
            "exits with its status, as fluxout-follow(1) does.",
            *OUTPUT_PROSE,
            *JOB_PROSE,
        ),
        exit_status=(
            ("0", "The output found was printed."),
            ("job status", "With `--wait`, " + JOB_STATUS),
            *STATUS_ERRORS,
        ),
        examples=(
            Example(
                "Print the output of your last job, each line labelled with its task rank:",
                ("fluxout cat -l $(flux job last)",),
            ),
            Example(
                "Only the standard error of tasks 0 to 3:",
                ("fluxout cat -t 0-3 --stream stderr ƒ2BCq7Vp3",),
            ),
            Example(
                "Label each write as `flux job attach -l` does, byte for byte:",
                ("fluxout cat -l -u ƒ2BCq7Vp3",),
            ),
            Example(
                "The first lines of a large output; fluxout stops as soon as head(1) has them:",
                ("fluxout cat ƒ2BCq7Vp3 | head",),
            ),
            Example(
                "Save the eventlogs of a finished job `$id`, then read them anywhere, "
                "without Flux:",
                SAVE_EVENTLOGS,
            ),
        ),
    ),
    "follow": Page(
        description=(
            "fluxout follow waits for each *JOB* to start, prints its output "
            "as the tasks write it, and exits once all of it has been "
            "written. A saved eventlog is read to its end.",
            "The files of a saved job that lack its end (a copy taken while "
            "it ran: no `clean` event, and tasks whose output has no eof) "
            "are polled as tail(1) `-f` polls a file. In a pipe nothing is "
            "said; the status line on a terminal is, for instance, "
            "`waiting for more of saved/output.eventlog: no eof from tasks "
            "[2-3] yet`.",
            "Exception lines, as attach prints them, and the summary of a "
            "job that failed name the job by its jobid; a saved job by the "
            "jobid its exec eventlog (`shell.init`) or its directory's name "
            "gives, else by its directory's or file's name.",
            *OUTPUT_PROSE,
            *JOB_PROSE,
        ),
        exit_status=(
            ("job status", JOB_STATUS[:1].upper() + JOB_STATUS[1:]),
            *STATUS_ERRORS,
        ),
        examples=(
            Example(
                "Submit a job and follow its output until it ends:",
                ("fluxout follow $(flux submit -N2 -n4 ./app)",),
            ),
            Example(
                "Follow only the standard error, labelled by task rank, and "
                "act on the job's exit status:",
                ('fluxout follow -l --stream stderr $id || echo "failed: $?"',),
            ),
            Example(
                "The job's events on stderr as `flux job attach -E -X` shows "
                "them, without the job shell's log messages:",
                ("fluxout follow -E -X -q $id",),
            ),
        ),
    ),
    "events": Page(
        description=(
            "fluxout events prints the entries of a job's eventlogs (RFC 18): "
            "the main eventlog (`submit` to `clean`), the execution eventlog "
            "(`guest.exec.eventlog`) and the output eventlog (`guest.output`, "
            "RFC 24), merged in time order. Each line shows the time since "
            "the job's submit, the eventlog and event name, and the "
            "event's context as JSON, as in "
            '`0.299s: main.finish {"status":768}`.',
            "`--json` writes JSON Lines instead: one object per event with "
            "the RFC 18 fields `timestamp`, `name` and `context`, plus "
            "`eventlog` (`main`, `exec` or `output`) and `job` (the *JOB* "
            "argument as given).",
            "The task and stream options select the output events of those "
            "tasks and streams; the events of the other eventlogs are always "
            "shown.",
            *JOB_PROSE,
        ),
        exit_status=(("0", "The events found were printed."), *STATUS_ERRORS),
        examples=(
            Example(
                "The main eventlog of your last job:",
                ("fluxout events --eventlog main $(flux job last)",),
            ),
            Example(
                "The notes of a job's exceptions, with jq(1):",
                (
                    "fluxout events --json ƒ2BCq7Vp3 |",
                    "    jq -r 'select(.name == \"exception\") | .context.note'",
                ),
            ),
            Example(
                "Watch a running job's events as they are posted:",
                ("fluxout events -f ƒ2BCq7Vp3",),
            ),
        ),
    ),
    "lines": Page(
        description=(
            "fluxout lines prints one record per line of output, reassembled "
            "per task and stream: the time it was written (seconds since the "
            "job's submit, the origin fluxout-events(1) counts from), the "
            "task rank, the stream and the text.",
            "`--json` writes JSON Lines (schema 1) instead: one object per "
            "line with `job` (the *JOB* argument as given), `rank` (an "
            "integer), `stream`, `line` (the text without its newline), `eol` "
            "(false only for a last line that had no newline) and "
            "`timestamp` (when the line's first byte was written, in seconds "
            "since the epoch). A line whose bytes are not valid UTF-8 carries "
            'them base64-encoded in `line`, with `"encoding": "base64"`, as '
            "RFC 24 does for job data.",
            *JOB_PROSE,
        ),
        exit_status=(("0", "The lines found were printed."), *STATUS_ERRORS),
        examples=(
            Example(
                "The text of task 1's lines, with jq(1):",
                ("fluxout lines --json -t 1 ƒ2BCq7Vp3 | jq -r .line",),
            ),
            Example(
                "When each standard error line of a job was written:",
                ("fluxout lines --stream stderr ƒ2BCq7Vp3",),
            ),
        ),
    ),
    "stats": Page(
        description=(
            "fluxout stats prints one row per task and stream of a job: the "
            "lines it wrote (newlines, and a last line without one), its bytes, "
            "the time of its first and last output (seconds since the job's "
            "start), how the task ended and the host it ran on when that is "
            "known, and a sparkline of its output over the job's output time "
            "span, so a task that stopped writing early stands out. Every task "
            "the output header counts has its rows, silent or not.",
            "The exit status of a task is the one the exec eventlog's "
            "`shell.task-exit` event gives; Flux posts it for the first task "
            "to exit only, so the others show the job's status, marked "
            "`(job)`.",
            "On a terminal the table is drawn with colour per task; in a pipe "
            "it is plain text with the same columns. `--json` writes JSON "
            "Lines instead, one object per row: `job` (the *JOB* argument as "
            "given), `rank`, `stream`, `lines`, `bytes`, `first` and `last` "
            "(seconds since the job's start, null when the task wrote "
            "nothing), `first_timestamp` and `last_timestamp` (seconds since "
            "the epoch), `eof`, `redirect` (the file the stream went to, or "
            "null), `exit` (`code`, `signal`, and `from`: `task-exit` or "
            "`job`), `host` (null when not known) and `activity` (`start`, "
            "`end`, and `bytes`: the bytes written in each of 20 equal parts "
            "of the job's output time span).",
            *JOB_PROSE,
        ),
        exit_status=(("0", "The statistics of every job were printed."), *STATUS_ERRORS),
        examples=(
            Example(
                "Which task went quiet:",
                ("fluxout stats --stream stdout ƒ2BCq7Vp3",),
            ),
            Example(
                "The tasks that wrote nothing to standard error, with jq(1):",
                (
                    "fluxout stats --json --stream stderr ƒ2BCq7Vp3 | "
                    "jq -r 'select(.bytes == 0) | .rank'",
                ),
            ),
        ),
    ),
}


def _levels_note() -> str:
    by_level: dict[int, list[str]] = {}
    for name, level in _cli.LOG_LEVELS.items():
        by_level.setdefault(level, []).append(f"`{name}`")
    return (
        "*LEVEL* is a number from 0 (most severe) to 7, or a name: "
        + ", ".join(f"{' or '.join(names)} ({level})" for level, names in sorted(by_level.items()))
        + ". The job shell logs with these levels."
    )


# Extra paragraphs for an option, keyed by its first long name.
def _coalesce_note() -> str:
    from fluxout.render import blocks, coalesce

    return (
        "`cat` keeps a digest of each task's output as it comes, and the bytes "
        f"in memory only up to {blocks.HELD_BYTES >> 20} MiB in all: the rest wait in "
        "an anonymous temporary file (in `TMPDIR`), which needs room for the "
        f"job's output. `follow` holds at most {coalesce.MAX_HELD} lines (or "
        f"{coalesce.MAX_HELD_BYTES >> 20} MiB) for tasks that lag; past that the "
        "oldest go out without them."
    )


OPTION_NOTES: dict[str, Callable[[], str]] = {
    "--progress": lambda: (
        "The bar is the last line of the terminal, on standard error: the jobs "
        "done of all, how many failed (a job whose exit status is not 0, or "
        "that could not be read; `cat` counts a finished job by its own exit "
        "status), and the percentage done with the elapsed time (`--jps`: the "
        "jobs done per second). Job output and fluxout's messages are written "
        "above it, never on its line; it is redrawn below them at most 10 times "
        "a second, and replaces a pending job's status line. At the end it is "
        "erased and its final counts are left as a line of their own. When "
        "standard error is not a terminal `--progress` does nothing and says "
        "nothing, and standard output is the same bytes with it or without it."
    ),
    "--log-level": _levels_note,
    "--coalesce": _coalesce_note,
    "--tasks": lambda: (
        "An output event written for several tasks at once (its rank an idset) "
        "is shown for those of them that are selected. When *IDSET* holds none "
        "of the job's tasks (`-t 100` of a job of 16), one warning on standard "
        "error says so, once the job's task count is read; the status stays 0."
    ),
    "--since": lambda: (
        "A window that can hold no line is told in one warning on standard "
        "error, and the status stays 0: `--since` after `--until` (said up "
        "front when both are durations or both times; else once the job's "
        "start is read), or a window wholly before the job's first line or "
        "after its last (a time of day is today's: `--since 15:11:22` on a "
        "job of another day)."
    ),
}


# -- roff ------------------------------------------------------------------------


def esc(text: str) -> str:
    """Escape text for roff: backslashes, hyphens as minus, non-ASCII."""
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ch == "\t":
            out.append(" ")
        elif ord(ch) > 126 or ord(ch) < 32:
            out.append(f"\\[u{ord(ch):04X}]")
        else:
            out.append(ch)
    return "".join(out)


def _line(text: str) -> str:
    """A text line: one starting with . or ' would be a request."""
    return "\\&" + text if text.startswith((".", "'")) else text


_MARKUP = re.compile(r"`([^`]+)`|\*([^*\s][^*]*)\*|\b([a-z][\w.-]*)\((\d)\)")


def markup(text: str) -> str:
    """Prose -> roff: `literal` bold, *argument* italic, name(N) references."""
    out: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        out.append(esc(text[pos : m.start()]))
        if m.group(1) is not None:
            out.append(f"\\fB\\%{esc(m.group(1))}\\fR")
        elif m.group(2) is not None:
            out.append(f"\\fI{esc(m.group(2))}\\fR")
        else:
            out.append(f"\\fB\\%{esc(m.group(3))}\\fR({m.group(4)})")
        pos = m.end()
    out.append(esc(text[pos:]))
    return _line("".join(out))


def _option_tag(opt: Opt) -> str:
    names = ", ".join(f"\\fB{esc(n)}\\fR" for n in opt.names)
    if opt.metavar is None:
        return _line(names)
    value = f"\\fI{esc(opt.metavar)}\\fR"
    if opt.value_optional:
        return _line(f"{names}[={value}]")
    return _line(f"{names}={value}")


def _option_body(opt: Opt) -> list[str]:
    text = opt.help
    if opt.default is not None:
        text += f" Default: {opt.default}."
    if opt.range is not None:
        text += f" Range: {opt.range}."
    if opt.repeatable and "repeat" not in text.lower():
        text += " May be given more than once."
    lines = [_line(esc(text.strip()))]
    note = OPTION_NOTES.get(opt.long)
    if note is not None:
        lines += [".IP", markup(note())]
    return lines


def _header(cmd: Cmd) -> list[str]:
    title = esc(cmd.page.upper())
    return [
        f'.\\" {cmd.page}(1): generated from the Click commands in fluxout/cli.py',
        '.\\" and the prose in tools/manpage.py. Do not edit: change those and',
        '.\\" regenerate every page and completion with',
        f'.\\"     {REGENERATE}',
        f'.TH "{title}" "1" "" "{PROG} {esc(__version__)}" "{PROG} manual"',
        # Technical text: ragged right; markup() keeps names whole.
        ".ad l",
    ]


def _synopsis(top: Cmd, cmd: Cmd, subs: Sequence[Cmd]) -> list[str]:
    lines = [".SH SYNOPSIS"]

    def usage(c: Cmd, opts: str) -> list[str]:
        args = " ".join(
            f"\\fI{esc(a.metavar)}\\fR" if a.required else f"[\\fI{esc(a.metavar)}\\fR]"
            for a in c.arguments
        )
        name = esc(c.path).replace(" ", "\\ ")
        return [f".SY {name}", f"{opts} {args}".strip(), ".YS"]

    if cmd is top:
        lines.append(f".SY {esc(PROG)}")
        lines += [f".OP {esc(opt.names[0])}" for opt in top.options]
        lines.append(".YS")
        for sub in subs:
            lines += usage(sub, "[\\fIOPTIONS\\fR]")
    else:
        lines += usage(cmd, "[\\fIOPTIONS\\fR]")
    return lines


def _tagged(items: Iterable[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    for tag, text in items:
        tag_roff = f"\\fI{esc(tag)}\\fR" if " " in tag else f"\\fB{esc(tag)}\\fR"
        lines += [".TP", _line(tag_roff), markup(text)]
    return lines


def _environment(cmd: Cmd, subs: Sequence[Cmd]) -> list[str]:
    lines = [".SH ENVIRONMENT", *_tagged(ENVIRONMENT)]
    if not cmd.name:
        example = next(
            (
                f"`{s.envvar_prefix}_{o.dest.upper()}={o.values[0]}`"
                for s in subs
                for o in s.options
                if s.envvar_prefix and o.kind == "choice" and o.values and o.values[0] != o.default
            ),
            "",
        )
        lines += _tagged(
            [
                (
                    f"{PROG.upper()}_COMMAND_OPTION",
                    "The default of an option of a command, as in "
                    f"{example}: each command's page lists its variables.",
                )
            ]
        )
        return lines
    documented = {name for name, _ in ENVIRONMENT}
    auto: list[tuple[str, Opt]] = [
        (var, opt) for opt in cmd.options for var in opt.envvars if var not in documented
    ]
    if not auto:
        return lines
    lines += [
        ".PP",
        markup(
            "Each option can also be set in the environment, as "
            f"{cmd.envvar_prefix}_ followed by its name in capitals; an option "
            "on the command line wins. A flag is set by `1`, `true`, `yes` or "
            "`on` and cleared by `0`, `false`, `no` or `off`; a repeatable "
            "option takes its values separated by spaces."
        ),
    ]
    for var, opt in auto:
        names = ", ".join(f"`{n}`" for n in opt.names)
        lines += _tagged([(var, f"The default of {names}.")])
    return lines


def _see_also(cmd: Cmd, subs: Sequence[Cmd]) -> list[str]:
    pages = [PROG] if cmd.name else []
    pages += [s.page for s in subs if s.name != cmd.name]
    refs = [f"\\fB\\%{esc(p)}\\fR(1)" for p in [*pages, "flux-job", "flux-jobs"]]
    return [".SH SEE ALSO", ", ".join(refs)]


RFC_TITLES = {
    "18": "KVS Event Log Format",
    "19": "Flux Locally Unique ID (FLUID)",
    "22": "Idset String Representation",
    "24": "Flux Job Standard I/O",
}


def man_page(cmd: Cmd, top: Cmd, subs: Sequence[Cmd]) -> str:
    """The roff source of one page."""
    # A command without prose of its own still gets a complete page (and
    # tests/test_man.py asks for its prose).
    page = PAGES.get(cmd.name) or Page(
        description=JOB_PROSE,
        exit_status=(("0", "Success."), *STATUS_ERRORS),
        examples=(),
    )
    lines = _header(cmd)
    lines += [".SH NAME", f"{esc(cmd.page)} \\- {esc(cmd.short[:1].lower())}{esc(cmd.short[1:])}"]
    lines += _synopsis(top, cmd, subs)
    lines.append(".SH DESCRIPTION")
    # The first paragraph of prose, then the rest of the command's help, then
    # the rest of the prose.
    for para in [*page.description[:1], *cmd.help, *page.description[1:]]:
        lines += [".PP", markup(para)]
    if not cmd.name:
        lines.append(".SH COMMANDS")
        for sub in subs:
            lines += [
                ".TP",
                f"\\fB{esc(sub.name)}\\fR",
                _line(f"{esc(sub.short)}. See \\fB\\%{esc(sub.page)}\\fR(1)."),
            ]
    lines.append(".SH OPTIONS")
    for opt in cmd.options:
        lines += [".TP", _option_tag(opt), *_option_body(opt)]
    lines += [".SH EXIT STATUS", *_tagged(page.exit_status)]
    if cmd.name:
        lines += [
            ".PP",
            markup("With several *JOB* arguments, the worst status wins."),
        ]
    lines += _environment(cmd, subs)
    if page.examples:
        lines.append(".SH EXAMPLES")
    for ex in page.examples:
        lines += [".PP", markup(ex.text), ".PP", ".RS 4", ".EX"]
        # A command line gets a prompt; an indented line continues one.
        lines += [_line(esc(c if c[:1].isspace() else "$ " + c)) for c in ex.commands]
        lines += [".EE", ".RE"]
    lines.append(".SH FLUX RFC")
    for i, rfc in enumerate(page.rfcs):
        if i:
            lines.append(".br")
        lines.append(f"RFC {rfc}: {esc(RFC_TITLES[rfc])}")
    lines += _see_also(cmd, subs)
    return "\n".join(lines) + "\n"


def man_pages() -> dict[str, str]:
    """File name -> roff source, for fluxout(1) and each command's page."""
    top, subs = program()
    return {f"{c.page}.1": man_page(c, top, subs) for c in (top, *subs)}


# -- completions -------------------------------------------------------------------


def _first_sentence(text: str) -> str:
    """Help up to its first '.' or ';' outside brackets: a short description."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in ".;" and depth == 0 and text[i + 1 : i + 2] in ("", " "):
            return text[:i]
    return text.rstrip(".")


def _wrap(words: Sequence[str], sep: str, indent: str, end: str) -> list[str]:
    """Shell words joined by sep, in lines continued by a backslash."""
    lines: list[str] = []
    line = indent
    for i, word in enumerate(words):
        piece = word + (sep if i < len(words) - 1 else end)
        if line.strip() and len(line) + len(piece.rstrip()) > 76:
            lines.append(line.rstrip() + " \\")
            line = indent + "    "
        line += piece
    lines.append(line)
    return lines


def _header_comment(shell: str, install: str) -> list[str]:
    return [
        f"# {shell} completion for {PROG}(1).",
        "#",
        "# Generated from the Click commands in fluxout/cli.py by",
        "# tools/manpage.py. Do not edit: regenerate every page and completion",
        f"# with  {REGENERATE}",
        "#",
        f"# {install}",
    ]


def _value_groups(
    cmds: Sequence[Cmd], key: Callable[[Opt], tuple[str, ...] | None]
) -> list[tuple[tuple[str, ...], list[str]]]:
    """[(key, ["cmd:--opt", ...])] grouping options whose key is the same."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for cmd in cmds:
        for opt in cmd.options:
            k = key(opt)
            if k is None:
                continue
            for name in opt.names:
                groups.setdefault(k, []).append(f"{cmd.name}:{name}")
    return list(groups.items())


def bash_completion(top: Cmd, subs: Sequence[Cmd]) -> str:
    cmds = (top, *subs)
    out = _header_comment(
        "bash",
        "Install as share/bash-completion/completions/fluxout.bash, or source it.",
    )
    out += [
        "",
        "_fluxout_jobids()",
        "{",
        "    # The user's active jobs, when flux is here and answers quickly.",
        "    command -v flux >/dev/null 2>&1 || return 0",
        "    if command -v timeout >/dev/null 2>&1; then",
        f"        timeout {JOBIDS_TIMEOUT} {JOBIDS_COMMAND} 2>/dev/null",
        "    else",
        f"        {JOBIDS_COMMAND} 2>/dev/null",
        "    fi",
        "}",
        "",
        "# The words of a space-separated list that start with $2.",
        "_fluxout_words()",
        "{",
        "    local IFS=$' \\t\\n'",
        '    compgen -W "$1" -- "$2"',
        "}",
        "",
        "# The options of command $1 ('' for fluxout itself).",
        "_fluxout_options()",
        "{",
        "    case $1 in",
    ]
    for cmd in cmds:
        names = [n for o in cmd.options for n in o.names]
        out.append(f"    {cmd.name or repr('')})")
        out += _wrap(["printf", "'%s\\n'", *names], " ", "        ", "")
        out.append("        ;;")
    out += ["    esac", "}", ""]
    out += [
        "# Does option $2 of command $1 take a value (an optional one included)?",
        "_fluxout_takes_value()",
        "{",
        "    case $1 in",
    ]
    for cmd in cmds:
        takes = [n for o in cmd.options if o.metavar for n in o.names]
        if takes:
            out += [f"    {cmd.name or repr('')})", "        case $2 in"]
            out += _wrap(takes, " | ", "        ", ") return 0 ;;")
            out.append("        esac ;;")
    out += ["    esac", "    return 1", "}", ""]
    out += [
        "# The values of option $2 of command $1 that start with $3.",
        "_fluxout_values()",
        "{",
        "    case $1:$2 in",
    ]
    for (kind, *values), pats in _value_groups(
        cmds, lambda o: (o.kind, *o.values) if o.metavar else None
    ):
        if kind == "choice":
            action = f'_fluxout_words {shlex.quote(" ".join(values))} "$3"'
        elif kind in ("file", "dir"):
            flag = "-f" if kind == "file" else "-d"
            action = f'compopt -o filenames 2>/dev/null; compgen {flag} -- "$3"'
        else:
            continue
        out += _wrap(pats, " | ", "    ", ")")
        out.append(f"        {action} ;;")
    commands = " ".join(s.name for s in subs)
    out += [
        "    esac",
        "}",
        "",
        "_fluxout()",
        "{",
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' prefix='' cmd='' i w",
        "    local IFS=$'\\n'",
        "    COMPREPLY=()",
        "    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}",
        "",
        "    # The command: the first word that is neither an option nor a value.",
        "    for (( i = 1; i < COMP_CWORD; i++ )); do",
        "        w=${COMP_WORDS[i]}",
        "        case $w in",
        "        -*) _fluxout_takes_value '' \"$w\" && (( i += 1 )) ;;",
        "        *) cmd=$w; break ;;",
        "        esac",
        "    done",
        "",
        "    # The option whose value is being completed, if any: --opt=VALUE is",
        "    # three words when '=' breaks words (as by default), one otherwise.",
        "    if [[ $cur == = ]]; then",
        "        opt=$prev cur=''",
        "    elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then",
        "        opt=${COMP_WORDS[COMP_CWORD-2]}",
        "    elif [[ $cur == --*=* ]]; then",
        "        opt=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}",
        '    elif [[ $prev == -* ]] && _fluxout_takes_value "$cmd" "$prev"; then',
        "        opt=$prev",
        "    fi",
        "",
        "    if [[ -n $opt ]]; then",
        '        COMPREPLY=($(_fluxout_values "$cmd" "$opt" "$cur"))',
        "    elif [[ $cur == -* ]]; then",
        '        COMPREPLY=($(_fluxout_words "$(_fluxout_options "$cmd")" "$cur"))',
        "    elif [[ -z $cmd ]]; then",
        f"        COMPREPLY=($(_fluxout_words '{commands}' \"$cur\"))",
        "    else",
        "        # JOB: the user's active jobs, and paths to saved eventlogs.",
        "        compopt -o filenames 2>/dev/null",
        '        COMPREPLY=($(compgen -W "$(_fluxout_jobids)" -- "$cur")',
        '            $(compgen -f -- "$cur"))',
        "    fi",
        "    if [[ -n $prefix ]]; then",
        '        COMPREPLY=("${COMPREPLY[@]/#/$prefix}")',
        "    fi",
        "    return 0",
        "}",
        "",
        f"complete -F _fluxout {PROG}",
    ]
    return "\n".join(out) + "\n"


def _zsh_quote(text: str) -> str:
    return text.replace("'", "'\\''")


def _zsh_desc(text: str) -> str:
    """Text inside an _arguments [description]."""
    out = _first_sentence(text)
    for ch in "\\[]:":
        out = out.replace(ch, "\\" + ch)
    return _zsh_quote(out)


def _zsh_action(kind: str, values: Sequence[str]) -> str:
    if kind == "choice":
        return "(" + " ".join(values) + ")"
    if kind == "file":
        return "_files"
    if kind == "dir":
        return "_files -/"
    if kind == "job":
        return "_fluxout_job"
    return " "


def _zsh_spec(opt: Opt) -> str:
    """One _arguments spec (two, by brace expansion, for an option with aliases)."""
    desc = _zsh_desc(opt.help)
    if opt.long in ("--help", "--version"):
        excl = "(- *)"
    elif opt.repeatable:
        excl = "*"
    elif len(opt.names) > 1:
        excl = "(" + " ".join(opt.names) + ")"
    else:
        excl = ""
    if opt.metavar is None:
        forms = list(opt.names)
        tail = f"[{desc}]"
    else:
        long_sep, short_sep, colons = ("=-", "-", "::") if opt.value_optional else ("=", "+", ":")
        forms = [n + (long_sep if n.startswith("--") else short_sep) for n in opt.names]
        # The message zsh shows over the values: the metavar, or for a
        # choice (whose metavar lists the values) the option's name.
        label = opt.long.lstrip("-") if opt.choice else opt.metavar.lower()
        msg = _zsh_quote(label.replace(":", "\\:"))
        tail = f"[{desc}]{colons}{msg}:{_zsh_action(opt.kind, opt.values)}"
    if len(forms) == 1:
        return f"'{excl}{forms[0]}{tail}'"
    return f"'{excl}'{{{','.join(forms)}}}'{tail}'"


def zsh_completion(top: Cmd, subs: Sequence[Cmd]) -> str:
    out = ["#compdef fluxout"]
    out += _header_comment(
        "zsh",
        "Install as _fluxout in a directory of $fpath, or source it after compinit.",
    )
    out += [
        "",
        "_fluxout_jobids() {",
        "  # The user's active jobs, when flux is here and answers quickly.",
        "  (( $+commands[flux] )) || return 1",
        "  local -a ids",
        "  if (( $+commands[timeout] )); then",
        f'    ids=(${{(f)"$(timeout {JOBIDS_TIMEOUT} {JOBIDS_COMMAND} 2>/dev/null)"}})',
        "  else",
        f'    ids=(${{(f)"$({JOBIDS_COMMAND} 2>/dev/null)"}})',
        "  fi",
        "  (( $#ids )) || return 1",
        '  compadd -- "${ids[@]}"',
        "}",
        "",
        "_fluxout_job() {",
        "  _alternative 'jobids:active job:_fluxout_jobids' 'files:eventlog:_files'",
        "}",
    ]
    for sub in subs:
        out += ["", f"_fluxout_{sub.name}() {{", "  _arguments -s -S \\"]
        specs = [_zsh_spec(o) for o in sub.options]
        for arg in sub.arguments:
            star = "*" if arg.metavar.endswith("...") else ""
            msg = arg.metavar.rstrip(".").lower()
            specs.append(f"'{star}:{msg}:{_zsh_action(arg.kind, ())}'")
        out += [f"    {s} \\" for s in specs[:-1]] + [f"    {specs[-1]}", "}"]
    out += [
        "",
        "_fluxout() {",
        "  local curcontext=$curcontext state line ret=1",
        "  typeset -A opt_args",
        "  _arguments -C \\",
        *[f"    {_zsh_spec(o)} \\" for o in top.options],
        "    '1:command:->command' \\",
        "    '*::argument:->argument' && ret=0",
        "  case $state in",
        "  command)",
        "    local -a commands=(",
        *[f"      '{s.name}:{_zsh_quote(s.short)}'" for s in subs],
        "    )",
        "    _describe -t commands 'fluxout command' commands && ret=0",
        "    ;;",
        "  argument)",
        "    curcontext=${curcontext%:*:*}:fluxout-$words[1]:",
        "    case $words[1] in",
        *[f"    {s.name}) _fluxout_{s.name} && ret=0 ;;" for s in subs],
        "    esac",
        "    ;;",
        "  esac",
        "  return ret",
        "}",
        "",
        "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then",
        "  # autoloaded from $fpath: complete now",
        '  _fluxout "$@"',
        "else",
        "  # sourced: register for later",
        "  compdef _fluxout fluxout",
        "fi",
    ]
    return "\n".join(out) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_completion(top: Cmd, subs: Sequence[Cmd]) -> str:
    names = " ".join(s.name for s in subs)
    out = _header_comment(
        "fish",
        "Install as share/fish/vendor_completions.d/fluxout.fish, or source it.",
    )
    out += [
        "",
        "function __fluxout_jobids --description 'The active Flux jobs of the user'",
        "    command -q flux; or return 0",
        "    if command -q timeout",
        f"        timeout {JOBIDS_TIMEOUT} {JOBIDS_COMMAND} 2>/dev/null",
        "    else",
        f"        {JOBIDS_COMMAND} 2>/dev/null",
        "    end",
        "end",
        "",
        f"complete -c {PROG} -f",
    ]

    def option(cond: str, opt: Opt) -> str:
        parts = [f"complete -c {PROG} -n {_fish_quote(cond)}"]
        for n in opt.names:
            if n.startswith("--"):
                parts.append(f"-l {n[2:]}")
            elif len(n) == 2:
                parts.append(f"-s {n[1]}")
            else:
                parts.append(f"-o {n[1:]}")
        if opt.metavar is not None:
            if not opt.value_optional:
                parts.append("-r")
            if opt.kind == "choice":
                parts.append("-f -a " + _fish_quote(" ".join(opt.values)))
            elif opt.kind == "file":
                parts.append("-F")
            elif opt.kind == "dir":
                parts.append("-f -a '(__fish_complete_directories)'")
            else:
                parts.append("-f")
        parts.append("-d " + _fish_quote(_first_sentence(opt.help)))
        return " ".join(parts)

    start = f"not __fish_seen_subcommand_from {names}"
    out += [option(start, o) for o in top.options]
    for sub in subs:
        out.append(
            f"complete -c {PROG} -n {_fish_quote(start)} -a {sub.name} -d {_fish_quote(sub.short)}"
        )
    for sub in subs:
        cond = f"__fish_seen_subcommand_from {sub.name}"
        out += ["", f"# {PROG} {sub.name}"]
        # Arguments: not where an option is being typed (--color=...).
        arg_cond = _fish_quote(f'{cond}; and not string match -q -- "-*" (commandline -ct)')
        for arg in sub.arguments:
            if arg.kind == "job":
                jobids = "'(__fluxout_jobids)'"
                out.append(f"complete -c {PROG} -n {arg_cond} -F -a {jobids}")
            elif arg.kind in ("file", "dir"):
                out.append(f"complete -c {PROG} -n {arg_cond} -F")
        out += [option(cond, o) for o in sub.options]
    return "\n".join(out) + "\n"


def completions() -> dict[str, str]:
    """File name -> script, for bash, zsh and fish."""
    top, subs = program()
    return {
        "fluxout.bash": bash_completion(top, subs),
        "_fluxout": zsh_completion(top, subs),
        "fluxout.fish": fish_completion(top, subs),
    }


# -- writing -----------------------------------------------------------------------


def _sync(directory: Path, files: dict[str, str], stale: str | None, check: bool) -> list[Path]:
    """Write files that differ (unless check); return the paths that differ."""
    changed: list[Path] = []
    if not check:
        directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            changed.append(path)
            if not check:
                path.write_text(text, encoding="utf-8")
    if stale is not None and directory.is_dir():
        for path in sorted(directory.glob(stale)):
            if path.name not in files:
                changed.append(path)
                if not check:
                    path.unlink()
    return changed


def write(mandir: Path, compdir: Path | None, check: bool = False) -> list[Path]:
    """Generate the pages into mandir and the completions into compdir."""
    changed = _sync(mandir, man_pages(), f"{PROG}*.1", check)
    if compdir is not None:
        changed += _sync(compdir, completions(), None, check)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/manpage.py",
        description="Generate fluxout's man pages and shell completions.",
    )
    parser.add_argument("mandir", type=Path, help="where the man pages go (man/)")
    parser.add_argument(
        "--completions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the completions go (default: MANDIR/../completions)",
    )
    parser.add_argument("--no-completions", action="store_true", help="write the man pages only")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the files that differ and exit 1 if any",
    )
    args = parser.parse_args(argv)
    mandir: Path = args.mandir
    compdir: Path | None = None
    if not args.no_completions:
        compdir = args.completions or mandir.resolve().parent / "completions"
    changed = write(mandir, compdir, check=args.check)
    for path in changed:
        print(f"{'differs' if args.check else 'wrote'}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
