"""The command line: Click options -> a Request -> one call into the core.

This is the only module that imports click. Exit statuses are decided in
one place, fluxout.exit: ``main`` hands it the Click group to run and the
statuses of Click's own exceptions (usage errors 2).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fluxout import __version__
from fluxout.exit import ExitStatus, Streams, error_line, run_main
from fluxout.idset import IdSet, IdsetError, parse_task_filter

if TYPE_CHECKING:
    from fluxout.render.terminal import Terminal
    from fluxout.watch import Request

F = TypeVar("F", bound=Callable[..., Any])


def bundle(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Several Click options as one decorator, so commands share them."""

    def apply(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


# Shell log levels as the job shell uses them (RFC 5424 severities, with
# flux-shell's TRACE at 7); -L accepts these names or 0-7.
LOG_LEVELS = {
    "fatal": 0,
    "emerg": 0,
    "alert": 1,
    "crit": 2,
    "error": 3,
    "err": 3,
    "warn": 4,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 6,
    "trace": 7,
}

EPILOG = (
    "JOB is a Flux jobid (ƒ2BC, f2BC, decimal, 0x hex, dothex, kvs path or "
    "mnemonic words), a saved output eventlog, a directory holding "
    "output.eventlog / eventlog / exec.eventlog, or - for stdin. An "
    "existing file or directory is always read as a path; ./NAME forces one."
)

CONTEXT = {"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "FLUXOUT"}


class TasksType(click.ParamType["IdSet | None"]):
    """An RFC 22 idset of task ranks, or ``all``."""

    name = "IDSET"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, IdSet):
            return value
        try:
            return parse_task_filter(str(value))
        except IdsetError as exc:
            self.fail(str(exc), param, ctx)


class HostlistType(click.ParamType["tuple[str, ...]"]):
    """An RFC 29 hostlist (node[1-4,7]): the hosts it names."""

    name = "HOSTLIST"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        from fluxout.hostlist import HostlistError, expand

        try:
            hosts = tuple(expand(str(value)))
        except HostlistError as exc:
            self.fail(str(exc), param, ctx)
        if not hosts:
            self.fail("the hostlist names no host", param, ctx)
        return hosts


class LogLevelType(click.ParamType[int]):
    name = "LEVEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text.isdigit() and 0 <= int(text) <= 7:
            return int(text)
        if text in LOG_LEVELS:
            return LOG_LEVELS[text]
        self.fail(
            f"{value!r} is not a log level (0-7 or one of {', '.join(LOG_LEVELS)})",
            param,
            ctx,
        )


class JobArgType(click.ParamType[str]):
    """A jobid, a path or ``-``. A missing file is not a usage error: it is
    that job's runtime error, and the other jobs are still shown."""

    name = "JOB"


def _read_once(
    ctx: click.Context, param: click.Parameter, jobs: tuple[str, ...]
) -> tuple[str, ...]:
    """Refuse stdin, or one pipe, named twice: two readers would share its lines."""
    seen: set[tuple[int, int]] = set()
    for job in jobs:
        pipe = _pipe_identity(job)
        if pipe is None:
            continue
        if pipe in seen:
            what = "stdin" if job == "-" else repr(job)
            raise click.BadParameter(f"{what} can be read only once", ctx, param)
        seen.add(pipe)
    return jobs


def _pipe_identity(job: str) -> tuple[int, int] | None:
    """(device, inode) of a JOB that is read as a stream, or None."""
    if job == "-":
        return (-1, 0)  # whatever stdin is, it is read once
    from fluxout.sources.target import is_path_argument

    if not is_path_argument(job):
        return None
    try:
        st = os.stat(job)
    except OSError:
        return None
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return (st.st_dev, st.st_ino)
    return None


class SplitDirType(click.Path):
    """--split DIR: a directory, never the empty string (that meant ./JOB)."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, Path) and not os.fsdecode(value):
            self.fail("the directory must not be empty", param, ctx)
        return super().convert(value, param, ctx)


def _environment(ctx: click.Context) -> Mapping[str, str]:
    """The environment options are read from: the injected terminal's, or
    the process's."""
    terminal = ctx.find_root().obj
    return terminal.env if terminal is not None else os.environ


class EnvOption(click.Option):
    """An option whose environment variable is looked up in the terminal's
    environment (tests inject one), not always in ``os.environ``."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        names = [self.envvar] if isinstance(self.envvar, str) else list(self.envvar or ())
        if self.allow_from_autoenv and ctx.auto_envvar_prefix is not None and self.name:
            names.append(f"{ctx.auto_envvar_prefix}_{self.name.upper()}")
        env = _environment(ctx)
        return next((env[n] for n in names if env.get(n)), None)


class Command(click.Command):
    """A command whose bare ``--timestamps`` or ``--color`` never takes JOB
    as its value: the next word is their value only if it is one of their
    choices (Click would take any word that does not start with ``-``).
    Its options read the terminal's environment (EnvOption)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is click.Option:
                param.__class__ = EnvOption  # only a method differs: no new state

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, _attach_optional_values(self.params, args))
        except click.BadParameter as exc:
            _blame_the_variable(ctx, exc)
            raise


