"""Hostile eventlog strings: fluxout's own words escaped on a terminal only.

Job data (what the tasks wrote) is never altered; what fluxout says of its
own (exception lines, shell log lines, redirects, event names, job names in
prefixes, messages, the status line) shows control characters escaped when
the stream is a terminal, and keeps today's bytes in a pipe.
"""

from __future__ import annotations

import io
import os
import re
import sys
import unicodedata
from pathlib import Path

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fluxout import exit as fluxout_exit
from fluxout.render.escape import escape_controls, escape_json
from fluxout.render.output import Output, TextRenderer
from fluxout.render.sink import Sink
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.test_cli_tty import run_in_pty

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


def test_only_controls_and_format_characters_are_escaped() -> None:
    # Every character escaped but the bidi and separator ones is a Cc control.
    for code in BAD - set(range(0xD800, 0xE000)):
        cat = unicodedata.category(chr(code))
        assert cat in ("Cc", "Cf", "Zl", "Zp"), hex(code)


# -- a hostile job ----------------------------------------------------------


def _write(path: Path, events: list[dict[str, object]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))


def hostile_job(parent: Path, name: str = "job", note: str = HOSTILE) -> Path:
    """A finished job whose eventlog strings all carry terminal escapes."""
    d = parent / name
    d.mkdir()
    _write(
        d / "eventlog",
        [
            {"timestamp": 10.0, "name": "submit", "context": {"userid": 0}},
            {"timestamp": 11.0, "name": "start"},
            {"timestamp": 11.5, "name": HOSTILE, "context": {"why": HOSTILE}},
            {
                "timestamp": 12.0,
                "name": "exception",
                "context": {"type": HOSTILE, "severity": 0, "note": note},
            },
            {"timestamp": 13.0, "name": "finish", "context": {"status": 256}},
            {"timestamp": 14.0, "name": "clean"},
        ],
    )
    _write(
        d / "output.eventlog",
        [
            {
                "timestamp": 11.0,
                "name": "header",
                "context": {
                    "version": 1,
                    "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
                    "count": {"stdout": 1, "stderr": 1},
                    "options": {},
                },
            },
            {
                "timestamp": 11.1,
                "name": "data",
                "context": {"stream": "stdout", "rank": "0", "data": DATA},
            },
            {
                "timestamp": 11.2,
                "name": "log",
                "context": {"rank": 0, "level": 3, "message": HOSTILE, "component": HOSTILE},
            },
            {
                "timestamp": 11.3,
                "name": "redirect",
                "context": {"stream": "stderr", "rank": "0", "path": HOSTILE},
            },
            {
                "timestamp": 11.4,
                "name": "data",
                "context": {"stream": "stdout", "rank": "0", "eof": True},
            },
        ],
    )
    return d


def _run(req: Request, tty: bool) -> tuple[bytes, bytes, int]:
    term = Terminal(io.BytesIO(), io.BytesIO(), tty, tty, False, {})
    rc = run(req, term)
    assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
    return term.stdout.getvalue(), term.stderr.getvalue(), rc


def _own_lines_pipe(job: str, note: str = HOSTILE) -> bytes:
    """fluxout's stderr for the hostile job in a pipe: today's bytes, as attach
    (the job named by its directory's name: its files hold no jobid), and
    the warning that the file its stderr went to is not here."""
    return (
        f"2.000s: job.exception {job} type={HOSTILE} severity=0 {note}\n"
        f"1.200s: flux-shell[0]: ERROR: {HOSTILE}: {HOSTILE}\n"
        f"fluxout: {job}: warning: cannot read stderr's file {HOSTILE}"
        " (No such file or directory)\n"
        f"0: stderr redirected to {HOSTILE}\n"
        f"fluxout: {job}: task(s) exited with exit code 1\n"
        f"fluxout: {job}: stderr of 0 was redirected to {HOSTILE}\n"
    ).encode()


