"""The output plan: which stages of the line pipeline a request runs, decided once.

The stages are: select tasks and streams, assemble lines, filter (--grep,
--exclude, --since, --until), --head/--tail, decorate (labels, timestamps,
the job's name, highlights), coalesce, split, encode (text, JSON records, a
template). A request's options either compose, each doing its stage, or
they cannot be used together: ``conflict`` says so in one line that names
both options, before anything runs. Everything after (the job pipeline, the
fast lane, the renderers) reads the ``Plan`` instead of deciding again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import Formatter
from typing import TYPE_CHECKING

from fluxout.job import ALL_STREAMS

if TYPE_CHECKING:
    from fluxout.watch import Request

# Options are named as the CLI spells them. Those that work on assembled lines:
LINE_OPTIONS = (
    "--timestamps",
    "--head",
    "--tail",
    "--since",
    "--until",
    "--grep",
    "--exclude",
    "--highlight",
    "--coalesce",
)

# An option that decides how output is written, what that is, and the
# options it leaves nothing to do for.
EXCLUSIVE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "--split",
        "writes each task's output to its own files",
        ("-u", "-l", "--timestamps", "--highlight", "--coalesce"),
    ),
    ("-u", "writes events, not lines", LINE_OPTIONS),
    # dshbak -c's headers: the block (cat) or line (follow) names its ranks.
    ("--coalesce", "names the ranks itself", ("-l", "--timestamps")),
    ("--format", "writes each line through its template", ("--json", "--timestamps")),
    ("--json", "writes each line's timestamp as a number", ("--timestamps",)),
    ("-q", "shows no job shell log messages", ("-L", "-v")),
)

# Options that select among output events (events: of the output eventlog).
OUTPUT_SELECTORS = ("-t", "--stream", "-L")


class PlanError(ValueError):
    """Options that cannot be used together (a usage error)."""


@dataclass(frozen=True)
class Conflict:
    """Two options that cannot be used together: ``option`` (which ``does``
    something) with ``other``, or, when ``needs``, without it."""

    option: str
    does: str
    other: str
    needs: bool = False

    def message(self, spelled: Callable[[str], str] = str) -> str:
        """In words; ``spelled`` names an option as the user gave it."""
        if self.needs:
            return f"{spelled(self.option)} {self.does}: it cannot be used without {self.other}"
        return f"{spelled(self.option)} {self.does}: it cannot be used with {spelled(self.other)}"


def given(req: Request) -> list[str]:
    """The options a request uses, as the CLI spells them (defaults left out)."""
    used = {
        "-l": req.label,
        "-u": req.unbuffered,
        "--timestamps": req.timestamps is not None,
        "--head": req.head is not None,
        "--tail": req.tail is not None,
        "--since": req.since is not None,
        "--until": req.until is not None,
        "--grep": bool(req.include),
        "--exclude": bool(req.exclude),
        "--highlight": bool(req.highlight),
        "--coalesce": req.coalesce,
        "--split": req.split is not None,
        "--force": req.force,
        "--json": req.json,
        "--format": req.template is not None,
        "-t": req.tasks is not None,
        "--stream": req.streams != ALL_STREAMS,
        "-L": req.log_level < 7,
        "-q": req.quiet,
        "-v": req.verbose,
        "--label-by": req.label_by is not None,
        "--hosts": req.hosts is not None,
        "--progress": req.progress,
        "--jps": req.jps,
    }
    return [option for option, on in used.items() if on]


def conflict(req: Request) -> Conflict | None:
    """Two of the request's options that cannot be used together, or None."""
    options = given(req)
    for option, does, others in EXCLUSIVE:
        if option in options:
            for other in options:
                if other in others:
                    return Conflict(option, does, other)
    if req.coalesce and req.label_by == "host-rank":
        return Conflict("--coalesce", "names the ranks or hosts itself", "--label-by host-rank")
    if req.force and req.split is None:
        return Conflict("--force", "replaces the files of --split", "--split", needs=True)
    if req.jps and not req.progress:
        return Conflict("--jps", "changes the bar of --progress", "--progress", needs=True)
    if req.command == "events" and "output" not in req.eventlogs:
        for option in OUTPUT_SELECTORS:
            if option in options:
                return Conflict(option, "selects output events", "--eventlog output", needs=True)
    return None


