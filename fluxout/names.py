"""Names of several jobs that never collide: in prefixes and --split directories.

Two saved directories both named ``hello`` (``a/hello`` and ``b/hello``)
are told apart as stern and kubectl tell pods apart: each is named by the
shortest suffix of its path that no other job's name shares (``a/hello``,
``b/hello``), and a job whose name is unique keeps its short name. A
``--split`` directory is one path component, so a suffix's parts are joined
with ``-`` there; a directory still the same after that (one job named twice,
a jobid beside a directory of the same name) is numbered ``.2``, ``.3``,
so that no job's files ever replace another's.

Pure: what a path argument is, is asked of ``fluxout.sources.target``.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JobName", "job_names"]


@dataclass(frozen=True)
class JobName:
    """How one JOB argument is named among the others."""

    prefix: str  # before each line of output ("a/hello"), without ": "
    directory: str  # its --split directory: one safe path component


def _parts(arg: str) -> list[str]:
    """The components a name is made of, last first: a path's, from its
    absolute form (so ``hello`` and ``x/hello`` can be told apart); a jobid
    (or a jobid path ``ƒA/ƒB``) is one name, as given."""
    from fluxout.sources.target import is_path_argument

    if arg == "-":
        return ["-"]
    if not is_path_argument(arg):
        return [arg]
    parts = [p for p in Path(os.path.abspath(arg)).parts if p not in ("/", "")]
    return list(reversed(parts)) or [arg]


def _suffixes(all_parts: list[list[str]]) -> list[str]:
    """The shortest distinguishing suffix of each, as ``a/hello``."""
    depth = [1] * len(all_parts)

    def name(i: int) -> str:
        return "/".join(reversed(all_parts[i][: depth[i]]))

    while True:
        counts = Counter(name(i) for i in range(len(all_parts)))
        grew = False
        for i in range(len(all_parts)):
            if counts[name(i)] > 1 and depth[i] < len(all_parts[i]):
                depth[i] += 1
                grew = True
        if not grew:
            return [name(i) for i in range(len(all_parts))]


def _numbered(names: list[str]) -> list[str]:
    """Names still the same are numbered from the second on: ``x``, ``x.2``."""
    taken = set(names)
    seen: Counter[str] = Counter()
    out: list[str] = []
    for name in names:
        seen[name] += 1
        if seen[name] == 1:
            out.append(name)
            continue
        n = seen[name]
        while f"{name}.{n}" in taken:
            n += 1
        taken.add(f"{name}.{n}")
        out.append(f"{name}.{n}")
    return out


def _component(name: str, arg: str) -> str:
    """One safe path component for a --split directory."""
    from fluxout.render.split import safe_component

    if arg == "-":
        return "stdin"
    flat = "-".join(p for p in name.split("/") if p)
    if safe_component(flat):
        return flat
    # ".", "..": name it by the directory it really is.
    flat = Path(arg).resolve().name
    return flat if safe_component(flat) else "job"


def job_names(args: list[str]) -> list[JobName]:
    """The name of each JOB argument, distinct from the others'."""
    if len(args) == 1:
        from fluxout.watch import job_short_name, split_job_name

        return [JobName(job_short_name(args[0]), split_job_name(args[0]))]
    parts = [_parts(a) for a in args]
    # The same job twice is told apart by its number, not by its whole path.
    unique = list(dict.fromkeys(tuple(p) for p in parts))
    suffix = dict(zip(unique, _suffixes([list(u) for u in unique]), strict=True))
    prefixes = [suffix[tuple(p)] for p in parts]
    directories = _numbered([_component(p, a) for p, a in zip(prefixes, args, strict=True)])
    # The very same job named twice keeps one prefix (its output is the
    # same); only its --split directories must differ.
    return [JobName(p, d) for p, d in zip(prefixes, directories, strict=True)]
