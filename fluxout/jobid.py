"""Parse and format Flux job ids (RFC 19 FLUIDs) exactly as flux-core v0.88.0.

This is a pure-Python port of what ``flux job id`` does, so that fluxout can
read job ids without libflux-core.  Sources ported (flux-core tag v0.88.0):

* ``src/common/libjob/id.c``: ``flux_job_id_parse()`` (skip leading
  whitespace, drop one ``job.`` prefix, then ``fluid_parse()``) and
  ``flux_job_id_encode()`` (dec, hex, kvs, dothex, words, f58, f58plain,
  emoji; the form name is case-insensitive).
* ``src/cmd/job/id.c``: ``flux job id`` trims input read from stdin with
  ``trim_string()`` before parsing; :func:`parse_jobid` does the same for
  every input.
* ``src/common/libutil/fluid.c``: ``fluid_parse()`` picks the decoder by
  looking at the string: any ``.`` means dothex (``sscanf("%4x.%4x.%4x.%4x")``),
  else any ``-`` means mnemonic words, else a ``ƒ`` or ``f`` prefix means F58,
  else a UTF-8 string of 1-7 emoji means basemoji, else ``strtoull()`` in base
  16 (``0x`` prefix) or 10.  F58 requires its prefix: ``JP8adV`` is no job id.
* ``src/common/libutil/mnemonic.c`` / ``mn_wordlist.c``: mnemonicode, applied
  to the 8 bytes of the id in host order, i.e. little-endian on every platform
  Flux runs on (x86-64, aarch64, ppc64le): low 32 bits first.
* ``src/common/libutil/basemoji.c``: base-576 emoji.

Everything flux accepts is accepted, quirks included, e.g. ``job.42`` (the
``job.`` prefix goes before *any* form), ``+42``, ``-1.0.0.0`` (sscanf ``%x``
takes a sign), ``0x1.2.3.4``, words separated by any non-letters and followed
by an unknown word (``...-academy-xyz``), and short plain words such as
``fuzzybunny`` or ``fast``, which are valid F58 ids.

Deliberate differences, all on inputs flux decodes only through integer
overflow or undefined behaviour:

* an F58 or emoji string whose value is 2**64 or more (flux wraps it modulo
  2**64) raises :class:`JobIdError`;
* an F58 string with a non-ASCII character after the prefix (flux indexes its
  digit table with a negative number) raises :class:`JobIdError`;
* a NUL character (a C string would end there) raises :class:`JobIdError`.

``format_jobid(id, "f58")`` always uses ``ƒ``; flux falls back to ``f`` when
the locale is not UTF-8 or ``FLUX_F58_FORCE_ASCII`` is set (use "f58plain").
"""

from __future__ import annotations

__all__ = [
    "FORMS",
    "UINT64_MAX",
    "JobIdError",
    "format_jobid",
    "is_jobid",
    "jobid_of_name",
    "jobid_of_service",
    "parse_jobid",
]

UINT64_MAX = 2**64 - 1

#: The forms :func:`format_jobid` writes, as ``flux job id --to=FORM`` names them.
FORMS = ("dec", "hex", "dothex", "kvs", "f58", "f58plain", "words", "emoji")

# isspace() in the C (and any UTF-8) locale.
_C_SPACE = " \t\n\v\f\r"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_DEC_DIGITS = frozenset("0123456789")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# fluid.c: F58 is base58 (bitcoin alphabet) with an "ƒ" (U+0192) or "f" prefix,
# at most 12 digits after the prefix.
_F58_PREFIX = "ƒ"
_F58_ALT_PREFIX = "f"
_MAX_B58_STRLEN = 12
_B58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = {c: i for i, c in enumerate(_B58_DIGITS)}