def _blame_the_variable(ctx: click.Context, exc: click.BadParameter) -> None:
    """A bad value that came from the environment names its variable, since
    the user typed no such option."""
    param = exc.param
    variable = _variable(ctx, param) if param is not None else None
    if param is not None and variable is not None:
        exc.param_hint = f"{variable} (for {param.get_error_hint(ctx)})"


def _variable(ctx: click.Context, param: click.Parameter) -> str | None:
    """The environment variable that gave a parameter its value, if one did."""
    if param.name is None:
        return None
    if ctx.get_parameter_source(param.name) is not click.core.ParameterSource.ENVIRONMENT:
        return None
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    if ctx.auto_envvar_prefix:
        names.append(f"{ctx.auto_envvar_prefix}_{param.name.upper()}")
    env = _environment(ctx)
    return next((n for n in names if env.get(n)), None)


def _attach_optional_values(params: list[click.Parameter], args: list[str]) -> list[str]:
    """``--timestamps JOB`` -> ``--timestamps=abs JOB``; ``--timestamps rel``
    stays. The value of an option that takes one is skipped over, so
    ``--grep --timestamps`` still greps for "--timestamps"."""
    optional: dict[str, click.Option] = {}
    takes_value: set[str] = set()
    for p in params:
        if not isinstance(p, click.Option) or p.is_flag or p.count:
            continue
        # Click's own mark for "the value may be omitted" (flag_value given).
        if getattr(p, "_flag_needs_value", False):
            optional.update((name, p) for name in p.opts if name.startswith("--"))
        else:
            takes_value.update(p.opts)
    out: list[str] = []
    words = iter(args)
    for word in words:
        out.append(word)
        if word == "--":
            out.extend(words)
            break
        if word in optional:
            choices = getattr(optional[word].type, "choices", ())
            following = next(words, None)
            if following is None or following not in choices:
                out[-1] = f"{word}={optional[word].flag_value}"
            if following is not None:
                out.append(following)
        elif word in takes_value or _cluster_wants_next(word, takes_value):
            following = next(words, None)
            if following is not None:
                out.append(following)
    return out


def _cluster_wants_next(word: str, takes_value: set[str]) -> bool:
    """``-lt``: a cluster of short options whose last one takes the next word."""
    if word.startswith("--") or not word.startswith("-") or len(word) < 2:
        return False
    for i, letter in enumerate(word[1:], 1):
        if f"-{letter}" in takes_value:
            return i == len(word) - 1  # else the rest of the word is its value
    return False


# Options shared by the commands that show job output.
# Which tasks and streams: every command that reads job output (stats too).
task_options = bundle(
    click.option(
        "-t",
        "--tasks",
        type=TasksType(),
        default=None,
        help="Only these task ranks (an idset such as 0-3,7, in any order, or all).",
    ),
    click.option(
        "--stream",
        type=click.Choice(["stdout", "stderr", "all"]),
        default="all",
        show_default=True,
        help="Which output streams.",
    ),
)

