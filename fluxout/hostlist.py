"""RFC 29 hostlists: ``node[1-4,7]``, ``node[01-10]``, ``a1,b[2-3]``; pure Python.

``expand`` turns a hostlist into its hosts in order, ``compress`` turns
hosts back into a hostlist as ``flux hostlist`` prints them: in the order
given, neighbours that share a prefix in one bracket, consecutive numbers
of one width as a range (``node9,node10`` -> ``node[9-10]``, but
``node9,node010`` -> ``node[9,010]``). A host whose name does not end in
digits stands alone (``node1x,node2x`` stays so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["HostlistError", "compress", "expand", "split_host"]

_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$", re.DOTALL)
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class HostlistError(ValueError):
    """A hostlist that cannot be read (unclosed bracket, bad range)."""


def _terms(text: str) -> list[str]:
    """The comma-separated terms of a hostlist (commas inside brackets kept)."""
    terms: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise HostlistError(f"{text!r}: ']' without '['")
        elif ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    if depth:
        raise HostlistError(f"{text!r}: '[' without ']'")
    terms.append(text[start:])
    return [term for term in terms if term]


def _expand_term(term: str) -> list[str]:
    open_at = term.find("[")
    if open_at < 0:
        return [term]
    close_at = term.index("]", open_at)
    # As flux: only the first bracket is a range; the rest is a literal suffix.
    prefix, body, suffix = term[:open_at], term[open_at + 1 : close_at], term[close_at + 1 :]
    hosts: list[str] = []
    for part in body.split(","):
        match = _RANGE.match(part.strip())
        if match is None:
            raise HostlistError(f"{term!r}: {part!r} is not a number or a range")
        lo_text, hi_text = match.group(1), match.group(2)
        lo = int(lo_text)
        hi = int(hi_text) if hi_text is not None else lo
        if hi < lo:
            raise HostlistError(f"{term!r}: range {part!r} goes down")
        width = len(lo_text)
        hosts.extend(f"{prefix}{n:0{width}d}{suffix}" for n in range(lo, hi + 1))
    return hosts


def expand(text: str) -> list[str]:
    """Every host of a hostlist, in order (repeats kept)."""
    hosts: list[str] = []
    for term in _terms(text.strip()):
        hosts.extend(_expand_term(term))
    return hosts


def split_host(host: str) -> tuple[str, str] | None:
    """(prefix, digits) of a host whose name ends in digits, else None."""
    match = _TRAILING_DIGITS.match(host)
    if match is None:
        return None
    return match.group(1), match.group(2)


@dataclass
class _Group:
    """Hosts of one prefix side by side: a bracket of ranges, or one plain host."""

    prefix: str
    ranges: list[tuple[int, int, int]] = field(default_factory=list)  # (lo, hi, width)
    plain: str | None = None

    def add(self, digits: str) -> None:
        n = int(digits)
        if self.ranges:
            lo, hi, width = self.ranges[-1]
            if n == hi + 1 and f"{n:0{width}d}" == digits:
                self.ranges[-1] = (lo, n, width)
                return
        self.ranges.append((n, n, len(digits)))

    def text(self) -> str:
        if self.plain is not None:
            return self.plain
        parts = [
            f"{lo:0{width}d}" if lo == hi else f"{lo:0{width}d}-{hi:0{width}d}"
            for lo, hi, width in self.ranges
        ]
        if len(self.ranges) == 1 and self.ranges[0][0] == self.ranges[0][1]:
            return self.prefix + parts[0]
        return f"{self.prefix}[{','.join(parts)}]"


def compress(hosts: Iterable[str]) -> str:
    """A hostlist of ``hosts``, in their order, as ``flux hostlist`` writes it."""
    groups: list[_Group] = []
    for host in hosts:
        split = split_host(host)
        if split is None:
            groups.append(_Group(host, plain=host))
            continue
        prefix, digits = split
        last = groups[-1] if groups else None
        if last is None or last.plain is not None or last.prefix != prefix:
            last = _Group(prefix)
            groups.append(last)
        last.add(digits)
    return ",".join(group.text() for group in groups)