# mnemonicode word list, from flux-core src/common/libutil/mn_wordlist.c
# (" Wordlist ver 0.7"): mn_words[1..1633] in order; mn_words[0] is NULL in C,
# so word index i (1-based) is _MN_WORDS[i - 1].  The first 1626 (MN_BASE)
# words carry base-1626 digits; the last 7 (MN_REMAINDER) are only for 24-bit
# remainders, which an 8-byte FLUID never has.
#
#   Copyright (c) 2000  Oren Tirosh <oren@hishome.net>
#
#   Permission is hereby granted, free of charge, to any person obtaining a copy
#   of this software and associated documentation files (the "Software"), to
#   deal in the Software without restriction, including without limitation the
#   rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
#   sell copies of the Software, and to permit persons to whom the Software is
#   furnished to do so, subject to the following conditions:
#
#   The above copyright notice and this permission notice shall be included in
#   all copies or substantial portions of the Software.
#
#   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
#   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
#   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.  IN NO EVENT SHALL THE
#   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
#   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
#   FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
#   IN THE SOFTWARE.
_MN_WORDLIST = """
    academy acrobat active actor adam admiral adrian africa agenda
    agent airline airport aladdin alarm alaska albert albino album
    alcohol alex algebra alibi alice alien alpha alpine amadeus
    amanda amazon amber america amigo analog anatomy angel animal
    antenna antonio apollo april archive arctic arizona arnold aroma
    arthur artist asia aspect aspirin athena athlete atlas audio
    august austria axiom aztec balance ballad banana bandit banjo
    barcode baron basic battery belgium berlin bermuda bernard bikini
    binary bingo biology block blonde bonus boris boston boxer
    brandy bravo brazil bronze brown bruce bruno burger burma
    cabinet cactus cafe cairo cake calypso camel camera campus
    canada canal cannon canoe cantina canvas canyon capital caramel
    caravan carbon cargo carlo carol carpet cartel casino castle
    castro catalog caviar cecilia cement center century ceramic chamber
    chance change chaos charlie charm charter chef chemist cherry
    chess chicago chicken chief china cigar cinema circus citizen
    city clara classic claudia clean client climax clinic clock
    club cobra coconut cola collect colombo colony color combat
    comedy comet command compact company complex concept concert connect
    consul contact context contour control convert copy corner corona
    correct cosmos couple courage cowboy craft crash credit cricket
    critic crown crystal cuba culture dallas dance daniel david
    decade decimal deliver delta deluxe demand demo denmark derby
    design detect develop diagram dialog diamond diana diego diesel
    diet digital dilemma diploma direct disco disney distant doctor
    dollar dominic domino donald dragon drama dublin duet dynamic
    east ecology economy edgar egypt elastic elegant element elite
    elvis email energy engine english episode equator escort ethnic
    europe everest evident exact example exit exotic export express
    extra fabric factor falcon family fantasy fashion fiber fiction
    fidel fiesta figure film filter final finance finish finland
    flash florida flower fluid flute focus ford forest formal
    format formula fortune forum fragile france frank friend frozen
    future gabriel galaxy gallery gamma garage garden garlic gemini
    general genetic genius germany global gloria golf gondola gong
    good gordon gorilla grand granite graph green group guide
    guitar guru hand happy harbor harmony harvard havana hawaii
    helena hello henry hilton history horizon hotel human humor
    icon idea igloo igor image impact import index india
    indigo input insect instant iris italian jacket jacob jaguar
    janet japan jargon jazz jeep john joker jordan jumbo
    june jungle junior jupiter karate karma kayak kermit kilo
    king koala korea labor lady lagoon laptop laser latin
    lava lecture left legal lemon level lexicon liberal libra
    limbo limit linda linear lion liquid liter little llama
    lobby lobster local logic logo lola london lotus lucas
    lunar machine macro madam madonna madrid maestro magic magnet
    magnum major mama mambo manager mango manila marco marina
    market mars martin marvin master matrix maximum media medical
    mega melody melon memo mental mentor menu mercury message
    metal meteor meter method metro mexico miami micro million
    mineral minimum minus minute miracle mirage miranda mister mixer
    mobile model modem modern modular moment monaco monica monitor
    mono monster montana morgan motel motif motor mozart multi
    museum music mustang natural neon nepal neptune nerve neutral
    nevada news ninja nirvana normal nova novel nuclear numeric
    nylon oasis object observe ocean octopus olivia olympic omega
    opera optic optimal orange orbit organic orient origin orlando
    oscar oxford oxygen ozone pablo pacific pagoda palace pamela
    panama panda panel panic paradox pardon paris parker parking
    parody partner passage passive pasta pastel patent patriot patrol
    patron pegasus pelican penguin pepper percent perfect perfume period
    permit person peru phone photo piano picasso picnic picture
    pigment pilgrim pilot pirate pixel pizza planet plasma plaster
    plastic plaza pocket poem poetic poker polaris police politic
    polo polygon pony popcorn popular postage postal precise prefix
    premium present price prince printer prism private product profile
    program project protect proton public pulse puma pyramid queen
    radar radio random rapid rebel record recycle reflex reform
    regard regular relax report reptile reverse ricardo ringo ritual
    robert robot rocket rodeo romeo royal russian safari salad
    salami salmon salon salute samba sandra santana sardine school
    screen script second secret section segment select seminar senator
    senior sensor serial service sheriff shock sierra signal silicon
    silver similar simon single siren slogan social soda solar
    solid solo sonic soviet special speed spiral spirit sport
    static station status stereo stone stop street strong student
    studio style subject sultan super susan sushi suzuki switch
    symbol system tactic tahiti talent tango tarzan taxi telex
    tempo tennis texas textile theory thermos tiger titanic tokyo
    tomato topic tornado toronto torpedo total totem tourist tractor
    traffic transit trapeze travel tribal trick trident trilogy tripod
    tropic trumpet tulip tuna turbo twist ultra uniform union
    uranium vacuum valid vampire vanilla vatican velvet ventura venus
    vertigo veteran victor video vienna viking village vincent violet
    violin virtual virus visa vision visitor visual vitamin viva
    vocal vodka volcano voltage volume voyage water weekend welcome
    western window winter wizard wolf world xray yankee yoga
    yogurt yoyo zebra zero zigzag zipper zodiac zoom abraham
    action address alabama alfred almond ammonia analyze annual answer
    apple arena armada arsenal atlanta atomic avenue average bagel
    baker ballet bambino bamboo barbara basket bazaar benefit bicycle
    bishop blitz bonjour bottle bridge british brother brush budget
    cabaret cadet candle capitan capsule career cartoon channel chapter
    cheese circle cobalt cockpit college compass comrade condor crimson
    cyclone darwin declare degree delete delphi denver desert divide
    dolby domain domingo double drink driver eagle earth echo
    eclipse editor educate edward effect electra emerald emotion empire
    empty escape eternal evening exhibit expand explore extreme ferrari
    first flag folio forget forward freedom fresh friday fuji
    galileo garcia genesis gold gravity habitat hamlet harlem helium
    holiday house hunter ibiza iceberg imagine infant isotope jackson
    jamaica jasmine java jessica judo kitchen lazarus letter license
    lithium loyal lucky magenta mailbox manual marble mary maxwell
    mayor milk monarch monday money morning mother mystery native
    nectar nelson network next nikita nobel nobody nominal norway
    nothing number october office oliver opinion option order outside
    package pancake pandora panther papa patient pattern pedro pencil
    people phantom philips pioneer pluto podium portal potato prize
    process protein proxy pump pupil python quality quarter quiet
    rabbit radical radius rainbow ralph ramirez ravioli raymond respect
    respond result resume retro richard right risk river roger
    roman rondo sabrina salary salsa sample samuel saturn savage
    scarlet scoop scorpio scratch scroll sector serpent shadow shampoo
    sharon sharp short shrink silence silk simple slang smart
    smoke snake society sonar sonata soprano source sparta sphere
    spider sponsor spring acid adios agatha alamo alert almanac
    aloha andrea anita arcade aurora avalon baby baggage balloon
    bank basil begin biscuit blue bombay brain brenda brigade
    cable carmen cello celtic chariot chrome citrus civil cloud
    common compare cool copper coral crater cubic cupid cycle
    depend door dream dynasty edison edition enigma equal eric
    event evita exodus extend famous farmer food fossil frog
    fruit geneva gentle george giant gilbert gossip gram greek
    grille hammer harvest hazard heaven herbert heroic hexagon husband
    immune inca inch initial isabel ivory jason jerome joel
    joshua journal judge juliet jump justice kimono kinetic leonid
    lima maze medusa member memphis michael miguel milan mile
    miller mimic mimosa mission monkey moral moses mouse nancy
    natasha nebula nickel nina noise orchid oregano origami orinoco
    orion othello paper paprika prelude prepare pretend profit promise
    provide puzzle remote repair reply rival riviera robin rose
    rover rudolf saga sahara scholar shelter ship shoe sigma
    sister sleep smile spain spark split spray square stadium
    star storm story strange stretch stuart subway sugar sulfur
    summer survive sweet swim table taboo target teacher telecom
    temple tibet ticket tina today toga tommy tower trivial
    tunnel turtle twin uncle unicorn unique update valery vega
    version voodoo warning william wonder year yellow young absent
    absorb accent alfonso alias ambient andy anvil appear apropos
    archer ariel armor arrow austin avatar axis baboon bahama
    bali balsa bazooka beach beast beatles beauty before benny
    betty between beyond billy bison blast bless bogart bonanza
    book border brave bread break broken bucket buenos buffalo
    bundle button buzzer byte caesar camilla canary candid carrot
    cave chant child choice chris cipher clarion clark clever
    cliff clone conan conduct congo content costume cotton cover
    crack current danube data decide desire detail dexter dinner
    dispute donor druid drum easy eddie enjoy enrico epoxy
    erosion except exile explain fame fast father felix field
    fiona fire fish flame flex flipper float flood floor
    forbid forever fractal frame freddie front fuel gallop game
    garbo gate gibson ginger giraffe gizmo glass goblin gopher
    grace gray gregory grid griffin ground guest gustav gyro
    hair halt harris heart heavy herman hippie hobby honey
    hope horse hostel hydro imitate info ingrid inside invent
    invest invite iron ivan james jester jimmy join joseph
    juice julius july justin kansas karl kevin kiwi ladder
    lake laura learn legacy legend lesson life light list
    locate lopez lorenzo love lunch malta mammal margo marion
    mask match mayday meaning mercy middle mike mirror modest
    morph morris nadia nato navy needle neuron never newton
    nice night nissan nitro nixon north oberon octavia ohio
    olga open opus orca oval owner page paint palma
    parade parent parole paul peace pearl perform phoenix phrase
    pierre pinball place plate plato plume pogo point polite
    polka poncho powder prague press presto pretty prime promo
    quasi quest quick quiz quota race rachel raja ranger
    region remark rent reward rhino ribbon rider road rodent
    round rubber ruby rufus sabine saddle sailor saint salt
    satire scale scuba season secure shake shallow shannon shave
    shelf sherman shine shirt side sinatra sincere size slalom
    slow small snow sofia song sound south speech spell
    spend spoon stage stamp stand state stella stick sting
    stock store sunday sunset support sweden swing tape think
    thomas tictac time toast tobacco tonight torch torso touch
    toyota trade tribune trinity triton truck trust type under
    unit urban urgent user value vendor venice verona vibrate
    virgo visible vista vital voice vortex waiter watch wave
    weather wedding wheel whiskey wisdom deal null nurse quebec
    reserve reunion roof singer verbal amen ego fax jet
    job rio ski yes
"""
_MN_WORDS: tuple[str, ...] = tuple(_MN_WORDLIST.split())
_MN_BASE = 1626  # cube root of 2**32, rounded up
_MN_REMAINDER = 7
_MN_WORD_BUFLEN = 25  # mn_next_word_index() keeps at most 24 letters of a word
_MN_INDEX = {word: i + 1 for i, word in enumerate(_MN_WORDS)}  # 1-based, as in C