output_options = bundle(
    task_options,
    click.option(
        "-L",
        "--log-level",
        type=LogLevelType(),
        default="trace",
        show_default=True,
        help="Show job shell log messages at or above LEVEL (name or 0-7).",
    ),
)


class TimeBoundType(click.ParamType[Any]):  # converts to fluxout.filters.TimeBound
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from fluxout.filters import FilterError, TimeBound, parse_time_bound

        if isinstance(value, TimeBound):
            return value
        try:
            return parse_time_bound(str(value))
        except FilterError as exc:
            self.fail(str(exc), param, ctx)


class RegexType(click.ParamType[re.Pattern[bytes]]):
    name = "REGEX"
    # From the environment, one regex per line: a space is part of a regex.
    envvar_list_splitter = "\n"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from fluxout.filters import FilterError, compile_regex

        if not isinstance(value, str):
            return value
        try:
            return compile_regex(value)
        except FilterError as exc:
            self.fail(str(exc), param, ctx)


# Per-line filters and decorations (they make fluxout assemble lines).
line_options = bundle(
    click.option(
        "--timestamps",
        type=click.Choice(["abs", "rel", "delta"]),
        is_flag=False,
        flag_value="abs",
        default=None,
        help="Prefix each line with its time (lines: the time column): abs "
        "(local date and time), rel (seconds since the job started) or delta "
        "(since the line before). Bare --timestamps: abs.",
    ),
    click.option(
        "--head",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Only the first N lines of each task (per stream); with --tail, "
        "the first N and the last ones, each line once.",
    ),
    click.option(
        "--tail",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Only the last N lines of each task (per stream); when "
        "following, then the new lines as they come.",
    ),
    click.option(
        "--since",
        type=TimeBoundType(),
        default=None,
        help="Only lines written from TIME on: a duration after job start "
        "(30s, 2m, 1h30m) or an absolute time (2026-11-25T10:00:00, "
        "10:00:00, @EPOCH).",
    ),
    click.option(
        "--until",
        type=TimeBoundType(),
        default=None,
        help="Only lines written up to TIME (same forms as --since).",
    ),
    click.option(
        "--grep",
        "--include",
        "include",
        envvar="FLUXOUT_GREP",
        type=RegexType(),
        multiple=True,
        help="Only lines matching REGEX (repeatable: any of them).",
    ),
    click.option(
        "--exclude",
        type=RegexType(),
        multiple=True,
        help="Drop lines matching REGEX (repeatable).",
    ),
)


# Where tasks ran: select them by host (cat, follow, lines).
host_options = bundle(
    click.option(
        "--hosts",
        type=HostlistType(),
        default=None,
        help="Only the tasks that ran on these hosts (a hostlist such as "
        "node[2-3]); with -t, the tasks in both. Needs the job's R, as --label-by host.",
    ),
)


# Options of the commands that show job output as a terminal would.
show_options = bundle(
    click.option(
        "--highlight",
        type=RegexType(),
        multiple=True,
        help="Colour matches of REGEX on a terminal (the bytes are "
        "never changed in a pipe; repeatable).",
    ),
    click.option(
        "--coalesce/--no-coalesce",
        is_flag=True,
        help="Show identical output of several tasks once, under the "
        "rank set that wrote it (as dshbak -c). cat compares each task's "
        "whole output (its block names the stream too, on a terminal that "
        "shows both), follow the n-th line of every task. Not with -l or "
        "--timestamps: the ranks are shown already.",
    ),
    click.option(
        "--split",
        type=SplitDirType(),
        default=None,
        metavar="DIR",
        help="Write each task's stdout and stderr to DIR/JOB/RANK.out and "
        ".err instead (as srun --output=%t); with line filters (--grep, "
        "--head, --since...), the lines that pass them. A job directory that "
        "is not empty is refused; symlinks below DIR are never followed.",
    ),
    click.option(
        "--force/--no-force",
        is_flag=True,
        help="With --split: replace the files of an existing job directory.",
    ),
)


