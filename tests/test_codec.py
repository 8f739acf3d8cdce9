"""amodp.codec against PHP itself.

Every expected value comes from PHP (``tests/data/*.json``, written by
``python tests/php_reference.py``, or a live ``php`` process through the
``php`` fixture) or from how the input was built; none from amodp's own output.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amodp.codec import (
    PHP_MAX_INPUT_VARS,
    PHP_MAX_NESTING,
    Shapes,
    decode,
    encode,
    parse,
    to_json,
)
from amodp.errors import AmodpError

DATA = Path(__file__).resolve().parent / "data"
CASES = sorted(DATA.glob("*.txt"))

# Differential tests: one PHP process per example, a few hundred bodies each.
DIFF = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROPS = settings(max_examples=200, deadline=None, database=None)

# Text that survives a round trip through UTF-8 (no lone surrogates).
UNICODE = st.characters(codec="utf-8")


def expected(case: Path, suffix: str) -> str:
    path = case.with_name(case.stem + suffix)
    if not path.exists():
        pytest.fail(f"{path.name} is missing: run python tests/php_reference.py")
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n"), f"{path.name}: written by php_reference.py, ends with a newline"
    return text[:-1]


def mismatches(bodies: list[bytes], php_out: list[str], indent: int | None = None) -> list[str]:
    """Readable lines for every body where amodp and PHP disagree: through
    :func:`decode`, and through one :class:`Shapes` as a listener decodes
    (the first body of a shape learns it, the next ones fill it)."""
    bad = []
    shapes = Shapes()
    for body, want in zip(bodies, php_out, strict=True):
        for how, got_value in (
            ("decode", decode(body)),
            ("Shapes, learning", shapes.parse(body).value),
            ("Shapes, filling", shapes.parse(body).value),
        ):
            got = to_json(got_value, indent=indent)
            if got != want:
                bad.append(f"body {body!r}\n  php   {want}\n  amodp {got} ({how})")
    return bad


# -- the stored cases ---------------------------------------------------------


def test_there_are_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case_pretty(case: Path):
    assert to_json(decode(case.read_bytes())) == expected(case, ".json")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case_compact(case: Path):
    assert to_json(decode(case.read_bytes()), indent=None) == expected(case, ".compact.json")


def test_stored_cases_are_what_php_prints(php):
    """The .json files are current: PHP still prints them for the .txt bodies."""
    bodies = [case.read_bytes() for case in CASES]
    for suffix, pretty in ((".json", True), (".compact.json", False)):
        live = php.php_decode_many(bodies, pretty=pretty)
        for case, out in zip(CASES, live, strict=True):
            assert expected(case, suffix) == out, f"{case.stem}{suffix} is stale"


# -- parse(): variables, depth, warnings -----------------------------------------


def nested_name(levels: int) -> str:
    return "a" + "".join(f"[k{i}]" for i in range(levels))


def test_clean_body_has_no_warnings():
    body = (DATA / "dp_status_real.txt").read_bytes()
    result = parse(body)
    assert result.warnings == []
    assert result.variables == body.count(b"&") + 1 == 7
    assert result.depth == 3  # leads[status][0][id]
    assert result.value == decode(body)


@pytest.mark.parametrize("count", [1, 999, PHP_MAX_INPUT_VARS])
def test_no_warning_up_to_max_input_vars(count: int):
    result = parse("&".join(f"v{i}={i}" for i in range(count)))
    assert result.variables == count
    assert result.warnings == []


@pytest.mark.parametrize("count", [PHP_MAX_INPUT_VARS + 1, 1500])
def test_warning_past_max_input_vars(count: int):
    result = parse("&".join(f"x[{i}]={i}" for i in range(count)))
    assert result.variables == count
    assert len(result.warnings) == 1
    assert "max_input_vars" in result.warnings[0]
    assert str(count) in result.warnings[0]


@pytest.mark.parametrize("levels", [0, 1, 2, 10, PHP_MAX_NESTING])
def test_no_warning_up_to_max_nesting(levels: int):
    result = parse(f"{nested_name(levels)}=v&b=1")
    assert result.depth == levels
    assert result.variables == 2
    assert result.warnings == []


@pytest.mark.parametrize("levels", [PHP_MAX_NESTING + 1, 70, 200])
def test_warning_past_max_nesting(levels: int):
    result = parse(f"b[c]=1&{nested_name(levels)}=v")
    assert result.depth == levels
    assert len(result.warnings) == 1
    assert "max_input_nesting_level" in result.warnings[0]


def test_unterminated_level_counts_for_nesting():
    """PHP counts the unterminated ``[x`` of ``a[k0]..[k63][x=1`` as level 65
    and drops the whole variable ``a``."""
    result = parse(f"{nested_name(PHP_MAX_NESTING)}[x=1")
    assert any("max_input_nesting_level" in w for w in result.warnings)


def test_warnings_match_what_a_default_php_receiver_loses(php):
    """PHP with its default limits loses data exactly for the bodies amodp warns about."""
    bodies = [
        "&".join(f"v{i}={i}" for i in range(PHP_MAX_INPUT_VARS)),
        "&".join(f"v{i}={i}" for i in range(PHP_MAX_INPUT_VARS + 1)),
        "&".join(f"l[{i}][id]={i}" for i in range(PHP_MAX_INPUT_VARS + 5)),
        f"{nested_name(PHP_MAX_NESTING)}=v&b=1",
        f"{nested_name(PHP_MAX_NESTING + 1)}=v&b=1",
        f"a[x]=1&{nested_name(PHP_MAX_NESTING + 1)}=v",
        f"{nested_name(PHP_MAX_NESTING - 1)}[x=1",
        f"{nested_name(PHP_MAX_NESTING)}[x=1",
        "leads[status][0][id]=1&account[id]=2",
    ]
    raw = [b.encode() for b in bodies]
    unlimited = php.php_decode_many(raw)
    limited = php.php_decode_many(raw, limits=True)
    for body, free, capped in zip(bodies, unlimited, limited, strict=True):
        loses = free != capped
        warns = any(
            "max_input_vars" in w or "max_input_nesting_level" in w for w in parse(body).warnings
        )
        assert warns == loses, f"{body[:60]}...: PHP loses data: {loses}, amodp warns: {warns}"


@pytest.mark.parametrize(
    "body", ["a=%zz", "a=%4", "a=100%", "%zz=1", "a[%4]=1", "a=%", "a=%%41", "a=x&b[c%G0]=1"]
)
def test_warning_invalid_percent(body: str):
    warnings = parse(body).warnings
    assert len(warnings) == 1
    assert "%" in warnings[0] and "escape" in warnings[0]


@pytest.mark.parametrize(
    "body",
    [b"a=%FF", b"a=%E4%FF%C3%28", b"%FF=1", b"k[%C3]=1", b"a=\xff", b"a[\xd0]=1", b"a=%ED%A0%80"],
)
def test_warning_invalid_utf8(body: bytes):
    warnings = parse(body).warnings
    assert len(warnings) == 1
    assert "UTF-8" in warnings[0]


@pytest.mark.parametrize(
    "body",
    [
        "a=%D0%BF%F0%9F%98%80",
        "a=п😀",
        "a=%25zz&b=%2541",
        "a=100%25",
        "a%5Bb%5D=1&c%5bd%5d=2",
        "a=%E2%80%A8",
        "",
        "&&",
    ],
)
def test_no_warning_for_valid_escapes(body: str):
    assert parse(body).warnings == []


NAME_CHARS = st.sampled_from("abcxyz_-01")


@PROPS
@given(
    st.lists(
        st.tuples(
            st.text(NAME_CHARS, min_size=1, max_size=4),
            st.lists(st.text(NAME_CHARS, min_size=1, max_size=3), max_size=8),
            st.text(UNICODE, max_size=5),
        ),
        max_size=30,
    )
)
def test_parse_counts_variables_and_depth(pairs):
    body = "&".join(
        quote_plus(base) + "".join(f"[{seg}]" for seg in segs) + "=" + quote_plus(value)
        for base, segs, value in pairs
    )
    result = parse(body)
    assert result.variables == len(pairs)
    assert result.depth == max((len(segs) for _, segs, _ in pairs), default=0)


# -- decode vs PHP: raw bodies full of the tricky characters ---------------------

TOKENS = [
    b"[", b"]", b"[", b"]", b"=", b"&", b"=", b"&", b"%", b"%5B", b"%5D", b"%5b", b"%5d",
    b"+", b" ", b".", b"%2E", b"%20", b"0", b"1", b"7", b"12", b"01", b"-", b"-0", b"-3",
    b"a", b"b", b"x", b"leads", b"9223372036854775807", b"9223372036854775808",
    b"-9223372036854775808", b"-9223372036854775809", b"%00", b"%FF", b"%C3", b"%E4",
    b"%D0%BF", b"%ED%A0%80", b"%F0%9F%98", b"%E2%80%A8", b"%4", b"%zz", b"%2", b"%09",
    b"\t", b"%0A", b"%26", b"%3D", b"%2B", b"%25", b"%5", b"\\", b"/", b'"',
    "п".encode(), "Сделка".encode(), "😀".encode(), b"\xd0", b"\xff", b"\xe4\xbd", b"\x80",
]  # fmt: skip

RAW_BODY = st.lists(st.sampled_from(TOKENS), max_size=16).map(b"".join)


@DIFF
@given(st.lists(RAW_BODY, min_size=100, max_size=250))
def test_decode_matches_php_on_tricky_bodies(php, bodies):
    bad = mismatches(bodies, php.php_decode_many(bodies))
    assert not bad, f"{len(bad)} of {len(bodies)} differ; first:\n" + "\n".join(bad[:5])


# Realistic bodies: bracket keys with colliding segments, then encoded in
# several styles (%5B or literal brackets, + or %20, raw UTF-8 or escaped).
SEGMENT = st.one_of(
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "3",
            "id",
            "name",
            "values",
            "value",
            "",
            " ",
            "-1",
            "01",
            "status",
            "9223372036854775807",
            "custom_fields",
            "[",
            "a.b",
            "x y",
        ]
    ),  # fmt: skip
    st.text(UNICODE, max_size=4),
)
BASE = st.one_of(
    st.sampled_from(["leads", "account", "contacts", "a", "0", "1", "a.b", " x", "_links"]),
    st.text(UNICODE, min_size=1, max_size=4),
)
PAIR = st.tuples(BASE, st.lists(SEGMENT, max_size=5), st.text(UNICODE, max_size=8))


@st.composite
def bracket_body(draw) -> bytes:
    pairs = draw(st.lists(PAIR, min_size=1, max_size=12))
    literal_brackets = draw(st.booleans())
    raw_utf8 = draw(st.booleans())
    space = draw(st.sampled_from(["+", "%20"]))

    def esc(text: str) -> str:
        out = "".join(c if raw_utf8 and ord(c) > 127 else quote(c, safe="") for c in text)
        out = out.replace("%20", space)
        if literal_brackets:
            out = out.replace("%5B", "[").replace("%5D", "]")
        return out

    parts = []
    for base, segments, value in pairs:
        name = esc(base) + "".join(
            ("[" if literal_brackets else "%5B") + esc(s) + ("]" if literal_brackets else "%5D")
            for s in segments
        )
        parts.append(f"{name}={esc(value)}")
    return "&".join(parts).encode("utf-8")


@DIFF
@given(st.lists(bracket_body(), min_size=20, max_size=40))
def test_decode_matches_php_on_bracket_bodies(php, bodies):
    bad = mismatches(bodies, php.php_decode_many(bodies))
    assert not bad, f"{len(bad)} of {len(bodies)} differ; first:\n" + "\n".join(bad[:5])


@DIFF
@given(
    st.lists(PAIR, min_size=1, max_size=12),
    st.lists(st.lists(st.sampled_from(TOKENS), max_size=4).map(b"".join), min_size=36),
)
def test_decode_matches_php_on_bodies_that_share_names(php, pairs, raw_values):
    """The same names with other values each time (escapes, invalid UTF-8, "="),
    as a listener sees them: like PHP every time."""
    names = [
        quote(base, safe="") + "".join(f"%5B{quote(seg, safe='')}%5D" for seg in segments)
        for base, segments, _ in pairs
    ]
    values = [v.replace(b"&", b"%26") for v in raw_values]
    bodies = [
        b"&".join(
            name.encode() + b"=" + values[(round_ * len(names) + i) % len(values)]
            for i, name in enumerate(names)
        )
        for round_ in range(3)
    ]
    bad = mismatches(bodies, php.php_decode_many(bodies))
    assert not bad, f"{len(bad)} of {len(bodies)} differ; first:\n" + "\n".join(bad[:5])


def test_pairs_are_split_at_the_first_equals_sign(php):
    """Split at every "=" and "&", "a&1=c=2" gives the names and values of
    "a=1&c=2", yet PHP reads a pair "a" and a pair "1" = "c=2"."""
    bodies = [
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=2",
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D&1=account%5Bid%5D=2",
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1=account%5Bid%5D&2",
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=2&",
        b"&leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=2",
    ]
    bad = mismatches(bodies, php.php_decode_many(bodies))
    assert not bad, "\n".join(bad)


@DIFF
@given(st.lists(bracket_body(), min_size=5, max_size=20))
def test_pretty_matches_php(php, bodies):
    bad = mismatches(bodies, php.php_decode_many(bodies, pretty=True), indent=4)
    assert not bad, "\n".join(bad[:3])


# -- properties -------------------------------------------------------------------

_INT_LIKE = re.compile(r"-?[0-9]+")
_C_SPACE = " \t\n\v\f\r"


def _plain_top(key: str) -> bool:
    return not _INT_LIKE.fullmatch(key)


def _plain_nested(key: str) -> bool:
    # "a[\t]" appends, as "a[]" does (PHP skips one isspace() before "]").
    return not _INT_LIKE.fullmatch(key) and not (len(key) == 1 and key in _C_SPACE)


# Keys PHP keeps as they are: a top-level name loses " ", "." and "[" (and
# everything from a NUL); a nested one ends at the first "]".
TOP_KEY = st.text(
    st.characters(codec="utf-8", exclude_characters=" .[\x00"), min_size=1, max_size=6
).filter(_plain_top)
NESTED_KEY = st.text(
    st.characters(codec="utf-8", exclude_characters="]\x00"), min_size=1, max_size=6
).filter(_plain_nested)
TRICKY_TEXT = st.text(st.one_of(UNICODE, st.sampled_from("[]=&%+. ~*\x00\u2028")), max_size=8)
LEAF = TRICKY_TEXT


def _identity_tree(leaf):
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.dictionaries(NESTED_KEY, children, min_size=1, max_size=4),
            st.lists(children, min_size=1, max_size=4),
        ),
        max_leaves=12,
    )


IDENTITY_DOC = st.one_of(
    st.dictionaries(TOP_KEY, _identity_tree(LEAF), min_size=1, max_size=5),
    st.lists(_identity_tree(LEAF), min_size=1, max_size=4),
)


def ordered(value):
    """Order-sensitive form (PHP arrays are ordered; dict equality is not)."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


@PROPS
@given(IDENTITY_DOC)
def test_decode_inverts_encode(doc):
    back = decode(encode(doc))
    assert back == doc
    assert ordered(back) == ordered(doc)


# Anything encode accepts, integer-looking keys, empty containers and nulls
# included; only names PHP would rewrite are left out.
ANY_KEY = st.one_of(
    st.sampled_from(["0", "1", "2", "10", "-1", "01", "-0", "9223372036854775808"]),
    NESTED_KEY,
)
ANY_LEAF = st.one_of(TRICKY_TEXT, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none())
ANY_TREE = st.recursive(
    ANY_LEAF,
    lambda children: st.one_of(
        st.dictionaries(ANY_KEY, children, max_size=4), st.lists(children, max_size=4)
    ),
    max_leaves=12,
)
ANY_DOC = st.one_of(
    st.dictionaries(st.one_of(TOP_KEY, st.sampled_from(["0", "1", "-1", "01"])), ANY_TREE),
    st.lists(ANY_TREE, max_size=4),
)


@PROPS
@given(ANY_DOC)
def test_encode_inverts_decode_on_canonical_bodies(doc):
    body = encode(doc)
    assert encode(decode(body)) == body


def _decodes_quietly(body) -> None:
    try:
        result = parse(body)
        to_json(result.value)
        to_json(result.value, indent=None)
        decode(body)
    except AmodpError:
        pass


@PROPS
@given(st.binary(max_size=200))
def test_decode_never_crashes_on_bytes(body):
    _decodes_quietly(body)


@PROPS
@given(st.text(max_size=200))
def test_decode_never_crashes_on_text(body):
    _decodes_quietly(body)


@PROPS
@given(st.text(st.characters(), max_size=100))  # lone surrogates included
def test_decode_never_crashes_on_any_str(body):
    _decodes_quietly(body)


@PROPS
@given(st.lists(st.sampled_from([t.decode("utf-8", "replace") for t in TOKENS])).map("".join))
def test_str_and_utf8_bytes_decode_alike(body):
    as_text = decode(body)
    as_bytes = decode(body.encode("utf-8"))
    assert as_text == as_bytes
    assert to_json(as_text) == to_json(as_bytes)


@PROPS
@given(st.text(UNICODE, max_size=60))
def test_str_and_utf8_bytes_decode_alike_any_text(body):
    assert to_json(decode(body), indent=None) == to_json(decode(body.encode("utf-8")), indent=None)


# -- encode vs PHP http_build_query ------------------------------------------------

ENCODE_TEXT = st.text(st.one_of(UNICODE, st.sampled_from("~*  -_.!'()[]=&+%/\u2028")), max_size=8)
JSON_LEAF = st.one_of(
    ENCODE_TEXT,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
JSON_TREE = st.recursive(
    JSON_LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ENCODE_TEXT, children, max_size=4)
    ),
    max_leaves=15,
)
JSON_DOC = st.one_of(
    st.dictionaries(ENCODE_TEXT, JSON_TREE, max_size=5), st.lists(JSON_TREE, max_size=5)
)


def php_encode_check(php, docs) -> None:
    texts = [json.dumps(doc) for doc in docs]
    bad = [
        f"{text}\n  php   {want}\n  amodp {encode(doc)}"
        for doc, text, want in zip(docs, texts, php.php_encode_many(texts), strict=True)
        if encode(doc) != want
    ]
    assert not bad, f"{len(bad)} of {len(docs)} differ; first:\n" + "\n".join(bad[:5])


@DIFF
@given(st.lists(JSON_DOC, min_size=20, max_size=100))
def test_encode_matches_php(php, docs):
    php_encode_check(php, docs)


def test_encode_matches_php_examples(php):
    php_encode_check(
        php,
        [
            {"leads": {"status": [{"id": "10754147", "status_id": 142}]}, "account": {}},
            {"a": "x y~z*", "b": "Сделка №1", "c": None, "d": True, "e": False, "f": []},
            {"n": -(2**63), "m": 2**63 - 1, "z": 0, "": "empty key"},
            ["a", ["b", {"c": "d"}], {}],
            {"url": "https://example.amocrm.ru/a?b=c&d=e#f", "q": '50% + 1 = "x"'},
            {"x": {"5": "a", "-1": "b", "01": "c"}},
            {},
            [],
        ],
    )


@pytest.mark.parametrize("number", [1.5, 0.1, 0.25, -2.5, 1234.5678, 3.14159])
def test_encode_float_matches_php(php, number):
    php_encode_check(php, [{"x": number}, [number]])


@pytest.mark.parametrize(
    "number",
    [100.0, 1e20, 0.1 + 0.2, 1e-7, 1e-5, 1e-4, -0.0, 0.0, 2.0**60, 1e14, 1e15, 1 / 3, -3.25e-4]
    # 15-digit integers that tie at the 14th digit: PHP keeps trailing zeros
    # when it rounds down (1.0000000000000E+14), not when it rounds up.
    + [100000000000005.0, 100000000000015.0, -677208718767305.0, 999999999999995.0, 12e13 + 5],
)
def test_encode_float_php_formatting(php, number):
    # PHP prints floats with "%.*G" at precision 14: 100.0 -> 100, 1e20 -> 1.0E+20.
    php_encode_check(php, [{"x": number}])


@DIFF
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-(10**16), 10**16).map(float),
        ),
        min_size=20,
        max_size=100,
    )
)
def test_encode_floats_match_php(php, numbers):
    php_encode_check(php, [{"x": n} for n in numbers])