# basemoji.c: 576 emoji, each one code point of 4 UTF-8 bytes starting F0 9F;
# an id takes 1 to 7 of them, most significant first.
_EMOJILIST = """
    😃😄😁😆😅😂😉😊😍😘😚😋😜😝😏😒😌😔😪😷😵😲😳😨
    😰😥😢😭😱😖😣😞😓😩😫😤😡😠👿💀💩👹👺👻👽👾😺😸
    😹😻😼😽🙀😿😾🙈🙉🙊💌💘💝💖💗💓💞💕💟💔💛💚💙💜
    💋💯💢💥💫💦💨💬💤👋👌👈👉👆👇👍👎👊👏🙌👐🙏💅💪
    👂👃👀👅👄👶👦👧👱👨👩👴👵🙍🙎🙅🙆💁🙋🙇👮💂👷👸
    👳👲👰👼🎅💆💇🚶🏃💃👯🏂🏄🏊🛀👫💏💑👪👤👣🐵🐒🐶
    🐩🐺🐱🐯🐴🐎🐮🐷🐗🐽🐑🐫🐘🐭🐹🐰🐻🐨🐼🐾🐔🐣🐤🐥
    🐦🐧🐸🐢🐍🐲🐳🐬🐟🐠🐡🐙🐚🐌🐛🐜🐝🐞💐🌸💮🌹🌺🌻
    🌼🌷🌱🌴🌵🌾🌿🍀🍁🍂🍃🍄🍇🍈🍉🍊🍌🍍🍎🍏🍑🍒🍓🍅
    🍆🌽🌰🍞🍖🍗🍔🍟🍕🍳🍲🍱🍘🍙🍚🍛🍜🍝🍠🍢🍣🍤🍥🍡
    🍦🍧🍨🍩🍪🎂🍰🍫🍬🍭🍮🍯🍵🍶🍷🍸🍹🍺🍻🍴🔪🌏🗾🌋
    🗻🏠🏡🏢🏣🏥🏦🏨🏩🏪🏫🏬🏭🏯🏰💒🗼🗽🌁🌃🌄🌅🌆🌇
    🌉🎠🎡🎢💈🎪🚃🚄🚅🚇🚉🚌🚑🚒🚓🚕🚗🚙🚚🚲🚏🚨🚥🚧
    🚤🚢💺🚀🕛🕐🕑🕒🕓🕔🕕🕖🕗🕘🕙🕚🌑🌓🌔🌕🌙🌛🌟🌠
    🌌🌀🌈🌂🔥💧🌊🎃🎄🎆🎇🎈🎉🎊🎋🎍🎎🎏🎐🎑🎀🎁🎫🏆
    🏀🏈🎾🎳🎣🎽🎿🎯🔫🎱🔮🎮🎰🎲🃏🀄🎴🎭🎨👓👔👕👖👗
    👘👙👚👛👜👝🎒👞👟👠👡👢👑👒🎩🎓💄💍💎🔊📢📣🔔🎼
    🎵🎶🎤🎧📻🎷🎸🎹🎺🎻📱📲📞📟📠🔋🔌💻💽💾💿📀🎥🎬
    📺📷📹📼🔍🔎💡🔦🏮📔📕📖📗📘📙📚📓📒📃📜📄📰📑🔖
    💰💴💵💸💳💹📧📨📩📤📥📦📫📪📮📝💼📁📂📅📆📇📈📉
    📊📋📌📍📎📏📐🔒🔓🔏🔐🔑🔨💣🔧🔩🔗📡💉💊🚪🚽🚬🗿
    🏧🚹🚺🚻🚼🚾🚫🚭🔞🔃🔙🔚🔛🔜🔝🔯🔼🔽🎦📶📳📴💱💲
    🔱📛🔰🔟🔠🔡🔢🔣🔤🆎🆑🆒🆓🆔🆕🆖🆗🆘🆙🆚🈁🈶🈯🉐
    🈹🈚🈲🉑🈸🈴🈳🈺🈵🔴🔵🔶🔷🔸🔹🔺🔻💠🔘🔳🔲🏁🚩🎌
"""
_EMOJIS: tuple[str, ...] = tuple("".join(_EMOJILIST.split()))
_BASEMOJI_MAXDIGITS = 7  # BASEMOJI_MAXLEN 28 bytes / 4 bytes per emoji
_EMOJI_VALUE = {e: i for i, e in enumerate(_EMOJIS)}


