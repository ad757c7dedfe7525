"""JSON text as jansson's ``json_dumps(value, JSON_COMPACT)`` writes it.

``flux job attach -E`` and ``-X`` print each event's context that way, and
orjson differs from it in two places: a real is written with 17 significant
digits (``0.10000000000000001``, ``9.9999999999999995e-8``), and a control
character without a short escape as ``\\u001F`` (upper case). Writing both
as jansson does makes fluxout's event lines attach's, byte for byte. Keys
keep their order (jansson's objects keep insertion order too).
"""

from __future__ import annotations

import json
import re
import sys

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPE = re.compile('["\\\\\x00-\x1f]')
# printf's exponent as jansson trims it: no "+", no leading zeros.
_EXPONENT = re.compile(r"e([+-]?)0*(\d)")
# Deeper than this the stdlib's writer takes over (as render.records.dump_json).
_DEEP = 200


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return _SHORT.get(ch) or f"\\u{ord(ch):04X}"


def _string(text: str) -> str:
    return '"' + _ESCAPE.sub(_escape, text) + '"'


def _real(value: float) -> str:
    """jsonp_dtostr: ``%.17g``, a ``.0`` when that reads as an integer, the
    exponent without its plus sign and leading zeros."""
    text = f"{value:.17g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return _EXPONENT.sub(lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)


def _dump(value: object, out: list[str], depth: int) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_real(value))
    elif depth > _DEEP:
        raise RecursionError
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_string(str(key)))
            out.append(":")
            _dump(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _dump(item, out, depth + 1)
        out.append("]")
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def dumps(value: object) -> str:
    """``value`` (as orjson decoded it) in jansson's compact JSON."""
    out: list[str] = []
    try:
        _dump(value, out, 0)
    except RecursionError:
        # Nested deeper than any real context: valid JSON all the same.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10_000))
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        finally:
            sys.setrecursionlimit(limit)
    return "".join(out)
