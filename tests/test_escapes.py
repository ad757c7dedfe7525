"""Hostile eventlog strings: fluxout's own words escaped on a terminal only.

Job data (what the tasks wrote) is never altered; what fluxout says of its
own (exception lines, shell log lines, redirects, event names, job names in
prefixes, messages, the status line) shows control characters escaped when
the stream is a terminal, and keeps today's bytes in a pipe.
"""

from __future__ import annotations

import re
import unicodedata

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fluxout.render.escape import escape_controls, escape_json

# Title, clipboard, clear screen, carriage return, a C1 CSI.
HOSTILE = "\x1b]0;pwned\x07 \x1b]52;c;ZXZpbA==\x07 \x1b[2J \r \x9b end"
SHOWN = "\\x1b]0;pwned\\x07 \\x1b]52;c;ZXZpbA==\\x07 \\x1b[2J \\r \\x9b end"
# What a task wrote: it reaches the terminal as is, escapes and all.
DATA = "job \x1b[31mred\x1b[0m \x1b]0;job-title\x07 \x9b data\n"

# Anything that can steer a terminal: C0 but tab and newline, DEL, C1 (as
# UTF-8), and the bidi/line-separator characters.
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]".encode()
    + b"|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]"
)
BAD = set(range(0x20)) - {0x09} | set(range(0x7F, 0xA0))
BAD |= {0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
BAD |= set(range(0xD800, 0xE000))


# -- the pure function ----------------------------------------------------


def unescape(text: str) -> str:
    """The inverse of escape_controls, to show it loses nothing."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch != "\\" or nxt not in ("\\", "x", "u", "r", "n"):
            out.append(ch)
            i += 1
        elif nxt == "\\":
            out.append("\\")
            i += 2
        elif nxt in "rn":
            out.append("\r" if nxt == "r" else "\n")
            i += 2
        else:
            width = 2 if nxt == "x" else 4
            out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
            i += 2 + width
    return "".join(out)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "resource allocation expired",
        "ƒ7wmTtST: café 🎉 日本語",
        "a\ttab-separated\tmessage",
        "/tmp/a dir/with spaces",
        "C:\\Users\\a",  # a backslash that starts no escape stays single
        "trailing backslash\\",
    ],
)
def test_ordinary_text_is_the_same_string(text: str) -> None:
    assert escape_controls(text) is text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (HOSTILE, SHOWN),
        ("a\nb\r\x08\x7f\x00", "a\\nb\\r\\x08\\x7f\\x00"),
        ("\u202eevil\u2066\u2028", "\\u202eevil\\u2066\\u2028"),
        ("x\udcffy", "x\\udcffy"),  # an undecodable byte of a path name
        # A literal backslash escape is told apart from the real thing.
        ("\\x1b", "\\\\x1b"),
        ("\\\x1b", "\\\\\\x1b"),
        ("printf 'a\\n'", "printf 'a\\\\n'"),
    ],
)
def test_controls_are_escaped(text: str, shown: str) -> None:
    assert escape_controls(text) == shown
    assert unescape(shown) == text


@given(st.text())
@example(HOSTILE)
@example("\\\\x1b\x1b\\")
def test_escaped_text_has_no_control_and_loses_nothing(text: str) -> None:
    shown = escape_controls(text)
    assert not any(ord(ch) in BAD for ch in shown)
    # Distinct inputs give distinct outputs: the escaping can be undone.
    assert unescape(shown) == text
    if not any(ord(ch) in BAD for ch in text) and "\\" not in text:
        assert shown is text


@given(st.dictionaries(st.text(), st.text() | st.integers(-(2**63), 2**63 - 1)))
def test_escaped_json_is_the_same_json(context: dict[str, object]) -> None:
    text = orjson.dumps(context).decode()
    shown = escape_json(text)
    assert not any(ord(ch) in BAD for ch in shown)
    assert orjson.loads(shown) == context


def test_category_check() -> None:
    # Every character escaped but the bidi and separator ones is a Cc control.
    for code in BAD - set(range(0xD800, 0xE000)):
        cat = unicodedata.category(chr(code))
        assert cat in ("Cc", "Cf", "Zl", "Zp"), hex(code)