class JobIdError(ValueError):
    """A string that is not a Flux job id.

    str() is a one-line message naming the input (its repr, so control
    characters cannot break the line); ``text`` is the input, ``reason`` why.
    """

    def __init__(self, text: str, reason: str = "") -> None:
        self.text = text
        self.reason = reason
        message = f"invalid Flux job id {text!r}"
        super().__init__(f"{message}: {reason}" if reason else message)


class _Invalid(Exception):
    """Internal: why a decoder rejected its input (becomes JobIdError)."""


def parse_jobid(text: str) -> int:
    """Any form `flux job id` accepts.

    f58 with 'ƒ' (U+0192) or ASCII 'f' prefix, decimal, 0x hex, dothex
    (xxxx.xxxx.xxxx.xxxx), kvs path (job.xxxx.xxxx.xxxx.xxxx), mnemonic words
    (e.g. 'academy-academy-academy--academy-academy-academy', which is 0) and
    emoji.  Leading/trailing whitespace is stripped.  Raises JobIdError
    otherwise (empty string, junk, out of 64-bit range, etc.).  See the module
    docstring for the flux quirks kept and the three deliberate differences.
    """
    if not isinstance(text, str):
        raise TypeError(f"job id must be a str, not {type(text).__name__}")
    # src/cmd/job/id.c trim_string(): isspace() on both ends.
    s = text.strip(_C_SPACE)
    if not s:
        raise JobIdError(text, "empty")
    if "\0" in s:
        raise JobIdError(text, "contains a NUL character")
    # flux_job_id_parse(): ignore one "job." prefix (the kvs form).
    if s.startswith("job."):
        s = s[4:]
    try:
        return _fluid_parse(s)
    except _Invalid as exc:
        raise JobIdError(text, str(exc)) from None