# -- the package generates no code --------------------------------------------------


def test_no_module_generates_code() -> None:
    """No call to the builtins eval, exec or compile anywhere in amodp
    (``re.compile`` and ``ast.literal_eval`` are attribute calls: allowed)."""
    package = Path(__file__).resolve().parent.parent / "amodp"
    calls = [
        f"{path.name}:{node.lineno} {node.func.id}()"
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("eval", "exec", "compile")
    ]
    assert calls == []


def test_the_garbage_collector_is_never_switched() -> None:
    """Nothing turns the collector off or on or tunes it; the one call to it
    is ``gc.freeze()`` in ``listener.run``, once, in the process ``amodp
    listen`` owns (never in a library caller's)."""
    package = Path(__file__).resolve().parent.parent / "amodp"
    calls = [
        (path.name, node.func.attr)
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "gc"
    ]
    assert calls == [("listener.py", "freeze")]


@PROPS
@given(st.lists(RAW_BODY, min_size=1, max_size=8), st.lists(RAW_BODY, min_size=8, max_size=8))
def test_shapes_give_what_parse_gives(bodies, others):
    """Value and warnings, for a body seen first and again, and for its names
    with other values (a shape learnt from one body fills another)."""
    shapes = Shapes(size=4)  # small: shapes are forgotten and learnt again too
    for body, other in zip(bodies, others, strict=False):
        names = [pair.partition(b"=")[0] for pair in body.split(b"&")]
        values = [pair.partition(b"=")[2] for pair in other.split(b"&")] or [b""]
        same_names = b"&".join(
            n + b"=" + values[i % len(values)].replace(b"&", b"%26") for i, n in enumerate(names)
        )
        for sample in (body, body, same_names):
            want, got = parse(sample), shapes.parse(sample)
            assert (got.value, got.warnings) == (want.value, want.warnings), sample
            assert (got.variables, got.depth) == (want.variables, want.depth), sample