# Options of the commands that show job output (cat, follow, lines).
redirect_options = bundle(
    click.option(
        "--redirected/--no-redirected",
        is_flag=True,
        default=True,
        show_default=True,
        help="Read the files a job's output was redirected to (flux run "
        "--output=FILE), where they can be read from here, as that "
        "output; a note on stderr names each file. --no-redirected: only "
        "say where the output went, as flux job attach does.",
    ),
)


class FilterType(click.ParamType[frozenset[str]]):
    """-f STATE|RESULT[,...]: flux jobs' state and result names."""

    name = "STATE|RESULT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from fluxout.selection import SelectionError, parse_filters

        if isinstance(value, frozenset):
            return value
        try:
            return parse_filters([str(value)])
        except SelectionError as exc:
            self.fail(str(exc), param, ctx)


class WhenType(click.ParamType[float]):
    """--jobs-since WHEN: an epoch time."""

    name = "WHEN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from fluxout.selection import SelectionError, parse_when

        if isinstance(value, float):
            return value
        try:
            return parse_when(str(value))
        except SelectionError as exc:
            self.fail(str(exc), param, ctx)


class NameRegexType(click.ParamType[re.Pattern[str]]):
    name = "REGEX"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, re.Pattern):
            return value
        try:
            return re.compile(str(value))
        except re.error as exc:
            self.fail(f"invalid regular expression {value!r}: {exc}", param, ctx)


class InstanceJobType(click.ParamType[str]):
    """--in JOBID: a jobid, or a jobid path ƒA/ƒB."""

    name = "JOBID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from fluxout.jobid import is_jobid
        from fluxout.nested import parse_jobid_path

        text = str(value)
        if is_jobid(text) or parse_jobid_path(text) is not None:
            return text
        self.fail(f"{text!r} is not a jobid or a jobid path (ƒA/ƒB)", param, ctx)


def selection_options(filter_short: bool) -> Callable[[F], F]:
    """Options that select jobs, as flux watch and flux jobs do (``-f`` is
    events' and lines' --follow: there --filter has no short form)."""
    filter_names = ("-f", "--filter") if filter_short else ("--filter",)
    return bundle(
        click.option(
            "-a",
            "--active",
            is_flag=True,
            help="Select the active jobs (pending and running), as flux watch -a.",
        ),
        click.option(
            "-A",
            "--all",
            "all_",
            is_flag=True,
            help="Select jobs in every state, inactive ones included, as flux watch -A.",
        ),
        click.option(
            *filter_names,
            "filters",
            type=FilterType(),
            multiple=True,
            help="Select jobs in these states or with these results (pending, "
            "running, inactive, run, sched..., completed, failed, canceled, "
            "timeout; a comma list, repeatable), as flux jobs -f.",
        ),
        click.option(
            "--jobs-since",
            type=WhenType(),
            default=None,
            help="Select jobs active, or inactive since WHEN (a duration ago: "
            "1h, 30m; 2026-11-25T10:00:00, 10:00:00, @EPOCH), as flux jobs "
            "--since (which is --since here for lines); alone, implies -A.",
        ),
        click.option(
            "-c",
            "--count",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="Select at most N jobs (the most recent; default 1000, as flux jobs).",
        ),
        click.option(
            "--user",
            default=None,
            metavar="USER|all",
            help="Select the jobs of USER (a name or uid), or of all users [default: yours].",
        ),
        click.option(
            "--name",
            type=NameRegexType(),
            default=None,
            help="Select the jobs whose name matches REGEX (searched, as flux pgrep).",
        ),
        click.option(
            "--queue",
            "queues",
            multiple=True,
            metavar="QUEUE",
            help="Select the jobs of QUEUE (a comma list, repeatable).",
        ),
        click.option(
            "--in",
            "within",
            type=InstanceJobType(),
            default=None,
            help="Select among the jobs of the instance job JOBID runs (a flux "
            "batch or alloc job; a jobid path ƒA/ƒB goes deeper). Selected "
            "jobs are named ƒA/ƒX.",
        ),
    )


summary_option = click.option(
    "--summary",
    type=click.Choice(["auto", "always", "never", "json"]),
    default="auto",
    show_default=True,
    help="With several jobs, a summary at the end on stderr: counts by result "
    "and the jobs that failed (a table on a terminal; json: one JSON object). "
    "auto: for jobs of a selection, or several on a terminal.",
)


