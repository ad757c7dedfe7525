"""Every line option composes with every other.

First the combinations that were broken, one test each; then a property
test that draws option sets over the captured fixtures and compares
fluxout's bytes with a plain reference model that lives only here.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.test_features import write_eventlog


def show(command: str, jobs: list[str], **options: Any) -> tuple[bytes, bytes, int]:
    """A request run in-process: (stdout, stderr, status)."""
    out, err = io.BytesIO(), io.BytesIO()
    status = run(Request(command, jobs, **options), Terminal(out, err, False, False, False, {}))
    return out.getvalue(), err.getvalue(), status


def numbered(tmp_path: Path, counts: dict[int, int]) -> str:
    """A job whose task R writes lines "R.1" ... "R.<counts[R]>", the tasks
    taking turns, one line per event."""
    data = []
    for i in range(max(counts.values())):
        for rank, count in counts.items():
            if i < count:
                data.append(("stdout", str(rank), f"{rank}.{i + 1}\n"))
    return str(write_eventlog(tmp_path / "output.eventlog", data, len(counts)))


# -- --head with --tail: the first N and the last M, each line once ----------


def test_head_and_tail_give_the_first_and_the_last_lines(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 5, 1: 3})
    out, err, rc = show("cat", [job], head=2, tail=1, label=True)
    assert (err, rc) == (b"", 0)
    assert out == b"0: 0.1\n1: 1.1\n0: 0.2\n1: 1.2\n1: 1.3\n0: 0.5\n"


def test_overlapping_head_and_tail_show_each_line_once(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 3, 1: 4})
    out, _, rc = show("cat", [job], head=3, tail=3, label=True)
    assert rc == 0
    assert out == b"0: 0.1\n1: 1.1\n0: 0.2\n1: 1.2\n0: 0.3\n1: 1.3\n1: 1.4\n"


def test_head_and_tail_count_after_the_other_filters(tmp_path: Path) -> None:
    import re

    job = numbered(tmp_path, {0: 9})
    out, _, _ = show("cat", [job], head=1, tail=1, exclude=[re.compile(rb"\.[15]$")])
    assert out == b"0.2\n0.9\n"


def test_tail_keeps_the_order_the_lines_were_written_in(tmp_path: Path) -> None:
    # Task 0's line begins first but ends last: as without --tail, the
    # line that was finished first comes first.
    data = [("stdout", "0", "slow "), ("stdout", "1", "quick\n"), ("stdout", "0", "line\n")]
    job = str(write_eventlog(tmp_path / "output.eventlog", data, 2))
    plain, _, _ = show("cat", [job], label=True)
    assert plain == b"1: quick\n0: slow line\n"
    assert show("cat", [job], label=True, tail=5)[0] == plain
    assert show("lines", [job], json=True, tail=5)[0] == show("lines", [job], json=True)[0]
