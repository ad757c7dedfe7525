"""Control characters in fluxout's own words, made visible on a terminal.

fluxout's messages quote strings from eventlogs and paths (exception notes,
shell log messages, redirect paths, event names, job names). Written raw,
an ESC there could set the terminal title, write the clipboard (OSC 52) or
clear the screen, as kubectl found (CVE-2021-25743). On a terminal those
strings are shown escaped, Python-style (``\\x1b``, ``\\r``, ``\\u202e``);
in a pipe they are kept as they are. Job data is never passed through here.
"""

from __future__ import annotations

import re

# C0 controls but tab (harmless, and common in messages), DEL, C1 controls;
# the Unicode line separators and bidi embeddings, overrides and isolates
# (CVE-2021-42574); lone surrogates (undecodable bytes of a path name).
_CONTROLS = "\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"

# What needs escaping: a control character, or a backslash that would
# otherwise read as the start of an escape (so distinct strings stay
# distinct: a literal "\x1b" is shown as "\\x1b", an ESC as "\x1b").
_UNSAFE = re.compile(f"[{_CONTROLS}]|\\\\(?=[\\\\xurn{_CONTROLS}])")

_NAMED = {"\r": "\\r", "\n": "\\n", "\\": "\\\\"}

# The same characters where JSON text is shown: orjson already escapes C0
# and backslashes; the rest become JSON's own \\uXXXX, so it stays JSON.
_JSON_UNSAFE = re.compile(f"[{_CONTROLS}]")


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters shown as escapes; the same string
    when there is nothing to escape (the common case, one regex search)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape_one, text)


def own_bytes(text: str) -> bytes:
    """fluxout's own text as bytes. A path that is not UTF-8 (a directory
    name) holds surrogates: its bytes go out as they were, as ls would
    write them in a pipe, instead of failing (on a terminal they were
    already escaped)."""
    return text.encode("utf-8", "surrogateescape")


def escape_json(text: str) -> str:
    """JSON text (as orjson writes it) with the controls JSON leaves raw
    (DEL, C1, separators, bidi) written as ``\\uXXXX``: still valid JSON."""
    if _JSON_UNSAFE.search(text) is None:
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