# Options every command has.
common_options = bundle(
    click.argument(
        "jobs", nargs=-1, required=False, type=JobArgType(), metavar="[JOB]...", callback=_read_once
    ),
    click.option(
        "--color",
        "--colour",
        "color",
        envvar="FLUXOUT_COLOR",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        is_flag=False,
        flag_value="always",
        show_default=True,
        help="Colour fluxout's labels and messages (bare --color: always). "
        "auto honours NO_COLOR and FORCE_COLOR.",
    ),
    click.option(
        "--uri",
        envvar="FLUX_URI",
        default=None,
        help="Flux instance to read jobs from [default: $FLUX_URI].",
    ),
    click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks."),
)


label_options = bundle(
    click.option(
        "-l",
        "--label/--no-label",
        is_flag=True,
        help="Prefix each line with its task rank, 'R: '.",
    ),
    click.option(
        "--label-by",
        type=click.Choice(["rank", "host", "host-rank"]),
        default=None,
        help="What labels name: the task's rank ('3: '), the host it ran on "
        "('node12: ') or both ('node12[3]: '); implies -l. With --coalesce, "
        "the blocks are of hosts; with --split, the files are DIR/JOB/HOST.out. "
        "Hosts need the job's R (a saved job: the file R beside its eventlogs).",
    ),
    click.option(
        "-u",
        "--unbuffered/--no-unbuffered",
        is_flag=True,
        help="Write data as it arrives, without assembling lines "
        "(with -l, labels each write as flux job attach -l does); "
        "the line options do not go with it.",
    ),
)


# flux job attach's options for what is told of the job's life (follow, cat).
attach_options = bundle(
    click.option(
        "-E",
        "--show-events/--no-show-events",
        is_flag=True,
        help="Show the job's main eventlog events on stderr, as flux job attach -E.",
    ),
    click.option(
        "-X",
        "--show-exec/--no-show-exec",
        is_flag=True,
        help="Show the job's exec eventlog events on stderr, as flux job attach -X.",
    ),
    click.option(
        "-w",
        "--wait-event",
        default="clean",
        show_default=True,
        metavar="NAME",
        help="Read the main eventlog up to event NAME, as flux job attach -w: "
        "no events, exceptions or exit status after it (status 1 when the job "
        "had not finished by then); the output is still followed to its end.",
    ),
    click.option(
        "-v",
        "--verbose/--no-verbose",
        is_flag=True,
        help="Show the source file and line of job shell log messages.",
    ),
    click.option(
        "-q",
        "--quiet/--no-quiet",
        is_flag=True,
        help="No job shell log messages, redirect notices or exec log "
        "prefixes, as flux job attach -q (exceptions and errors are still shown).",
    ),
    click.option(
        "--show-status/--no-show-status",
        is_flag=True,
        help="Show the status line of a pending job at once, even when not "
        "on a terminal (on a terminal it shows after 2 s).",
    ),
)


# flux watch's bar of the jobs done (cat, follow).
progress_options = bundle(
    click.option(
        "--progress/--no-progress",
        is_flag=True,
        help="Show a bar of the jobs done of all, and failed, at the bottom of "
        "the terminal, with the elapsed time, as flux watch --progress "
        "(only when stderr is a terminal; elsewhere it does nothing).",
    ),
    click.option(
        "--jps/--no-jps",
        is_flag=True,
        help="With --progress: show the jobs done per second instead of the elapsed time.",
    ),
)


def _check_template(value: str | None) -> str | None:
    if value is None:
        return None
    from fluxout.render.records import TemplateError, compile_template

    try:
        compile_template(value)
    except TemplateError as exc:
        raise click.BadParameter(str(exc), param_hint="'--format'") from None
    return value


def _streams(value: str) -> frozenset[str]:
    return frozenset(("stdout", "stderr")) if value == "all" else frozenset((value,))