def is_jobid(text: str) -> bool:
    """True if :func:`parse_jobid` accepts ``text``."""
    if not isinstance(text, str):
        return False
    try:
        parse_jobid(text)
    except JobIdError:
        return False
    return True


def format_jobid(jobid: int, form: str = "f58") -> str:
    """Write ``jobid`` as ``flux job id --to=FORM`` would.

    form in: "dec", "hex" (0x...), "dothex", "kvs", "f58" (with ƒ), "f58plain"
    (ASCII f), "words", "emoji"; case-insensitive, as in flux (strcasecmp).
    Raises ValueError for an unknown form or a value out of range.
    """
    if isinstance(jobid, bool) or not isinstance(jobid, int):
        raise TypeError(f"job id must be an int, not {type(jobid).__name__}")
    if not 0 <= jobid <= UINT64_MAX:
        raise ValueError(f"job id {jobid} is out of range (0 to 2**64-1)")
    key = form.translate(_ASCII_LOWER) if isinstance(form, str) else form
    if key == "dec":
        return str(jobid)
    if key == "hex":
        return f"0x{jobid:x}"
    if key == "dothex":
        return _encode_dothex(jobid)
    if key == "kvs":
        return "job." + _encode_dothex(jobid)
    if key == "f58":
        return _F58_PREFIX + _encode_base(jobid, _B58_DIGITS)
    if key == "f58plain":
        return _F58_ALT_PREFIX + _encode_base(jobid, _B58_DIGITS)
    if key == "words":
        return _encode_words(jobid)
    if key == "emoji":
        return _encode_base(jobid, _EMOJIS)
    raise ValueError(f"unknown job id form {form!r}: use one of {', '.join(FORMS)}")


