"""Values from an eventlog quoted in fluxout's messages, cut to a sane size."""

from __future__ import annotations

# How much of a value a message quotes: a 20 MB event name or rank must not
# be copied into every warning.
QUOTE_LIMIT = 100


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` as it is, cut to about ``limit`` characters, saying how long it was."""
    if len(text) > limit:
        return f"{text[: limit - 20]}... ({len(text)} characters)"
    return text


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters, saying how long it was."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[: limit - 20]!r}... ({len(value)} characters)"
    return shorten(repr(value), limit)