def _request(command: str, jobs: tuple[str, ...], **kw: Any) -> Request:
    # The core is imported only when a command runs, so --help stays fast.
    from fluxout.plan import conflict
    from fluxout.watch import Request

    select = _selection(kw)
    request = Request(command, list(jobs), select=select, **kw)
    why = conflict(request)
    if why is not None:  # two options that cannot be used together
        ctx = click.get_current_context()
        raise click.UsageError(why.message(lambda option: _spelled(ctx, option)), ctx)
    return request


def _selection(kw: dict[str, Any]) -> Any:  # a fluxout.selection.Selection
    """The selection options, taken out of ``kw``; a usage error when
    there is neither a JOB nor a selection."""
    from fluxout.selection import Selection

    queues = tuple(q.strip() for v in kw.pop("queues", ()) for q in v.split(",") if q.strip())
    select = Selection(
        active=kw.pop("active", False),
        all=kw.pop("all_", False),
        filters=frozenset().union(*kw.pop("filters", ())),
        since=kw.pop("jobs_since", None),
        count=kw.pop("count", None),
        user=kw.pop("user", None),
        name=kw.pop("name", None),
        queues=queues,
        within=kw.pop("within", None),
        new=kw.pop("new", False),
    )
    ctx = click.get_current_context()
    if select.user is not None:
        from fluxout.selection import SelectionError, userid_of

        try:
            userid_of(select.user)
        except SelectionError as exc:
            raise click.BadParameter(str(exc), ctx, param_hint="'--user'") from None
    if not ctx.params.get("jobs") and not select.given:
        raise click.UsageError(
            "no JOB: name one, or select jobs (-a, -A, --filter, --name, --in and more)", ctx
        )
    return select


# The parameter behind each option a Conflict names.
PARAMETERS = {
    "-l": "label",
    "-u": "unbuffered",
    "--timestamps": "timestamps",
    "--head": "head",
    "--tail": "tail",
    "--since": "since",
    "--until": "until",
    "--grep": "include",
    "--exclude": "exclude",
    "--highlight": "highlight",
    "--coalesce": "coalesce",
    "--split": "split",
    "--force": "force",
    "--json": "json_",
    "--format": "template",
    "-t": "tasks",
    "--stream": "stream",
    "-L": "log_level",
    "-q": "quiet",
    "-v": "verbose",
    "--label-by": "label_by",
    "--hosts": "hosts",
    "--progress": "progress",
    "--jps": "jps",
}


def _spelled(ctx: click.Context, option: str) -> str:
    """An option as the user gave it: by its name, or by the environment
    variable that set it (they typed no such option)."""
    param = next((p for p in ctx.command.params if p.name == PARAMETERS.get(option)), None)
    variable = _variable(ctx, param) if param is not None else None
    return f"{variable} (for {option})" if variable is not None else option


def _run(request: Request) -> None:
    """Run the request on the injected terminal (or the process's) and
    leave with its exit status (via main)."""
    from fluxout.watch import run

    raise SystemExit(run(request, click.get_current_context().find_root().obj))


@click.group(context_settings=CONTEXT, epilog=EPILOG)
@click.version_option(__version__, "-V", "--version", prog_name="fluxout", allow_from_autoenv=False)
def cli() -> None:
    """Read and follow the output and events of Flux jobs.

    Byte-exact, fast, coloured per task on a terminal, clean in pipes, and
    able to read a saved eventlog with no Flux instance at all.
    """


@cli.command(cls=Command, epilog=EPILOG)
@common_options
@output_options
@host_options
@label_options
@line_options
@show_options
@attach_options
@redirect_options
@selection_options(filter_short=True)
@summary_option
@progress_options
@click.option(
    "--wait/--no-wait", is_flag=True, help="Wait for the job to finish; exit with its status."
)
def cat(jobs: tuple[str, ...], stream: str, wait: bool, **kw: Any) -> None:
    """Print the output a job has so far, then exit."""
    for name, option in (("wait_event", "-w"), ("show_status", "--show-status")):
        if not wait and _given(name):
            raise click.UsageError(
                f"{option} is for a job waited for: it cannot be used without --wait"
            )
    _run(
        _request("cat", jobs, streams=_streams(stream), follow=wait, **_label_by(kw)),
    )


