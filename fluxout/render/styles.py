"""ANSI sequences for fluxout's own decorations, built once from rich styles.

rich is imported only here and only when colour is on: ``Style.render`` runs
once per distinct decoration, never per line of job output.
"""

from __future__ import annotations

from functools import cache

# Colours for task ranks: neighbours differ; red is kept for errors.
RANK_PALETTE = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_magenta",
)

STYLES = {
    "error": "bold red",
    "warning": "yellow",
    "exception": "bold red",
    "log": "dim",
    "log.error": "red",
    "log.warning": "yellow",
    "redirect": "dim",
    "status": "dim",
    "event": "blue",
    "time": "dim",
    "highlight": "bold reverse",
    "summary": "bold",
}

# Colours for job prefixes when several jobs are shown at once.
JOB_PALETTE = ("bold blue", "bold magenta", "bold cyan", "bold green", "bold yellow")


@cache
def ansi_codes(style: str) -> tuple[str, str]:
    """(start, end) ANSI sequences for a rich style string such as "bold cyan"."""
    from rich.color import ColorSystem
    from rich.style import Style

    marker = "\x00"
    rendered = Style.parse(style).render(marker, color_system=ColorSystem.STANDARD)
    start, _, end = rendered.partition(marker)
    return start, end


def rank_style(rank: int, stream: str) -> str:
    colour = RANK_PALETTE[rank % len(RANK_PALETTE)]
    # stderr labels are bold so the two streams of one task stay apart.
    return f"bold {colour}" if stream == "stderr" else colour


def paint(text: str, style: str, color: bool) -> str:
    if not color or not style:
        return text
    start, end = ansi_codes(style)
    return f"{start}{text}{end}"