# --- fluid_parse() -----------------------------------------------------------


def _fluid_parse(s: str) -> int:
    if not s:
        raise _Invalid("nothing after 'job.'")
    s = s.lstrip(_C_SPACE)
    # fluid_string_detect_type(): the order matters ("f.x" is dothex, "f-x" words).
    if "." in s:
        return _decode_dothex(s)
    if "-" in s:
        return _decode_words(s)
    if s.startswith((_F58_PREFIX, _F58_ALT_PREFIX)):
        return _decode_f58(s)
    if 0 < len(s) <= _BASEMOJI_MAXDIGITS and all(c in _EMOJI_VALUE for c in s):
        return _decode_emoji(s)
    return _decode_integer(s)


def _decode_integer(s: str) -> int:
    """strtoull(s, &end, 16 if s starts with "0x" else 10), then only spaces.

    ``s`` has no leading space and cannot hold a '-' (that means words), so
    only an optional '+' (base 10) is left of strtoull's syntax.  ``s`` is
    never empty here (strtoull would give 0 for it).
    """
    if s.startswith("0x"):
        digits, base, allowed = s[2:], 16, _HEX_DIGITS
    else:
        digits, base, allowed = s.removeprefix("+"), 10, _DEC_DIGITS
    digits = digits.rstrip(_C_SPACE)
    if not digits or not all(c in allowed for c in digits):
        raise _Invalid("not a number, nor F58, dothex, kvs, words or emoji")
    value = int(digits, base)
    if value > UINT64_MAX:
        raise _Invalid("out of 64-bit range")
    return value