def _label_by(kw: dict[str, Any]) -> dict[str, Any]:
    """--label-by implies -l, except where the blocks (--coalesce) or the
    files (--split) name the tasks themselves."""
    if kw.get("label_by") is not None and not kw.get("coalesce") and kw.get("split") is None:
        kw["label"] = True
    return kw


def _given(name: str) -> bool:
    """Whether the user set parameter ``name`` (on the command line or in the environment)."""
    source = click.get_current_context().get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT)


class DurationType(click.ParamType[float]):
    """A duration: 30s, 2m, 1h30m, 250ms, or seconds (1.5); more than 0."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from fluxout.filters import FilterError, parse_duration

        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(str(value))
        except FilterError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} is not a duration of more than 0", param, ctx)
        return seconds


@cli.command(cls=Command, epilog=EPILOG)
@common_options
@output_options
@host_options
@label_options
@line_options
@show_options
@attach_options
@redirect_options
@selection_options(filter_short=True)
@summary_option
@click.option(
    "--new/--no-new",
    is_flag=True,
    help="Follow matching jobs submitted later too, until Ctrl-C (the "
    "instance is asked every second); alone, selects the active jobs.",
)
@progress_options
@click.option(
    "--stall",
    type=DurationType(),
    default=None,
    help="Warn on stderr when a task writes nothing for DURATION (30s, 2m, "
    "1.5) while others still write, and when it resumes; on a terminal the "
    "status line names the stalled tasks. Finished tasks are never stalled.",
)
def follow(jobs: tuple[str, ...], stream: str, **kw: Any) -> None:
    """Stream a job's output live until it is complete; exit with the job's status.

    The exit status is the one flux job attach gives. fluxout only reads:
    it never reads stdin, sends the job input or signals it (as attach -r).
    Ctrl-C detaches (status 130): it never cancels the job. A pending job's
    status line shows after 2 s on a terminal, as attach's. A saved job
    whose files lack its end is followed as tail -f does, until they hold
    it; on a terminal a status line says what they lack.
    """
    _run(
        _request("follow", jobs, streams=_streams(stream), follow=True, **_label_by(kw)),
    )


@cli.command(cls=Command, epilog=EPILOG)
@common_options
@output_options
@click.option(
    "--json/--no-json",
    "json_",
    envvar="FLUXOUT_JSON",
    is_flag=True,
    help="JSON Lines, one object per event.",
)
@click.option(
    "--eventlog",
    "eventlogs",
    envvar="FLUXOUT_EVENTS_EVENTLOG",
    type=click.Choice(["main", "exec", "output", "all"]),
    multiple=True,
    default=("all",),
    show_default=True,
    help="Which eventlogs (repeatable).",
)
@click.option(
    "-f",
    "--follow/--no-follow",
    "follow_",
    envvar="FLUXOUT_FOLLOW",
    is_flag=True,
    help="Keep printing new events.",
)
@selection_options(filter_short=False)
def events(
    jobs: tuple[str, ...],
    stream: str,
    json_: bool,
    eventlogs: tuple[str, ...],
    follow_: bool,
    **kw: Any,
) -> None:
    """Print eventlog events (output, main, exec), merged by time.

    Times are seconds since the job's submit (the first event of its main
    eventlog), whichever eventlogs are shown; for a job read without its
    main eventlog, since the first event read.
    """
    chosen = frozenset(("main", "exec", "output")) if "all" in eventlogs else frozenset(eventlogs)
    _run(
        _request(
            "events",
            jobs,
            streams=_streams(stream),
            json=json_,
            eventlogs=chosen,
            follow=follow_,
            **kw,
        ),
    )


@cli.command(cls=Command, epilog=EPILOG)
@common_options
@output_options
@host_options
@line_options
@redirect_options
@click.option(
    "--json/--no-json",
    "json_",
    envvar="FLUXOUT_JSON",
    is_flag=True,
    help="JSON Lines, one object per line.",
)
@click.option(
    "--format",
    "template",
    envvar="FLUXOUT_LINES_FORMAT",
    default=None,
    metavar="TEMPLATE",
    callback=lambda ctx, param, value: _check_template(value),
    help="Write each line through TEMPLATE, with fields {job} {rank} {host} (where "
    "the task ran: needs the job's R, as --label-by host) {stream} "
    "{time} (seconds since the job's submit) {timestamp} {line} {eol}, each with an "
    "optional format spec as flux jobs --format takes ({rank:>4}); \\n and "
    "\\t are newline and tab.",
)
@click.option(
    "-f",
    "--follow/--no-follow",
    "follow_",
    envvar="FLUXOUT_FOLLOW",
    is_flag=True,
    help="Keep printing new lines.",
)
@selection_options(filter_short=False)
@summary_option
def lines(jobs: tuple[str, ...], stream: str, json_: bool, follow_: bool, **kw: Any) -> None:
    """One record per assembled line: time, rank, stream and text.

    Times are seconds since the job's submit, as in events (for a job read
    without its main eventlog, since the first event read).
    """
    _run(
        _request(
            "lines",
            jobs,
            streams=_streams(stream),
            json=json_,
            follow=follow_,
            **kw,
        ),
    )


@cli.command(cls=Command, epilog=EPILOG)
@common_options
@task_options
@click.option(
    "--json/--no-json",
    "json_",
    envvar="FLUXOUT_JSON",
    is_flag=True,
    help="JSON Lines, one object per task and stream.",
)
def stats(jobs: tuple[str, ...], stream: str, json_: bool, **kw: Any) -> None:
    """Per task and stream: lines, bytes, first and last output, exit status.

    One row per task and stream, with the task's exit status (from the
    exec eventlog's shell.task-exit, else the job's status, marked "(job)")
    and its host when known, and a sparkline of its output over the job's
    output time span, so a task that stopped writing early stands out.
    Times are seconds since the job's start. A table on a terminal (plain
    in a pipe), --json for scripts.
    """
    from fluxout.statsrun import run_stats
    from fluxout.watch import Request

    raise SystemExit(
        run_stats(
            Request("stats", list(jobs), streams=_streams(stream), json=json_, **kw),
            click.get_current_context().find_root().obj,
        )
    )


def main(argv: list[str] | None = None, terminal: Terminal | None = None) -> None:
    """Entry point: run the CLI; fluxout.exit maps every outcome to its status.

    ``terminal`` replaces the process's streams, their isatty and its
    environment (as httpie's MockEnvironment): tests run fluxout in-process
    on one, and nothing is read from ``sys`` or ``os.environ`` instead.
    """
    if terminal is None:
        run_main(lambda args: _invoke(args, None), argv, _click_status)
    streams = Streams(terminal.stdout, terminal.stderr, terminal.stderr_tty)
    run_main(lambda args: _invoke(args, terminal), argv, _click_status, streams)


def _invoke(args: list[str], terminal: Terminal | None) -> None:
    # Not cli.main(): it turns a closed pipe into status 1 and Ctrl-C
    # into a blank line; fluxout.exit maps those outcomes itself.
    with cli.make_context("fluxout", args, obj=terminal) as ctx:
        cli.invoke(ctx)


# Bare `fluxout`: the help, as Click shows it (status 2).
_NoArgsIsHelp = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _usage_error(exc: click.UsageError) -> None:
    """One line, as every error of fluxout's, with where to look:
    ``fluxout: no such option '--nope' (see fluxout cat --help)``."""
    message = exc.format_message().rstrip(".").replace(". (Did you mean", " (did you mean")
    if message[1:2].islower():  # Click's capital, after "fluxout: " (not a NAME's)
        message = message[:1].lower() + message[1:]
    where = exc.ctx.command_path if exc.ctx is not None else "fluxout"
    error_line(f"{message} (see {where} --help)")


def _click_status(exc: Exception) -> int | None:
    """The status of one of Click's own outcomes (--help, --version, a
    usage error, an abort), or None for any other exception."""
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, click.UsageError) and not isinstance(exc, _NoArgsIsHelp):
        _usage_error(exc)
        return exc.exit_code
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, click.Abort):
        return ExitStatus.INTERRUPTED
    return None


__all__ = ["cli", "main"]