@dataclass(frozen=True)
class Plan:
    """How one request's output is made."""

    command: str  # cat, follow, events, lines
    # How job data is written: "raw" (the bytes as they came), "event"
    # (attach -l -u: each event labelled), "lines" (assembled, then
    # filtered and decorated), "split" (each task's bytes to its files),
    # "blocks" (each task's bytes, compared at the end: cat --coalesce).
    data: str
    # Which renderer encodes it: "events", "records" (lines), "split",
    # "coalesce" or "text".
    renderer: str
    # Whether the line filters run (--grep, --exclude, --since, --until,
    # --head, --tail).
    filters: bool
    # The fast lane the plain data events may take: "raw", "labelled"
    # (each line after a cached label), "text" (each line as it is: one
    # job, no label), "json" (lines --json), "blocks" (each task's text
    # gathered), or None: the careful path only. "labelled" and "text"
    # carry the line filters, and a timestamp kind after a colon
    # ("text:abs") when each line has its time before it.
    lane: str | None
    # Whether --highlight paints anything: only where there is colour, so
    # that in a pipe it changes no byte (and is no reason to assemble lines).
    highlight: bool = False

    @classmethod
    def of(cls, req: Request, several: bool, color: tuple[bool, bool] = (False, False)) -> Plan:
        """The plan of a request over one job (or several), given where
        there is colour (stdout, stderr); PlanError when its options cannot
        be used together."""
        why = conflict(req)
        if why is not None:
            raise PlanError(why.message())
        filters = req.filters().active
        highlight = bool(req.highlight) and any(color)
        renderer = _renderer(req)
        data = _data(req, several, filters, highlight)
        lane = _lane(req, data, renderer, filters, highlight, several, any(color))
        return cls(req.command, data, renderer, filters, lane, highlight)


def _renderer(req: Request) -> str:
    if req.command == "events":
        return "events"
    if req.command == "lines":
        return "records"
    if req.split is not None:
        return "split"
    return "coalesce" if req.coalesce else "text"


def _data(req: Request, several: bool, filters: bool, highlight: bool) -> str:
    if req.command == "events":
        return "events"
    if req.command == "lines":
        return "lines"
    by_host = req.label_by in ("host", "host-rank")
    if req.split is not None:
        # The split files hold the lines that pass the filters, or else
        # exactly the bytes each task wrote; a host's file, its tasks'
        # whole lines (two tasks never mix in mid-line).
        return "lines" if filters or by_host else "split"
    if req.unbuffered:
        return "event" if req.label else "raw"
    if req.coalesce and not req.follow and not filters and not by_host:
        # Whole outputs are compared: no line needs assembling (by host,
        # a host's tasks' lines are, so that they never mix in mid-line).
        return "blocks"
    decorated = req.label or req.timestamps or several or req.coalesce or highlight
    return "lines" if decorated or filters else "raw"


# The timestamps the lane writes itself (delta: the time since the last
# line shown, kept in the renderer, whose clock the lane shares).
LANE_TIMES = ("abs", "rel", "delta")


def _prefix_template(template: str) -> bool:
    """Whether a --format template is a task's text and then the line: it
    ends in {line} (no spec) and a newline, and names no time or host."""
    text = template.replace("\\n", "\n").replace("\\t", "\t")
    try:
        parts = list(Formatter().parse(text))
    except ValueError:
        return False  # the renderer says what is wrong with it
    tail = parts.pop()[0] if parts and parts[-1][1] is None else ""
    names = [name for _, name, _, _ in parts]
    return (
        tail in ("", "\n")
        and bool(parts)
        and parts[-1][1:] == ("line", "", None)
        and names.count("line") == 1
        and not {"time", "timestamp", "host"} & set(names)  # host: known late
    )


def _lane(
    req: Request,
    data: str,
    renderer: str,
    filters: bool,
    highlight: bool,
    several: bool,
    color: bool,
) -> str | None:
    if data in ("raw", "blocks"):
        return data
    if data != "lines":
        return None
    if renderer == "records":
        if req.template is not None:
            # The same text before each line of a task, then the line: the
            # labelled lane, the text before it as the task's label.
            return "labelled" if _prefix_template(req.template) else None
        plain = req.json and not filters
        return "json" if plain else None
    if renderer != "text" or highlight:
        return None
    times = req.timestamps
    if times is not None and (color or several or times not in LANE_TIMES):
        # The renderer paints the time or puts it after the job's name.
        return None
    if req.label:
        lane = "labelled"  # the job's name and the label before each line
    elif several:
        return None  # the job's name before each line: the careful path
    else:
        lane = "text"
    return lane if times is None else f"{lane}:{times}"
