"""RFC 22 idsets: sets of task ranks written as "3", "[0-3]" or "0,2-5".

An idset is kept as a sorted tuple of inclusive ``(lo, hi)`` ranges, so a huge
set such as ``0-4294967294`` costs two integers, not four billion.  Output
events repeat the same few rank strings a million times, so ``parse_rank``
caches its results.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from fluxout.quoting import quote, shorten

# RFC 22 ids are unsigned 32-bit, UINT_MAX meaning "none". (flux-core's own
# decoder stops lower, at 2**31; accepting more here loses nothing.)
MAX_ID = 2**32 - 2


class IdsetError(ValueError):
    """A string that is not an RFC 22 idset."""


class IdSet:
    """An immutable set of non-negative ids stored as disjoint sorted ranges."""

    __slots__ = ("_hash", "ranges")

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        self.ranges: tuple[tuple[int, int], ...] = tuple(merged)
        self._hash = hash(self.ranges)

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdSet:
        return cls((i, i) for i in ids)

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self.ranges:
            yield from range(lo, hi + 1)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int):
            return False
        return any(lo <= item <= hi for lo, hi in self.ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdSet) and self.ranges == other.ranges

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"IdSet({self.format()!r})"

    def __str__(self) -> str:
        return self.format()

    @property
    def first(self) -> int:
        """The smallest id (the set must not be empty)."""
        return self.ranges[0][0]

    @property
    def last(self) -> int:
        """The largest id (the set must not be empty)."""
        return self.ranges[-1][1]

    def intersect(self, other: IdSet) -> IdSet:
        out: list[tuple[int, int]] = []
        a, b = self.ranges, other.ranges
        i = j = 0
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return IdSet(out)

    def union(self, other: IdSet) -> IdSet:
        return IdSet(self.ranges + other.ranges)

    def format(self, brackets: bool = True) -> str:
        """Format as flux does: "3", "[0-3]", "[0,2-5]" (brackets for >1 id)."""
        parts = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges]
        body = ",".join(parts)
        if brackets and len(self) > 1:
            return f"[{body}]"
        return body


def _parse_id(text: str, whole: str) -> int:
    # RFC 22: decimal digits only (ASCII: no space, sign or other digit),
    # no leading zero.
    if not text.isdigit() or not text.isascii():
        raise IdsetError(f"invalid idset {quote(whole)}: {quote(text)} is not an id")
    if len(text) > 1 and text[0] == "0":
        raise IdsetError(f"invalid idset {quote(whole)}: leading zero in {quote(text)}")
    if len(text) > len(str(MAX_ID)) or int(text) > MAX_ID:
        raise IdsetError(f"invalid idset {quote(whole)}: {shorten(text)} is larger than {MAX_ID}")
    return int(text)


def parse_idset(text: str, any_order: bool = False) -> IdSet:
    """Parse an RFC 22 idset as flux-core does: ranges ascending, no overlap,
    nothing around it (``"0\n"`` is not rank 0).

    With ``any_order`` (a user's list, as srun and dshbak take it), ``2,0``,
    ``1,1`` and ``3-3`` are the sets they mean.  The empty string (or "[]")
    is the empty set.
    """
    body = text
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    elif "[" in body or "]" in body:
        raise IdsetError(f"invalid idset {quote(text)}: unbalanced brackets")
    if body == "":
        return IdSet()
    ranges: list[tuple[int, int]] = []
    for element in body.split(","):
        lo_text, sep, hi_text = element.partition("-")
        lo = _parse_id(lo_text, text)
        hi = _parse_id(hi_text, text) if sep else lo
        if hi < lo or (sep and hi == lo and not any_order):
            raise IdsetError(f"invalid idset {quote(text)}: bad range {quote(element)}")
        if ranges and lo <= ranges[-1][1] and not any_order:
            raise IdsetError(f"invalid idset {quote(text)}: {quote(element)} is out of order")
        ranges.append((lo, hi))
    return IdSet(ranges)


@lru_cache(maxsize=4096)
def parse_rank(text: str) -> IdSet:
    """``parse_idset`` for the rank field of output events, cached."""
    return parse_idset(text)


def parse_task_filter(text: str) -> IdSet | None:
    """A user's ``--tasks`` value: an idset, or "all"/"*" for no filter (None)."""
    if text.strip().lower() in ("all", "*"):
        return None
    # A user's value may have white space around it (an event's rank may not).
    result = parse_idset(text.strip(), any_order=True)
    if not result:
        raise IdsetError(f"invalid idset {quote(text)}: it is empty")
    return result