def _scan_hex4(s: str, i: int) -> tuple[int, int]:
    """glibc sscanf "%4x" at s[i:]: return (value as unsigned int, next index).

    Skips spaces (not counted in the width); then, within 4 characters, an
    optional sign, an optional "0x" after a leading 0 (the x is consumed but not
    part of the number), and hex digits.  The number is converted by strtoul and
    truncated to 32 bits, so "-1" is 0xffffffff.
    """
    n = len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    if i >= n:
        raise _Invalid("dothex needs 4 fields")
    width = 4
    negative = False
    digits = ""
    if s[i] in "+-":
        negative = s[i] == "-"
        i += 1
        width -= 1
    if width and i < n and s[i] == "0":
        digits = "0"
        i += 1
        width -= 1
        if width and i < n and s[i] in "xX":
            i += 1
            width -= 1
    while width and i < n and s[i] in _HEX_DIGITS:
        digits += s[i]
        i += 1
        width -= 1
    if not digits:
        raise _Invalid("dothex field is not hex")
    value = int(digits, 16)
    return (-value if negative else value) % 2**32, i


def _decode_dothex(s: str) -> int:
    """sscanf(s, "%4x.%4x.%4x.%4x%n") == 4 and nothing after the 4th field."""
    fields = []
    i = 0
    for k in range(4):
        if k:
            if i >= len(s) or s[i] != ".":
                raise _Invalid("dothex needs 4 fields of up to 4 hex digits")
            i += 1
        value, i = _scan_hex4(s, i)
        fields.append(value)
    if i != len(s):
        raise _Invalid("junk after dothex")
    b0, b1, b2, b3 = fields
    return ((b0 << 48) | (b1 << 32) | (b2 << 16) | b3) & UINT64_MAX


def _mn_words_of(s: str) -> list[str]:
    """Runs of ASCII letters: mn_next_word_index() treats all else as separators."""
    words: list[str] = []
    word: list[str] = []
    for c in s + " ":
        if c in _ASCII_LETTERS:
            word.append(c)
        elif word:
            words.append("".join(word))
            word = []
    return words