def test_shapes_keep_a_bounded_number_of_shapes():
    shapes = Shapes(size=3)
    for i in range(10):
        body = f"a{i}[x]=1".encode()
        assert shapes.parse(body).value == {f"a{i}": {"x": "1"}}
        assert len(shapes._shapes) <= 3


def test_shapes_leave_big_bodies_to_parse():
    shapes = Shapes(max_pairs=5)
    body = b"&".join(b"a[]=%d" % i for i in range(6))
    assert shapes.parse(body).value == {"a": [str(i) for i in range(6)]}
    assert not shapes._shapes


# -- what other modules use of PHP's rules ----------------------------------------------


def _php_run(php, code: str, stdin: bytes = b"") -> bytes:
    done = subprocess.run(
        [php.php_binary(), *php.PHP_ARGS, "-r", code],
        input=stdin,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_urlencode_is_phps_for_every_byte_and_for_text(php):
    from amodp.codec import urlencode

    every = bytes(range(256))
    script = "echo urlencode(file_get_contents('php://stdin'));"
    assert urlencode(every) == _php_run(php, script, every).decode("ascii")
    text = "Сделка №1: a+b ~*'()! & c=d"
    assert urlencode(text) == _php_run(php, script, text.encode()).decode("ascii")


def test_the_input_limits_are_phps_defaults(php):
    """What a default receiver keeps: php.ini's defaults (no php.ini read)."""
    assert PHP_MAX_INPUT_VARS == 1000
    script = "echo ini_get('max_input_vars'), ' ', ini_get('max_input_nesting_level');"
    limits = _php_run(php, script)
    assert limits.decode() == f"{PHP_MAX_INPUT_VARS} {PHP_MAX_NESTING}"


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', '{"a": [1, NaN]}'])
def test_load_json_refuses_what_json_decode_refuses(php, text):
    from amodp.codec import load_json

    script = "var_dump(json_decode(file_get_contents('php://stdin')), json_last_error() !== 0);"
    assert _php_run(php, script, text.encode()) == b"NULL\nbool(true)\n"
    with pytest.raises(ValueError, match="is not a JSON value"):
        load_json(text)
    with pytest.raises(ValueError, match="is not a JSON value"):
        load_json(text.encode())


def test_load_json_reads_what_json_decode_reads(php):
    from amodp.codec import load_json

    text = '{"a": [1, 2.5, "x", null, true], "b": {"c": "Сделка"}}'
    script = "echo json_encode(json_decode(file_get_contents('php://stdin')));"
    assert load_json(text) == json.loads(_php_run(php, script, text.encode()))
