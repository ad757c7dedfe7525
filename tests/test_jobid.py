"""Tests for fluxout.jobid: Flux job ids (RFC 19 FLUIDs) as flux-core v0.88.0.

Known vectors are embedded here, each with its source:

* flux-core v0.88.0 ``src/common/libjob/test/job.c`` (``jobid_parse_tests``),
  ``src/common/libutil/test/fluid.c`` (``f58_tests``, ``fluid_parse_tests``
  and its invalid inputs) and ``t/t2201-job-cmd.t`` (MIN/MAX jobid lists and
  the inputs ``flux job id`` must reject);
* the job ids of the fixtures captured from a real flux-core 0.88.0 instance
  (``case.json`` "jobid" in the shared fixtures), with the other forms as
  ``flux_job_id_parse()``/``flux_job_id_encode()`` of libflux-core 0.88.0
  print them;
* quirks and rejections checked against that libflux-core as well.

When a libflux-core 0.88.0 can be loaded (``FLUXOUT_LIBFLUX_CORE=path``, the
linker's search path, or the dev container's build tree), differential tests
compare parse and encode with the real C library; otherwise they are skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluxout import jobid as jobid_module
from fluxout.jobid import (
    FORMS,
    UINT64_MAX,
    JobIdError,
    format_jobid,
    is_jobid,
    parse_jobid,
)

C_SPACE = " \t\n\v\f\r"
uint64s = st.integers(min_value=0, max_value=UINT64_MAX)

# --- known vectors ---------------------------------------------------------

# src/common/libjob/test/job.c, jobid_parse_tests[] (UTF-8 locale rows).
LIBJOB_VECTORS = [
    ("dec", 0, "0"),
    ("hex", 0, "0x0"),
    ("dothex", 0, "0000.0000.0000.0000"),
    ("kvs", 0, "job.0000.0000.0000.0000"),
    ("words", 0, "academy-academy-academy--academy-academy-academy"),
    ("emoji", 0, "😃"),
    ("f58", 0, "ƒ1"),
    ("dec", 1, "1"),
    ("hex", 1, "0x1"),
    ("dothex", 1, "0000.0000.0000.0001"),
    ("kvs", 1, "job.0000.0000.0000.0001"),
    ("words", 1, "acrobat-academy-academy--academy-academy-academy"),
    ("emoji", 1, "😄"),
    ("f58", 1, "ƒ2"),
    ("dec", 65535, "65535"),
    ("hex", 65535, "0xffff"),
    ("dothex", 65535, "0000.0000.0000.ffff"),
    ("kvs", 65535, "job.0000.0000.0000.ffff"),
    ("words", 65535, "nevada-archive-academy--academy-academy-academy"),
    ("emoji", 65535, "💁📚"),
    ("f58", 65535, "ƒLUv"),
    ("dec", 6787342413402046, "6787342413402046"),
    ("hex", 6787342413402046, "0x181d0d4d850fbe"),
    ("dothex", 6787342413402046, "0018.1d0d.4d85.0fbe"),
    ("kvs", 6787342413402046, "job.0018.1d0d.4d85.0fbe"),
    ("words", 6787342413402046, "cake-plume-nepal--neuron-pencil-academy"),
    ("emoji", 6787342413402046, "👴😱🔚🎮🕙🚩"),
    ("f58", 6787342413402046, "ƒuzzybunny"),
]

# t/t2201-job-cmd.t: MAXJOBID_* and MINJOBID_* ("flux job id" of each is the dec).
T2201_MAX = {
    "dec": "18446744073709551615",
    "hex": "0xffffffffffffffff",
    "kvs": "job.ffff.ffff.ffff.ffff",
    "dothex": "ffff.ffff.ffff.ffff",
    "words": "natural-analyze-verbal--natural-analyze-verbal",
    "f58plain": "fjpXCZedGfVQ",
}
T2201_MIN = {
    "dec": "0",
    "hex": "0x0",
    "kvs": "job.0000.0000.0000.0000",
    "dothex": "0000.0000.0000.0000",
    "words": "academy-academy-academy--academy-academy-academy",
    "f58plain": "f1",
}

# src/common/libutil/test/fluid.c, f58_tests[] (id, f58, f58 plain).
F58_VECTORS = [
    (0, "ƒ1", "f1"),
    (1, "ƒ2", "f2"),
    (57, "ƒz", "fz"),
    (1234, "ƒNH", "fNH"),
    (1888, "ƒZZ", "fZZ"),
    (3363, "ƒzz", "fzz"),
    (3364, "ƒ211", "f211"),
    (4369, "ƒ2JL", "f2JL"),
    (65535, "ƒLUv", "fLUv"),
    (4294967295, "ƒ7YXq9G", "f7YXq9G"),
    (633528662, "ƒxyzzy", "fxyzzy"),
    (6731191091817518, "ƒuZZybuNNy", "fuZZybuNNy"),
    (18446744073709551614, "ƒjpXCZedGfVP", "fjpXCZedGfVP"),
    (18446744073709551615, "ƒjpXCZedGfVQ", "fjpXCZedGfVQ"),
]

# src/common/libutil/test/fluid.c, fluid_parse_tests[] (parse only), plus
# f58_alt_tests' "f111" and the whitespace cases of fluid.c and job.c.
FLUID_PARSE_VECTORS = [
    (0, "f111"),
    (1234, "1234"),
    (1888, "1888"),
    (3363, "3363"),
    (3364, "3364"),
    (4369, "4369"),
    (6731191091817518, "6731191091817518"),
    (18446744073709551614, "18446744073709551614"),
    (18446744073709551615, "18446744073709551615"),
    (0, "0x0"),
    (1, "0x1"),
    (57, "0x39"),
    (1234, "0x4d2"),
    (1888, "0x760"),
    (3363, "0xd23"),
    (4369, "0x1111"),
    (65535, "0xffff"),
    (4294967295, "0xffffffff"),
    (633528662, "0x25c2e156"),
    (6731191091817518, "0x17e9fb8df16c2e"),
    (18446744073709551615, "0xffffffffffffffff"),
    (0, "0.0.0.0"),
    (1, "0000.0000.0000.0001"),
    (57, "0.0.0.0039"),
    (1234, "0000.0000.0000.04d2"),
    (1888, "0000.0000.0000.0760"),
    (4369, "0000.0000.0000.1111"),
    (65535, "0.0.0.ffff"),
    (4294967295, "0000.0000.ffff.ffff"),
    (18446744073709551615, "ffff.ffff.ffff.ffff"),
    (18446462598732840960, "ffff.0000.0000.0000"),
    (281470681743360, "0000.ffff.0000.0000"),
    (4294901760, "0000.0000.ffff.0000"),
    (65535, "0000.0000.0000.ffff"),
    (2814797012533261, "a.b.c.d"),
    (281483566841860, "1.2.3.4"),
    (0, "😃"),
    (1, "😄"),
    (57, "🙊"),
    (1234, "😁👌"),
    (1888, "😆🐻"),
    (4369, "😊🌀"),
    (65535, "💁📚"),
    (4294967295, "😳🏪🍖🍸"),
    (18446744073709551615, "🚹💗💧👗😷📷📚"),
    (65535, " 0xffff   "),
    (1234, "  1234  "),
    (42, "42 "),  # t2201 "despace" test: `(echo "42 "; echo " 42") | flux job id`
    (42, " 42"),
]

# Job ids of the shared fixtures (real flux-core 0.88.0 jobs, case.json
# "jobid"), with the decimal value flux_job_id_parse() of libflux-core gives.
FIXTURE_JOBIDS = [
    ("ƒ4DPihwV", 122339459072),  # binary
    ("ƒ9d14nSB", 328179122176),  # canceled-running
    ("ƒAcMtzoy", 365827194880),  # command-not-found
    ("ƒCbbDBCT", 441458884608),  # empty-output
    ("ƒ239Rs6P", 39476789248),  # exit-code
    ("ƒJP8adV", 11408506880),  # hello
    ("ƒBXQBJZV", 400639918080),  # label-io-file
    ("ƒCpRSxfZ", 449881047040),  # label-io
    ("ƒ5duNjcb", 176496312320),  # long-line-split
    ("ƒ4veYin3", 149417885696),  # long-line
    ("ƒWVriCw", 19360907264),  # many-ranks
    ("ƒDALMKCB", 462950498304),  # many-small-lines
    ("ƒ9RnEDio", 320813924352),  # never-started-unsatisfiable
    ("ƒ9A7RoyR", 310529490944),  # never-started
    ("ƒ2YSRg3Z", 58703478784),  # no-trailing-newline
    ("ƒBsfqV2w", 413944250368),  # output-limit
    ("ƒ2r3u9D9", 70262980608),  # redirect-many-ranks
    ("ƒB9yogQX", 386580611072),  # redirect-per-task
    ("ƒApoty3u", 373997699072),  # redirect
    ("ƒAFtNv5m", 352388644864),  # shell-log-verbose
    ("ƒCGUGSQX", 428909527040),  # signaled
    ("ƒ71bx8Hm", 228807671808),  # stderr-interleaved
    ("ƒFAgtwyq", 539320385536),  # stdin-input-rank
    ("ƒEvT7r1m", 529975476224),  # stdin-input
    ("ƒ7wmTtST", 264358592512),  # timeout-exception
    ("ƒ2xxBoJF", 74792828928),  # unbuffered-partial
    ("ƒ4aB2e3q", 135979335680),  # utf8-and-escapes
]

# Every form of three fixture ids, as flux_job_id_encode() (0.88.0) writes them.
FIXTURE_FORMS = [
    {
        "dec": "11408506880",
        "hex": "0x2a8000000",
        "dothex": "0000.0002.a800.0000",
        "kvs": "job.0000.0002.a800.0000",
        "words": "monaco-century-blue--active-academy-academy",
        "f58": "ƒJP8adV",
        "f58plain": "fJP8adV",
        "emoji": "💘💎👅🕓",
    },
    {
        "dec": "70262980608",
        "hex": "0x105c000000",
        "dothex": "0000.0010.5c00.0000",
        "kvs": "job.0000.0010.5c00.0000",
        "words": "pulse-chant-police--albino-academy-academy",
        "f58": "ƒ2r3u9D9",
        "f58plain": "f2r3u9D9",
        "emoji": "🎯👚🍒🌼",
    },
    {
        "dec": "19360907264",
        "hex": "0x482000000",
        "dothex": "0000.0004.8200.0000",
        "kvs": "job.0000.0004.8200.0000",
        "words": "flex-sailor-basket--adam-academy-academy",
        "f58": "ƒWVriCw",
        "f58plain": "fWVriCw",
        "emoji": "👶🐙🍉🏃",
    },
]

INVALID = [
    # the brief
    "",
    "f",
    "ƒ",
    "ƒ0",
    "hello",
    "-",
    "./ƒJP8adV",
    "./x",
    "output.eventlog",
    "0x",
    "18446744073709551616",
    "-1",
    "-42",
    "-0",
    "   ",
    "\t\n",
    "job.",
    "job. ",
    "JP8adV",  # F58 needs its prefix
    "FJP8adV",
    "ƒJP8adV/",
    "ƒ JP8adV",
    # flux-core fluid.c test_fluid_parse() and test_f58()
    "boo",
    "1234x",
    "aaa",
    "flux",
    "f1230",
    "x1",
    "0.0.0",
    "0.0.0.0.0",
    "0.0.0.g",
    "0.0.0.",
    ".0.0.0",
    "f0",
    "fO",
    "fI",
    "fl",
    "invalid-words-test",
    "foo-bar-baz--qux-quux-corge",
    "🦄",
    # flux-core libjob/test/job.c check_jobid_parse_encode()
    "invalid",
    "job.0.0",
    "job.0.0.0.0.0",
    "notjob.0.0.0.0",
    # t/t2201-job-cmd.t
    "badstring",
    "job.0000.0000",
    "job.0000.0000.0000.000P",
    "42plusbad",
    "meep",
    "bad-words",
    # more, each rejected by flux_job_id_parse() too
    "0X10",
    "0x0x1",
    "0x+1",
    "+0x10",
    "++1",
    "+",
    "1 2",
    "0x1g",
    "0xffffffffffffffff0",
    "99999999999999999999999",
    "-ffff.0.0.0",
    "00000.0.0.0",
    "0 .0.0.0",
    "FAST",
    "academy-academy-academy--academy-academy-ignition",  # no word "ignition"
    "academy-academy-academy--academy-academy",
    "academy-academy-academy--academy-academy-academy-academy",
    "job-academy-academy-academy-academy-academy",  # "job" is a remainder word
    "academy-academy-yes--academy-academy-academy",
    "academy-academy-academy--academy-academy-yes",
    "academy-academy-amen--academy-academy-academy",  # 3rd word: > 2**32
    "amen-analyze-verbal--academy-academy-academy",  # natural-analyze-verbal + 1
    "academy-academy-academy--academy-academy-amen",
    "😃😃😃😃😃😃😃😃",  # 8 emoji: more than a uint64 needs
    "😃x",
    "job.job.1",
    "/tmp/x",
    "README.md",
    "eventlog",
    "123abc",
]

# Inputs flux-core 0.88.0 accepts that look odd, each checked against its
# flux_job_id_parse(); kept on purpose so fluxout agrees with `flux job id`.
FLUX_QUIRKS = [
    ("job.0000", 0),  # "job." is dropped before any form
    ("job.42", 42),
    ("job.ƒ2", 1),
    ("job.   5", 5),
    ("+42", 42),  # strtoull() takes a '+'
    ("0042", 42),
    ("-1.0.0.0", 0xFFFF000000000000),  # sscanf "%4x" takes a sign
    ("-1.-1.-1.-1", UINT64_MAX),
    ("+1.+2.+3.+4", 0x0001000200030004),
    ("0x1.2.3.4", 0x0001000200030004),  # ... and a 0x prefix
    ("0x.0.0.0", 0),
    ("1.2.3.0x", 0x0001000200030000),
    ("1. 2.\t3. 4", 0x0001000200030004),  # ... and leading spaces
    ("fuzzybunny", 6787342413402046),  # plain words can be F58
    ("fast", 113963),
    ("fed", 2182),
    ("f1", 0),
    ("academy-academy-academy--academy-academy-academy-xyz", 0),
    ("academy-academy-academy--academy-academy-academy-12", 0),
    ("ACADEMY-Academy-academy-academy-academy-academy", 0),
    ("academy academy academy academy academy academy-", 0),
    ("acrobat_academy_academy__academy_academy_academy-", 1),
    ("fzzzzzzzzzz", 58**10 - 1),  # the largest 10-digit F58
    ("f1jpXCZedGfVQ", UINT64_MAX),  # 12 F58 digits with a leading "1" (zero)
]

# Where flux decodes only by overflow or undefined behaviour we reject instead.
DIVERGENCES = [
    "fjpXCZedGfVR",  # 2**64: flux wraps it to 0
    "fzzzzzzzzzzz",  # 58**11 - 1, wrapped by flux
    "fzzzzzzzzzzzz",  # 58**12 - 1, wrapped by flux
    "fé",  # non-ASCII after the prefix: out-of-bounds table read in flux
    "ƒƒ2",
    "🚹💗💧👗😷📷📛",  # > 2**64 in basemoji: flux wraps it to 81
    "5\x00",  # a C string would end at the NUL
]


# --- tests of the known vectors ---------------------------------------------


@pytest.mark.parametrize(("form", "value", "text"), LIBJOB_VECTORS)
def test_libjob_vectors(form: str, value: int, text: str) -> None:
    assert format_jobid(value, form) == text
    assert parse_jobid(text) == value


@pytest.mark.parametrize(
    ("table", "value"), [(T2201_MAX, UINT64_MAX), (T2201_MIN, 0)], ids=["max", "min"]
)
def test_t2201_min_max(table: dict[str, str], value: int) -> None:
    for form, text in table.items():
        assert parse_jobid(text) == value, text
        assert format_jobid(value, form) == text


@pytest.mark.parametrize(("value", "f58", "plain"), F58_VECTORS)
def test_f58_vectors(value: int, f58: str, plain: str) -> None:
    assert format_jobid(value) == f58
    assert format_jobid(value, "f58") == f58
    assert format_jobid(value, "f58plain") == plain
    assert parse_jobid(f58) == value
    assert parse_jobid(plain) == value


@pytest.mark.parametrize(("value", "text"), FLUID_PARSE_VECTORS)
def test_fluid_parse_vectors(value: int, text: str) -> None:
    assert parse_jobid(text) == value
    assert is_jobid(text)


@pytest.mark.parametrize(("f58", "value"), FIXTURE_JOBIDS)
def test_fixture_jobids(f58: str, value: int) -> None:
    assert parse_jobid(f58) == value
    assert format_jobid(value) == f58
    assert parse_jobid("f" + f58[1:]) == value


@pytest.mark.parametrize("forms", FIXTURE_FORMS, ids=lambda f: f["f58"])
def test_fixture_forms(forms: dict[str, str]) -> None:
    value = int(forms["dec"])
    assert set(forms) == set(FORMS)
    for form, text in forms.items():
        assert format_jobid(value, form) == text
        assert parse_jobid(text) == value


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    assert not is_jobid(text)
    with pytest.raises(JobIdError) as info:
        parse_jobid(text)
    assert isinstance(info.value, ValueError)
    assert info.value.text == text
    message = str(info.value)
    assert "\n" not in message
    assert repr(text) in message


@pytest.mark.parametrize(("text", "value"), FLUX_QUIRKS)
def test_flux_quirks(text: str, value: int) -> None:
    assert parse_jobid(text) == value


@pytest.mark.parametrize("text", DIVERGENCES)
def test_rejected_where_flux_overflows(text: str) -> None:
    with pytest.raises(JobIdError):
        parse_jobid(text)


def test_error_message() -> None:
    with pytest.raises(JobIdError, match="out of 64-bit range"):
        parse_jobid("18446744073709551616")
    with pytest.raises(JobIdError) as info:
        parse_jobid("bad\nid")
    assert str(info.value).startswith("invalid Flux job id 'bad\\nid'")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text", ["hello", "output.eventlog", "-", "./x", "./ƒJP8adV", "x.txt", "a-b"]
)
def test_paths_are_not_jobids(text: str) -> None:
    assert not is_jobid(text)


def test_zero_and_whitespace() -> None:
    assert parse_jobid("0") == 0
    assert parse_jobid("\t ƒJP8adV\r\n") == 11408506880
    assert parse_jobid(" job.0000.0002.a800.0000\n") == 11408506880


def test_type_errors() -> None:
    with pytest.raises(TypeError):
        parse_jobid(b"123")  # type: ignore[arg-type]
    assert not is_jobid(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_jobid("123")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_jobid(True)


@pytest.mark.parametrize("value", [-1, UINT64_MAX + 1, -(2**64), 2**100])
def test_format_out_of_range(value: int) -> None:
    for form in FORMS:
        with pytest.raises(ValueError, match="out of range"):
            format_jobid(value, form)


@pytest.mark.parametrize("form", ["", "decimal", "base58", "f 58", "kvs ", "\u212avs"])
def test_format_unknown_form(form: str) -> None:
    with pytest.raises(ValueError, match="unknown job id form"):
        format_jobid(1, form)


def test_format_form_is_case_insensitive() -> None:
    assert format_jobid(65535, "HEX") == "0xffff"
    assert format_jobid(1, "F58Plain") == "f2"
    assert format_jobid(0, "Kvs") == "job.0000.0000.0000.0000"


def test_tables() -> None:
    words = jobid_module._MN_WORDS
    assert len(words) == 1626 + 7 == len(set(words))
    assert words[:2] == ("academy", "acrobat")
    assert words[1625] == "amen"  # the last of the MN_BASE digit words
    assert words[1626:] == ("ego", "fax", "jet", "job", "rio", "ski", "yes")
    assert all(re.fullmatch("[a-z]{3,7}", w) for w in words)
    emojis = jobid_module._EMOJIS
    assert len(emojis) == 576 == len(set(emojis))
    assert all(len(e.encode()) == 4 and e.encode()[:2] == b"\xf0\x9f" for e in emojis)
    assert emojis[0] == "😃" and emojis[-1] == "🎌"


# --- properties ---------------------------------------------------------------


@given(value=uint64s)
@example(value=0)
@example(value=UINT64_MAX)
@example(value=2**32 - 1)
@example(value=2**32)
def test_round_trip_every_form(value: int) -> None:
    for form in FORMS:
        text = format_jobid(value, form)
        assert parse_jobid(text) == value, (form, text)
        assert is_jobid(text)


@given(value=uint64s)
def test_form_shapes(value: int) -> None:
    assert format_jobid(value, "dec") == str(value)
    assert format_jobid(value, "hex") == hex(value)
    dothex = format_jobid(value, "dothex")
    assert re.fullmatch(r"[0-9a-f]{4}(\.[0-9a-f]{4}){3}", dothex)
    assert int(dothex.replace(".", ""), 16) == value
    assert format_jobid(value, "kvs") == "job." + dothex
    f58 = format_jobid(value)
    assert f58.startswith("ƒ") and format_jobid(value, "f58plain") == "f" + f58[1:]
    assert 2 <= len(f58) <= 12
    words = format_jobid(value, "words")
    assert re.fullmatch(r"[a-z]+-[a-z]+-[a-z]+--[a-z]+-[a-z]+-[a-z]+", words)
    assert 1 <= len(format_jobid(value, "emoji")) <= 7


@given(value=uint64s, form=st.sampled_from(FORMS), data=st.data())
def test_surrounding_whitespace_is_ignored(value: int, form: str, data: st.DataObject) -> None:
    spaces = st.text(alphabet=C_SPACE, max_size=3)
    text = data.draw(spaces) + format_jobid(value, form) + data.draw(spaces)
    assert parse_jobid(text) == value


@given(value=uint64s)
def test_words_little_endian(value: int) -> None:
    """Low 32 bits in the first three words, as mn_encode() of an x86 uint64."""
    low, high = format_jobid(value, "words").split("--")
    assert low == format_jobid(value & 0xFFFFFFFF, "words").split("--")[0]
    assert high == format_jobid(value >> 32, "words").split("--")[0]


@given(text=st.text())
@example(text="f" + "z" * 40)
@example(text="a" * 100 + "-")
def test_any_text_parses_or_raises_jobid_error(text: str) -> None:
    try:
        value = parse_jobid(text)
    except JobIdError as exc:
        assert not is_jobid(text)
        assert "\n" not in str(exc)
    else:
        assert is_jobid(text)
        assert 0 <= value <= UINT64_MAX


# --- differential tests against libflux-core, when it can be loaded -----------


def _load_libflux_core() -> ctypes.CDLL | None:
    candidates = [
        os.environ.get("FLUXOUT_LIBFLUX_CORE"),
        ctypes.util.find_library("flux-core"),
        # where the dev container builds flux-core v0.88.0
        "/opt/flux-src/src/common/.libs/libflux-core.so.2",
    ]
    for path in candidates:
        if not path:
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.flux_core_version_string.restype = ctypes.c_char_p
        if lib.flux_core_version_string() != b"0.88.0":
            continue
        lib.flux_job_id_parse.argtypes = [
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_uint64),
        ]
        lib.flux_job_id_encode.argtypes = [
            ctypes.c_uint64,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_size_t,
        ]
        return lib
    return None


LIBFLUX = _load_libflux_core()
needs_libflux = pytest.mark.skipif(
    LIBFLUX is None, reason="libflux-core 0.88.0 not found (FLUXOUT_LIBFLUX_CORE)"
)


def flux_parse(text: str) -> int | None:
    """`flux job id` on stdin: trim_string(), then flux_job_id_parse()."""
    assert LIBFLUX is not None
    out = ctypes.c_uint64(0)
    raw = text.strip(C_SPACE).encode("utf-8", "surrogatepass")
    if LIBFLUX.flux_job_id_parse(raw, ctypes.byref(out)) < 0:
        return None
    return out.value


def flux_encode(value: int, form: str) -> str:
    assert LIBFLUX is not None
    buf = ctypes.create_string_buffer(256)
    assert LIBFLUX.flux_job_id_encode(value, form.encode(), buf, 256) == 0
    return buf.value.decode()


def known_divergence(text: str) -> bool:
    """The inputs flux decodes by overflow or undefined behaviour (see DIVERGENCES)."""
    s = text.strip(C_SPACE).removeprefix("job.").lstrip(C_SPACE)
    if "." in s or "-" in s:
        return False
    b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    if s[:1] in ("f", "ƒ"):
        digits = s[1:]
        if not digits.isascii():
            return True
        if digits and all(c in b58 for c in digits):
            value = 0
            for c in digits:
                value = value * 58 + b58.index(c)
            return value > UINT64_MAX
        return False
    emojis = jobid_module._EMOJIS
    return 0 < len(s) <= 7 and all(c in emojis for c in s)


@needs_libflux
@pytest.mark.parametrize(
    "text",
    [t for _, _, t in LIBJOB_VECTORS]
    + [t for _, t in FLUID_PARSE_VECTORS]
    + [t for t, _ in FLUX_QUIRKS]
    + [t for t, _ in FIXTURE_JOBIDS]
    + INVALID,
)
def test_vectors_agree_with_libflux(text: str) -> None:
    try:
        ours: int | None = parse_jobid(text)
    except JobIdError:
        ours = None
    assert ours == flux_parse(text)


@needs_libflux
@pytest.mark.parametrize("text", DIVERGENCES[:-1])
def test_divergences_are_real(text: str) -> None:
    assert flux_parse(text) is not None
    assert known_divergence(text)


# Pieces that steer generated text into every branch of fluid_parse().
ATOMS = st.sampled_from(
    [
        *"0123456789abcdefABCDEFxX.-+_ \t/fƒjobzZlIO\u00e9",
        *("job.", "0x", "--", "🦄", "ignition", "natural", "analyze", "verbal"),
        *jobid_module._MN_WORDS[:40],
        *jobid_module._MN_WORDS[1600:],
        *jobid_module._EMOJIS[:12],
    ]
)


def mutated_jobids() -> st.SearchStrategy[str]:
    def mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
        chars = list(text)
        for op, pos, atom in edits:
            i = pos % (len(chars) + 1)
            if op == 0 and chars:
                del chars[min(i, len(chars) - 1)]
            elif op == 1:
                chars.insert(i, atom)
            elif chars:
                chars[min(i, len(chars) - 1)] = atom
        return "".join(chars)

    edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 100), ATOMS), max_size=3)
    texts = st.builds(format_jobid, uint64s, st.sampled_from(FORMS))
    return st.builds(mutate, texts, edits)


@needs_libflux
@settings(max_examples=1000)
@given(text=st.one_of(mutated_jobids(), st.lists(ATOMS, max_size=8).map("".join)))
def test_parse_agrees_with_libflux(text: str) -> None:
    try:
        ours: int | None = parse_jobid(text)
    except JobIdError:
        ours = None
    theirs = flux_parse(text)
    if ours is None and theirs is not None:
        assert known_divergence(text), (text, theirs)
    else:
        assert ours == theirs


@needs_libflux
@given(value=uint64s)
@example(value=0)
@example(value=UINT64_MAX)
def test_format_agrees_with_libflux(value: int) -> None:
    for form in FORMS:
        theirs = flux_encode(value, form)
        if form == "f58":  # flux writes "f" unless the locale is UTF-8
            theirs = "ƒ" + theirs.removeprefix("f").removeprefix("ƒ")
        assert format_jobid(value, form) == theirs


# --- the jobid a saved job's files or name give -------------------------------


def test_jobid_of_a_shell_service() -> None:
    from fluxout.jobid import jobid_of_service

    assert jobid_of_service("0-shell-f239Rs6P") == "ƒ239Rs6P"
    assert jobid_of_service("5001-shell-ƒ239Rs6P") == "ƒ239Rs6P"
    for other in ("shell-f239Rs6P", "x-shell-f239Rs6P", "0-shell-42", "0-shell-", "0-other-f2"):
        assert jobid_of_service(other) is None


@pytest.mark.parametrize(
    ("name", "jobid"),
    [
        ("f239Rs6P", "ƒ239Rs6P"),
        ("ƒ239Rs6P", "ƒ239Rs6P"),
        ("ƒresh", "ƒresh"),
        ("job.0000.0004.b400.0000", "ƒXmz6JB"),
        ("fresh", None),  # a word, not an id
        ("42", None),
        ("hello", None),
        ("f239Rs6P ", None),
        ("job.x", None),
    ],
)
def test_jobid_of_a_directory_name(name: str, jobid: str | None) -> None:
    from fluxout.jobid import jobid_of_name

    assert jobid_of_name(name) == jobid