def test_pipe_keeps_every_byte(tmp_path: Path) -> None:
    d = hostile_job(tmp_path)
    out, err, rc = _run(Request("follow", [str(d)], follow=True, color="never"), tty=False)
    assert rc == 1
    assert out == DATA.encode()
    assert err == _own_lines_pipe(d.name)


def test_terminal_escapes_own_words_not_data(tmp_path: Path) -> None:
    d = hostile_job(tmp_path)
    out, err, rc = _run(Request("follow", [str(d)], follow=True, color="never"), tty=True)
    assert rc == 1
    assert out == DATA.encode()  # the job's own escapes pass, as with cat
    assert not RAW_CONTROL.search(err.replace(b"\n", b"")), err
    want = _own_lines_pipe(d.name).decode().replace(HOSTILE, SHOWN).encode()
    assert err == want


def test_terminal_colour_codes_stay_codes(tmp_path: Path) -> None:
    d = hostile_job(tmp_path)
    _, err, _ = _run(Request("follow", [str(d)], follow=True), tty=True)
    # fluxout's red around the exception line is real ANSI; the note inside is text.
    line = next(ln for ln in err.splitlines() if b"job.exception" in ln)
    assert line.startswith(b"\x1b[1;31m") and line.endswith(b"\x1b[0m")
    inner = line[len(b"\x1b[1;31m") : -len(b"\x1b[0m")]
    assert b"\x1b" not in inner and SHOWN.encode() in inner


def test_newline_in_a_message_stays_on_one_line(tmp_path: Path) -> None:
    d = hostile_job(tmp_path, note="one\nfake: second line")
    _, err, _ = _run(Request("follow", [str(d)], follow=True, color="never"), tty=True)
    assert b"type=" + SHOWN.encode() + b" severity=0 one\\nfake: second line\n" in err
    assert not any(ln.startswith(b"fake:") for ln in err.splitlines())


def test_events_names_and_context(tmp_path: Path) -> None:
    d = hostile_job(tmp_path)
    pipe, _, _ = _run(Request("events", [str(d)], color="never"), tty=False)
    tty, _, _ = _run(Request("events", [str(d)], color="never"), tty=True)
    # In a pipe the name is as it was; JSON already escaped C0 but not C1.
    assert f"main.{HOSTILE} ".encode() in pipe
    assert "\x9b".encode() in pipe
    assert not RAW_CONTROL.search(tty.replace(b"\n", b"")), tty
    assert f"main.{SHOWN} ".encode() in tty
    line = next(ln for ln in tty.splitlines() if b"main.\\x1b" in ln)
    # The context on a terminal is still JSON, with the same value.
    assert orjson.loads(b"{" + line.split(b" {", 1)[1]) == {"why": HOSTILE}


def test_events_json_is_unchanged(tmp_path: Path) -> None:
    d = hostile_job(tmp_path)
    pipe, _, _ = _run(Request("events", [str(d)], json=True), tty=False)
    tty, _, _ = _run(Request("events", [str(d)], json=True), tty=True)
    assert pipe == tty


def test_job_name_in_prefixes(tmp_path: Path) -> None:
    name = "dir\x1b]0;pwned\x07\x9b"
    shown = "dir\\x1b]0;pwned\\x07\\x9b"
    a = hostile_job(tmp_path, name)
    b = hostile_job(tmp_path, "plain")
    req = Request("cat", [str(a), str(b)], color="never")
    out, err, _ = _run(req, tty=False)
    assert f"{name}: {DATA}".encode() in out
    assert f"{name}: 1.200s: flux-shell".encode() in err
    out, err, _ = _run(req, tty=True)
    # The prefix is escaped; the job's line after it is byte-exact.
    assert f"{shown}: {DATA}".encode() in out
    assert f"plain: {DATA}".encode() in out
    assert f"{shown}: 1.200s: flux-shell".encode() in err
    assert not RAW_CONTROL.search(err.replace(b"\n", b"")), err


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS names are UTF-8")
def test_a_directory_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"x\xff\x1by")  # an undecodable byte, and an ESC
    d = hostile_job(tmp_path, name)
    req = Request("cat", [str(d), str(d)], color="never")
    out, err, rc = _run(req, tty=False)
    # In a pipe the name's bytes go out as they are, as ls would write them.
    assert (rc, out.count(b"x\xff\x1by: " + DATA.encode())) == (0, 2)
    out, err, rc = _run(req, tty=True)
    assert out.count(b"x\\udcff\\x1by: " + DATA.encode()) == 2
    assert b"\xff" not in err and b"x\\udcff\\x1by: 1.200s" in err