def _decode_words(s: str) -> int:
    """mn_decode(s, &fluid, 8) == 8: the words decode to exactly 8 bytes.

    Decoding stops at the first unknown word (that is not an error in itself);
    word i of a 3-word group is a base-1626 digit of a little-endian 32-bit
    group, least significant first, and the 3rd may not overflow 32 bits.
    """
    buf = bytearray(8)
    offset = 0
    for run in _mn_words_of(s):
        index = _MN_INDEX.get(run[: _MN_WORD_BUFLEN - 1].translate(_ASCII_LOWER))
        if index is None:
            break  # mn_next_word_index() returns 0: end of input for mn_decode
        # mn_decode_word_index()
        if index > _MN_BASE and offset % 4 != 2:
            raise _Invalid("misplaced mnemonic remainder word")
        if offset == len(buf):
            raise _Invalid("too many mnemonic words")
        group = offset & ~3
        x = int.from_bytes(buf[group : group + 4], "little")
        index -= 1
        step = offset % 4
        if step == 3:
            raise _Invalid("mnemonic word after a remainder word")
        if step == 2:
            if index >= _MN_BASE:
                x += (index - _MN_BASE) * _MN_BASE * _MN_BASE
                offset += 1
            else:
                if index >= 1625 or (index == 1624 and x > 1312671):
                    raise _Invalid("mnemonic words overflow 32 bits")
                x += index * _MN_BASE * _MN_BASE
                offset += 2
        elif step == 1:
            x += index * _MN_BASE
            offset += 1
        else:
            x = index
            offset += 1
        buf[group : group + 4] = (x % 2**32).to_bytes(4, "little")
    if offset != len(buf):
        raise _Invalid("not 6 mnemonic words")
    return int.from_bytes(buf, "little")


def _decode_f58(s: str) -> int:
    digits = s[1:]  # both prefixes are one character
    if len(digits.encode("utf-8", "surrogatepass")) > _MAX_B58_STRLEN:
        raise _Invalid("F58 too long")
    if not digits:
        raise _Invalid("no F58 digits")
    value = 0
    for c in digits:
        digit = _B58_VALUE.get(c)
        if digit is None:
            raise _Invalid(f"{c!r} is not an F58 digit")
        value = value * 58 + digit
    if value > UINT64_MAX:
        raise _Invalid("out of 64-bit range")
    return value


def _decode_emoji(s: str) -> int:
    value = 0
    for c in s:
        value = value * len(_EMOJIS) + _EMOJI_VALUE[c]
    if value > UINT64_MAX:
        raise _Invalid("out of 64-bit range")
    return value


# --- flux_job_id_encode() ----------------------------------------------------


def _encode_dothex(v: int) -> str:
    return f"{v >> 48:04x}.{v >> 32 & 0xFFFF:04x}.{v >> 16 & 0xFFFF:04x}.{v & 0xFFFF:04x}"


def _encode_base(v: int, digits: str | tuple[str, ...]) -> str:
    """Most significant digit first; 0 is the zero digit alone."""
    base = len(digits)
    out = [digits[v % base]]
    v //= base
    while v:
        out.append(digits[v % base])
        v //= base
    return "".join(reversed(out))


def _encode_words(v: int) -> str:
    """mn_encode(&fluid, 8, ..., "x-x-x--"): 'w-w-w--w-w-w', low 32 bits first."""
    groups = []
    for x in (v & 0xFFFFFFFF, v >> 32):
        digits = (x % _MN_BASE, x // _MN_BASE % _MN_BASE, x // _MN_BASE**2)
        groups.append("-".join(_MN_WORDS[d] for d in digits))
    return "--".join(groups)


def jobid_of_service(service: str) -> str | None:
    """The job of a job shell's service name, in F58 (``0-shell-f239Rs6P``
    -> ``ƒ239Rs6P``): the exec eventlog's shell.init names the shell's
    service ``<userid>-shell-<jobid>``. None for any other name."""
    uid, sep, job = service.partition("-shell-")
    if not sep or not uid.isdigit() or job[:1] not in ("f", _F58_PREFIX) or not is_jobid(job):
        return None
    return format_jobid(parse_jobid(job))


def jobid_of_name(name: str) -> str | None:
    """The job a saved job's directory is named after, in F58, when its name
    is a jobid as flux writes one and no word: F58 with ``ƒ``, F58 with an
    ASCII ``f`` and a digit (``f239Rs6P``, not ``fresh``), or a KVS path
    (``job.0000.0004.b400.0000``). None otherwise (``42``, ``hello``)."""
    if name.startswith(_F58_PREFIX):
        pass
    elif name.startswith(_F58_ALT_PREFIX):
        if not any(c.isdigit() for c in name):
            return None
    elif not name.startswith("job."):
        return None
    if name != name.strip(_C_SPACE) or not is_jobid(name):
        return None
    return format_jobid(parse_jobid(name))