def test_error_messages_quote_paths(tmp_path: Path) -> None:
    missing = str(tmp_path / "no\x1b[2Jsuch")
    _, pipe, _ = _run(Request("cat", [missing], color="never"), tty=False)
    _, tty, rc = _run(Request("cat", [missing], color="never"), tty=True)
    assert rc == 1
    assert b"\x1b[2J" in pipe
    assert b"\x1b" not in tty and b"no\\x1b[2Jsuch" in tty


def test_status_line_is_escaped() -> None:
    term = Terminal(io.BytesIO(), io.BytesIO(), True, True, False, {})
    sink = Sink(term.stdout, term.stderr, False)
    out = TextRenderer(Output(term, sink, (False, False), True, term.escapes()))
    out.status("wait\x1b]0;t\x07ing waiting for resources")
    assert isinstance(term.stderr, io.BytesIO)
    # fluxout's own erase-line stays; the name's OSC is shown as text.
    assert term.stderr.getvalue() == (
        b"\r\x1b[Kfluxout: wait\\x1b]0;t\\x07ing waiting for resources"
    )


def test_coalesced_headers(tmp_path: Path) -> None:
    a = hostile_job(tmp_path, "dir\x1b[2J")
    b = hostile_job(tmp_path, "plain")
    req = Request("cat", [str(a), str(b)], color="never", coalesce=True)
    out, _, _ = _run(req, tty=True)
    assert out.count(DATA.encode()) == 2
    assert not RAW_CONTROL.search(out.replace(DATA.encode(), b"").replace(b"\n", b"")), out
    assert b"dir\\x1b[2J: 0 stdout\n" in out  # a terminal shows both streams


def test_cli_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Errors outside a run (internal errors, output failures) are fluxout.exit's.
    for tty, want in ((False, "bad \x1b[2J\n"), (True, "bad \\x1b[2J\n")):
        err = io.StringIO()
        monkeypatch.setattr(err, "isatty", lambda tty=tty: tty)
        monkeypatch.setattr(sys, "stderr", err)
        fluxout_exit.error_line("bad \x1b[2J")
        assert err.getvalue() == f"fluxout: {want}"


# -- a real terminal ----------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_in_a_pseudo_terminal(tmp_path: Path) -> None:
    d = hostile_job(tmp_path)
    out, rc = run_in_pty(["follow", "--color", "never", str(d)])
    assert rc == 1
    # The job's bytes are all there, exactly.
    assert DATA.encode() in out
    rest = out.replace(DATA.encode(), b"")
    assert not RAW_CONTROL.search(rest.replace(b"\n", b"")), rest
    assert SHOWN.encode() in rest
    assert f"job.exception {d.name} type={SHOWN}".encode() in rest


def test_error_in_a_pseudo_terminal(tmp_path: Path) -> None:
    # A path argument that is not an eventlog: the error quotes it.
    bad = tmp_path / "x\x1b]52;c;ZXZpbA==\x07"
    bad.write_bytes(b"not an eventlog\n")
    out, rc = run_in_pty(["cat", "--color", "never", str(bad)])
    assert rc == 1
    assert b"\x1b" not in out and b"\x07" not in out, out
    assert b"x\\x1b]52;c;ZXZpbA==\\x07" in out
