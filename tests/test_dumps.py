"""What PHP developers paste, read back by ``amodp decode`` into exactly what
PHP's ``json_encode($_POST)`` printed.

PHP itself parses real bodies (the kept captures, ``tests/data/*.txt``, every
event amodp generates, and random bodies full of the characters dumps
trip on) and prints ``$_POST`` with print_r, var_dump, var_export,
json_encode (JSON Lines) and as a Monolog log line; Laravel's ``dd()`` comes
from real VarDumper output kept in ``tests/data/dumps`` (see its README).
Each is fed to ``amodp decode`` (the CLI) and to :func:`amodp.inputs.read_sources`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from typer.testing import CliRunner

import amodp
from amodp.cli import ExitCode, app
from amodp.codec import decode, encode, to_json
from amodp.dumps import body_of, read_dumps
from amodp.errors import InputError
from amodp.inputs import detect, read_sources

TESTS = Path(__file__).parent
DD = TESTS / "data" / "dumps" / "dd"
runner = CliRunner()


def _bodies() -> dict[str, dict[str, bytes]]:
    """The bodies PHP dumps, by group: real captures, the codec's cases,
    amodp's generated webhooks, random ones."""
    captures = sorted((TESTS / "fixtures" / "captures").glob("*.txt"))
    captures.append(TESTS / "data" / "captures" / "dp_leads_status.txt")
    generated = {}
    for kind in ("dp", "account"):
        for request in amodp.generate_all(kind=kind, seed=11, count=2):
            generated[f"{kind}:{request.name}"] = bytes(request.body)
    return {
        "captures": {path.stem: path.read_bytes() for path in captures},
        "data": {path.stem: path.read_bytes() for path in sorted((TESTS / "data").glob("*.txt"))},
        "generated": generated,
        "random": {f"random {i}": body for i, body in enumerate(_random_bodies(120))},
    }


# What dumps trip on: quotes, backslashes, brackets, arrows, line breaks,
# NUL, non-UTF-8 bytes, "Array", Cyrillic and emoji.
_PIECES = [
    "a", "Z", "7", " ", "  ", "\n", "\r\n", "\t", "'", '"', "\\", "\\'", "[", "]",
    "=>", " => ", "(", ")", "Array", "array(1) {", "array:1 [", "{", "}", ",", ".",
    "\0", "Я", "ё", "😀", "…", "%", "&", "+", "=", "string(3)", "NULL", "null",
]  # fmt: skip


def _random_bodies(count: int) -> list[bytes]:
    rng = random.Random(20250601)
    bodies = []
    for _ in range(count):
        value: dict[str, Any] = {}
        for _ in range(rng.randint(1, 6)):
            node = value
            path = [rng.choice(["leads", "account", "x", "contacts", "ключ", "a b"])]
            path += [rng.choice(["0", "1", "id", "name", "7", "-3", "01", "a.b"])
                     for _ in range(rng.randint(0, 3))]  # fmt: skip
            for key in path[:-1]:
                child = node.get(key)
                node = node.setdefault(key, {}) if isinstance(child, dict) or child is None else {}
            text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8)))
            node[path[-1]] = text
        body = encode(value).encode("ascii")
        if rng.random() < 0.1:
            body += b"&raw=%FF%D0"  # a value that is not UTF-8
        bodies.append(body)
    return bodies


BODIES = _bodies()
GROUPS = list(BODIES)

_PHP_DUMPS = r"""
$items = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$flags = JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE;
// Monolog's own flags (Monolog\Utils::DEFAULT_JSON_FLAGS).
$monolog = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
    | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
foreach ($items as $item) {
    $post = [];
    parse_str(base64_decode($item, true), $post);
    ob_start();
    var_dump($post);
    $out = [
        'expected' => json_encode($post, $flags),
        'print_r' => print_r($post, true),
        'var_dump' => ob_get_clean(),
        'var_export' => var_export($post, true),
        'json' => json_encode($post, $flags),
        'log' => '[2025-06-01 12:00:00] local.INFO: amo webhook ' . json_encode($post, $monolog),
    ];
    echo json_encode(array_map('base64_encode', $out)), "\n";
}
"""


@pytest.fixture(scope="session")
def dumps(php: Any) -> dict[str, dict[str, dict[str, bytes]]]:
    """PHP's dumps of every body: group -> body name -> kind -> bytes."""
    names = [(group, name) for group in GROUPS for name in BODIES[group]]
    payload = [base64.b64encode(BODIES[g][n]).decode("ascii") for g, n in names]
    done = subprocess.run(
        [php.php_binary(), *php.PHP_ARGS, *php.NO_LIMITS, "-r", _PHP_DUMPS],
        input=json.dumps(payload).encode("ascii"),
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()
    lines = done.stdout.splitlines()
    assert len(lines) == len(names)
    found: dict[str, dict[str, dict[str, bytes]]] = {group: {} for group in GROUPS}
    for (group, name), line in zip(names, lines, strict=True):
        found[group][name] = {k: base64.b64decode(v) for k, v in json.loads(line).items()}
    return found


def _decoded(text: bytes, *args: str) -> tuple[list[str], Any]:
    """What ``amodp decode --compact`` prints for ``text``, one line per
    output (the CLI), checked against what the library reads."""
    result = runner.invoke(app, ["decode", "--compact", *args], input=text)
    assert result.exit_code == 0, result.stderr
    printed = result.stdout.splitlines()
    form = args[1] if args[:1] == ("--from",) else "auto"
    sources = read_sources(text, form)
    assert [to_json(decode(s.body), indent=None) for s in sources] == printed
    return printed, sources


def _safe_for_print_r(value: Any) -> bool:
    """print_r writes values as they are: one holding a line break and then
    what looks like print_r's own lines cannot be told from them."""
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return all(_safe_for_print_r(v) for v in items)
    return not re.search(r"\n\s*(?:\[|\)|\()|^Array\s*\n|\nArray\s*$", value)


# -- print_r, var_dump, var_export --------------------------------------------------------


@pytest.mark.parametrize("kind", ["print_r", "var_dump", "var_export"])
@pytest.mark.parametrize("group", GROUPS)
def test_php_dump_reads_back_to_what_json_encode_printed(dumps: Any, group: str, kind: str) -> None:
    checked = 0
    for name, made in dumps[group].items():
        expected = made["expected"].decode("utf-8")
        if kind == "print_r" and not _safe_for_print_r(json.loads(expected)):
            continue
        assert detect(made[kind]) == "php", name
        printed, sources = _decoded(made[kind])
        assert printed == [expected], name
        assert [s.form for s in sources] == ["php"]
        assert sources[0].warnings == (), name
        checked += 1
    assert checked >= len(dumps[group]) * 0.8


@pytest.mark.parametrize("kind", ["print_r", "var_dump", "var_export"])
def test_read_dumps_gives_the_array_php_dumped(dumps: Any, kind: str) -> None:
    """The library reader alone: the body it writes decodes to PHP's array."""
    for group in GROUPS:
        for name, made in dumps[group].items():
            expected = made["expected"].decode("utf-8")
            if kind == "print_r" and not _safe_for_print_r(json.loads(expected)):
                continue
            (dump,) = read_dumps(made[kind])
            assert dump.kind == kind and dump.warnings == (), name
            assert to_json(decode(body_of(dump.tree)), indent=None) == expected, name


def test_print_r_paste_prints_what_php_printed(dumps: Any) -> None:
    """Before decode read dumps, this paste printed garbage with exit 0."""
    made = dumps["captures"]["2025_leads_update"]
    result = runner.invoke(app, ["decode", "--compact"], input=made["print_r"])
    assert (result.exit_code, result.stdout) == (0, made["expected"].decode() + "\n")
    assert result.stderr == ""
    forced = runner.invoke(app, ["decode", "--compact", "--from", "php"], input=made["print_r"])
    assert forced.stdout == result.stdout


@pytest.mark.parametrize("kind", ["print_r", "var_dump", "var_export"])
def test_dumps_pasted_on_windows(dumps: Any, kind: str) -> None:
    for name, made in dumps["captures"].items():
        printed, _ = _decoded(made[kind].replace(b"\n", b"\r\n"))
        assert printed == [made["expected"].decode()], name


def _one_line_safe(value: Any) -> bool:
    """A value a browser's whitespace collapsing leaves alone."""
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return all(_one_line_safe(v) for v in items)
    return value == " ".join(value.split()) and not re.search(r"[\[\]()]", value)


@pytest.mark.parametrize("group", ["captures", "generated"])
def test_print_r_as_a_browser_shows_it(dumps: Any, group: str) -> None:
    """print_r without <pre>: the browser shows it on one line."""
    checked = 0
    for name, made in dumps[group].items():
        expected = made["expected"].decode()
        if not _one_line_safe(json.loads(expected)):
            continue
        one_line = re.sub(rb"\s+", b" ", made["print_r"]).strip()
        assert detect(one_line) == "php"
        printed, sources = _decoded(one_line)
        assert printed == [expected], name
        assert "lost its line breaks" in sources[0].warnings[0]
        var_dump = re.sub(rb"\s+", b" ", made["var_dump"])
        assert _decoded(var_dump)[0] == [expected], name
        checked += 1
    assert checked >= 5


def test_print_r_in_a_log_and_in_pre(dumps: Any) -> None:
    """Log::info(print_r($_POST, true)) appended to a log, several times;
    print_r in <pre> as a page shows it."""
    names = ["2025_leads_add", "2023_message_add", "dp_leads_status"]
    log = b"".join(
        b"[2025-06-01 12:00:0%d] local.INFO: " % i + dumps["captures"][name]["print_r"] + b"\n"
        for i, name in enumerate(names)
    )
    printed, sources = _decoded(log)
    assert printed == [dumps["captures"][name]["expected"].decode() for name in names]
    assert [s.label for s in sources] == ["dump 1", "dump 2", "dump 3"]
    made = dumps["captures"]["2016_leads_status"]
    assert _decoded(b"<pre>" + made["print_r"] + b"</pre>")[0] == [made["expected"].decode()]


def test_a_var_dump_whose_lengths_were_changed_is_read_with_a_warning() -> None:
    text = b'array(1) {\n  ["note"]=>\n  string(9) "two\nlines"\n}\n'
    (source,) = read_sources(text.replace(b"\n", b"\r\n"))  # CRLF throughout: undone
    assert (decode(source.body), source.warnings) == ({"note": "two\nlines"}, ())
    collapsed = b'array(2) { ["note"]=> string(11) "two lines" ["x"]=> string(1) "y" }'
    (source,) = read_sources(collapsed)  # a browser's whitespace collapsing
    assert decode(source.body) == {"note": "two lines", "x": "y"}
    assert "string lengths" in source.warnings[0]


def test_xdebug_var_dump() -> None:
    """Xdebug's var_dump on the command line: 'key' => and [0] =>, a file:line first."""
    text = (
        b"/var/www/hook.php:5:\narray(1) {\n  'leads' =>\n  array(1) {\n    'status' =>\n"
        b"    array(1) {\n      [0] =>\n      array(1) {\n        'id' =>\n"
        b'        string(8) "10754147"\n      }\n    }\n  }\n}\n'
    )
    assert detect(text) == "php"
    (source,) = read_sources(text)
    assert decode(source.body) == {"leads": {"status": [{"id": "10754147"}]}}
    item = b"      array(1) {\n        'id' =>\n        string(8) \"10754147\"\n      }\n"
    cut = text.replace(item, b"      ...\n")
    with pytest.raises(InputError, match=r"cut .*xdebug.var_display_max_depth"):
        read_sources(cut)


# Xdebug's var_dump with html_errors on, as a browser shows it and copies it
# as text (xdebug.org/docs/display); the file and line come first.
XDEBUG_HTML = b"""/var/www/html/hook.php:5:
array (size=3)
  'leads' => 
    array (size=1)
      'status' => 
        array (size=1)
          0 => 
            array (size=3)
              'id' => string '10754147' (length=8)
              'name' => string 'It's (length=2) a
"deal"' (length=24)
              'price' => string '' (length=0)
  'account' => 
    array (size=2)
      'id' => string '30307558' (length=8)
      'subdomain' => string 'example' (length=7)
  'tags' => 
    array (size=0)
      empty
"""  # noqa: W291


def test_xdebug_var_dump_copied_from_a_page() -> None:
    assert detect(XDEBUG_HTML) == "php"
    (source,) = read_sources(XDEBUG_HTML)
    assert source.warnings == ()
    assert decode(source.body) == {
        "leads": {
            "status": [{"id": "10754147", "name": 'It\'s (length=2) a\n"deal"', "price": ""}]
        },
        "account": {"id": "30307558", "subdomain": "example"},
    }
    # A page that lost a line break: the lengths no longer fit.
    (source,) = read_sources(XDEBUG_HTML.replace(b"a\n", b"a"))
    assert "string lengths" in source.warnings[0]
    assert decode(source.body)["leads"]["status"][0]["name"] == 'It\'s (length=2) a"deal"'
    for changed, message in [
        (XDEBUG_HTML.replace(b"string '' (length=0)", b"..."), "cut .*xdebug.var_display"),
        (XDEBUG_HTML[: XDEBUG_HTML.index(b"  'tags'")] + b"  more elements...\n", "cut"),
        (XDEBUG_HTML[: XDEBUG_HTML.index(b"  'account'")], "ends before its arrays are closed"),
        (XDEBUG_HTML.replace(b"string '' (length=0)", b"object(App\\Lead)[1]"), "an object"),
    ]:
        with pytest.raises(InputError, match=message):
            read_sources(changed)


def test_laravel_nulls_and_typed_values(php: Any) -> None:
    """$request->all() after Laravel's ConvertEmptyStringsToNull: null for ''."""
    code = "$a = ['name' => null, 'price' => 5, 'ok' => true, 'x' => ['y' => '1']];"
    for dump in ("var_dump($a);", "var_export($a);"):
        done = subprocess.run(
            [php.php_binary(), "-n", "-r", code + dump], capture_output=True, check=True
        )
        (source,) = read_sources(done.stdout)
        assert decode(source.body) == {"name": "", "price": "5", "ok": "1", "x": {"y": "1"}}
        assert any("ConvertEmptyStringsToNull" in w for w in source.warnings)
        assert any("every value is a string" in w for w in source.warnings)


# -- dd() -----------------------------------------------------------------------------------

DD_CASES = sorted(p.stem for p in DD.glob("*.txt") if p.stem != "deep_nesting_70_levels")


def _body_named(stem: str) -> bytes:
    for folder in (TESTS / "fixtures" / "captures", TESTS / "data" / "captures", TESTS / "data"):
        if (folder / f"{stem}.txt").exists():
            return (folder / f"{stem}.txt").read_bytes()
    raise AssertionError(f"no body {stem}")


@pytest.fixture(scope="module")
def dd_expected(php: Any) -> dict[str, str]:
    (bodies,) = [[_body_named(stem) for stem in DD_CASES]]
    return dict(zip(DD_CASES, php.php_decode_many(bodies), strict=True))


@pytest.mark.parametrize("case", DD_CASES)
def test_dd_output_reads_back_to_what_json_encode_printed(case: str, dd_expected: Any) -> None:
    text = (DD / f"{case}.txt").read_bytes()
    assert detect(text) == "php"
    printed, sources = _decoded(text)
    assert printed == [dd_expected[case]]
    assert sources[0].warnings == ()


@pytest.mark.parametrize("case", DD_CASES)
def test_read_dumps_of_dd_output(case: str, dd_expected: Any) -> None:
    (dump,) = read_dumps((DD / f"{case}.txt").read_bytes())
    assert dump.kind == "dd" and dump.warnings == ()
    assert to_json(decode(body_of(dump.tree)), indent=None) == dd_expected[case]


def test_dd_cut_by_vardumper_is_refused() -> None:
    result = runner.invoke(app, ["decode"], input=(DD / "deep_nesting_70_levels.txt").read_bytes())
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""
    assert result.stderr == "Error: stdin: the dd() output is cut (line 21: …)\n"


def _dd_forms(text: bytes) -> dict[str, bytes]:
    """A real dump as Laravel and a browser show it (tests/data/dumps/README.md)."""
    first, rest = text.split(b"\n", 1)
    where = b" // app/Http/Controllers/AmoHookController.php:21"
    return {
        "laravel 10+": first + where + b"\n" + rest,
        "laravel 9": text.rstrip(b"\n") + where + b"\n",
        "caret": b"^ " + text,
        "html copy": re.sub(rb"(array:\d+ \[)\n", "\\1\u25bc\n".encode(), text),
        "several": text + text,
    }


def test_dd_as_laravel_and_a_browser_show_it(dd_expected: Any) -> None:
    case = "2025_leads_update"
    for name, text in _dd_forms((DD / f"{case}.txt").read_bytes()).items():
        printed, _ = _decoded(text)
        assert printed == [dd_expected[case]] * (2 if name == "several" else 1), name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((rb'"_links" => array:1 \[\n.*\n    \]', b'"_links" => array:1 [\xe2\x96\xb6]'),
         "has a collapsed array (line 5: [▶]): expand it all"),
        ((rb'"id" => "(\d+)"', b'"id" => "\\1"\xe2\x80\xa63'),
         "the dd() output is cut (line 4: …)"),
        ((rb"\]\n$", b""), "the dd() output ends before its arrays are closed"),
        ((rb'"id" => "\d+"', b'"id" => "1"\n    "x" => "2"'),
         "says an array has 3 items but shows 4"),
        ((rb'"subdomain" => "\w+"', b'"subdomain" => App\\\\Models\\\\Lead {#1}'),
         "holds 'App\\\\Models"),
    ],
)  # fmt: skip
def test_dd_that_cannot_be_read_back_is_refused(change: tuple[bytes, bytes], message: str) -> None:
    text = re.sub(change[0], change[1], (DD / "2025_leads_update.txt").read_bytes(), count=1)
    result = runner.invoke(app, ["decode"], input=text)
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.startswith("Error: stdin: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_dd_fixtures_are_what_vardumper_prints(tmp_path: Path) -> None:
    """Where symfony/var-dumper is installed, it still prints the kept files."""
    autoload = Path("/usr/share/php/Symfony/Component/VarDumper/autoload.php")
    php = subprocess.run(["which", "php"], capture_output=True, text=True).stdout.strip()
    if not autoload.exists() or not php:
        pytest.skip("symfony/var-dumper is not installed (php-symfony-var-dumper)")
    cases = ["2025_leads_update", "invalid_utf8", "json_escapes", "deep_nesting_70_levels"]
    script = (DD.parent / "make_dd.php").read_text()
    script = script.replace("__DIR__ . '/dd/'", repr(f"{tmp_path}/"))
    (tmp_path / "make.php").write_text(script)
    subprocess.run(
        [php, "-d", "max_input_vars=100000000", "-d", "max_input_nesting_level=100000",
         str(tmp_path / "make.php"), *(str(_path_of(c)) for c in cases)],
        check=True,
    )  # fmt: skip
    for case in cases:
        assert (tmp_path / f"{case}.txt").read_bytes() == (DD / f"{case}.txt").read_bytes(), case


def _path_of(stem: str) -> Path:
    for folder in (TESTS / "fixtures" / "captures", TESTS / "data" / "captures", TESTS / "data"):
        if (folder / f"{stem}.txt").exists():
            return folder / f"{stem}.txt"
    raise AssertionError(stem)


# -- JSON Lines and log lines ------------------------------------------------------------------


def _same_keys_twice(text: bytes) -> bool:
    """Whether JSON has an object with a key twice: json_encode writes
    U+FFFD for every key that is not UTF-8, and reading it back loses all
    but one (invalid_utf8_in_names). No reader can undo that."""
    twice = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal twice
        twice = twice or len({k for k, _ in items}) < len(items)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return twice


@pytest.mark.parametrize("group", GROUPS)
def test_json_lines_one_output_per_line(dumps: Any, group: str) -> None:
    """What examples/php/receiver.php writes: json_encode($_POST) per line."""
    made = [m for m in dumps[group].values() if not _same_keys_twice(m["json"])]
    text = b"".join(m["json"] + b"\n" for m in made)
    assert detect(text) == "json"
    for args in ((), ("--from", "json")):
        printed, sources = _decoded(text, *args)
        assert printed == [m["expected"].decode() for m in made]
        assert [s.label for s in sources] == [f"line {i}" for i in range(1, len(made) + 1)]


def test_json_lines_that_failed_before() -> None:
    lines = b'{"leads":{"status":[{"id":"1"}]}}\n{"leads":{"status":[{"id":"2"}]}}\n'
    result = runner.invoke(app, ["decode", "--compact"], input=lines)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.encode() == lines
    bad = runner.invoke(app, ["decode"], input=lines + b'{"a": \n')
    assert bad.exit_code == ExitCode.USAGE
    assert bad.stderr.startswith("Error: stdin: line 3: not JSON: Expecting value")


@pytest.mark.parametrize("group", GROUPS)
def test_log_lines(dumps: Any, group: str) -> None:
    """A Laravel log line, Log::info('amo webhook', $request->all())."""
    made = [
        m
        for m in dumps[group].values()
        if m["json"].startswith(b"{") and not _same_keys_twice(m["json"])
    ]
    for one in made:
        assert detect(one["log"]) == "log"
        printed, sources = _decoded(one["log"])
        assert printed == [one["expected"].decode()]
        assert sources[0].form == "log"
        # Monolog's default line: the (empty) extra after the context.
        assert _decoded(one["log"] + b" []\n", "--from", "log")[0] == printed
    # A whole log: lines without JSON are passed over.
    other = b'[2025-06-01 12:00:01] local.ERROR: Undefined array key "leads"\n'
    text = b"".join(m["log"] + b"\n" + other for m in made)
    printed, sources = _decoded(text)
    assert printed == [m["expected"].decode() for m in made]
    assert [s.label for s in sources] == [f"line {i}" for i in range(1, 2 * len(made), 2)]


def test_log_line_with_a_callback_is_shown_as_sent() -> None:
    chat = amodp.generate("message", kind="chat", seed=4)
    line = b"[2025-06-01 12:00:00] local.INFO: chat hook " + bytes(chat.body) + b"\n"
    result = runner.invoke(app, ["decode", "--compact"], input=line)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(chat.body)
    assert result.stderr.startswith("Note: stdin (line 1): a JSON body (chat.message)")


def test_a_body_with_json_in_a_value_is_still_a_body() -> None:
    body = b'payload={"leads":{"status":[{"id":"1"}]}}&account[id]=5'
    (source,) = read_sources(body)
    assert (source.form, source.body) == ("body", body)


# -- DevTools' form view ------------------------------------------------------------------------


def _form_view(body: bytes) -> bytes:
    """Chrome DevTools, Network, Payload, Form Data (parsed), copied as text."""
    lines = [b"Form Data", b"view source", b"view URL-encoded"]
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        name, value = (unquote_to_bytes(x.replace(b"+", b" ")) for x in (name, value))
        lines.append(name + b": " + (value or b"(empty)"))
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("group", ["captures", "generated"])
def test_form_view(dumps: Any, group: str) -> None:
    checked = 0
    for name, body in BODIES[group].items():
        expected = dumps[group][name]["expected"].decode()
        text = _form_view(body)
        if b"\r" in text or text.count(b"\n") != body.count(b"&") + 4:
            continue  # a value with a line break
        assert detect(text) == "form-view", name
        assert _decoded(text)[0] == [expected], name
        # Without its headings; and in the URL-encoded view.
        assert _decoded(text.split(b"\n", 3)[3])[0] == [expected], name
        pairs = [pair.replace(b"=", b": ", 1) for pair in body.split(b"&")]
        encoded = b"Form Data\nview source\nview decoded\n" + b"\n".join(pairs)
        assert _decoded(encoded, "--from", "form-view")[0] == [expected], name
        checked += 1
    assert checked >= 10


# -- what is none of the forms ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"hello world", "line 1 ('hello world') is not name=value pairs"),
        (b"Here is what amo sent:\nleads[status][0][id] = 1", "line 1 ('Here is what amo sent:')"),
        (b"    [id] => 10754147\n    [status_id] => 142\n", "line 1 ('[id] => 10754147')"),
        (b"Array\n(\n    [leads] => Array\n        (\n", "the print_r output is not complete"),
        (b'array(2) {\n  ["a"]=>\n  string(1) "1"\n}\n', "says an array has 2 items but"),
        (b"array (\n  'a' => \\App\\Lead::__set_state(array(\n", "holds an object"),
    ],
)
def test_input_that_is_no_form_is_an_error(text: bytes, message: str) -> None:
    """Before, such text was decoded as a body (garbage or [], exit 0)."""
    result = runner.invoke(app, ["decode"], input=text)
    assert result.exit_code == ExitCode.USAGE, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("Error: stdin: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


@pytest.mark.parametrize(
    ("form", "text", "message"),
    [
        ("php", b"a=1&b=2", "no print_r, var_dump, var_export or dd() output in it"),
        ("log", b"a=1&b=2", "no line holds a JSON object"),
        ("form-view", b"{\n", "is not a 'name: value' line"),
    ],
)
def test_forced_forms_that_do_not_fit(form: str, text: bytes, message: str) -> None:
    result = runner.invoke(app, ["decode", "--from", form], input=text)
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert runner.invoke(app, ["decode", "--from", "body", "--compact"], input=b"hello").stdout == (
        '{"hello":""}\n'
    )


# -- the library reader ---------------------------------------------------------------------


def test_read_dumps_and_body_of() -> None:
    (dump,) = read_dumps(b"Array\n(\n    [a] => Array\n        (\n            [0] => x\n"
                         b"        )\n\n    [b] => \n)\n")  # fmt: skip
    assert (dump.kind, dump.tree) == ("print_r", [(b"a", [(b"0", b"x")]), (b"b", b"")])
    assert body_of(dump.tree) == b"a%5B0%5D=x&b="
    deep: Any = b"v"
    for _ in range(5000):  # no recursion limit on the way back
        deep = [(b"k", deep)]
    assert body_of(deep).endswith(b"%5Bk%5D=v")
    with pytest.raises(InputError, match="no print_r, var_dump, var_export or dd"):
        read_dumps(b"a=1")


# -- what it costs and says ------------------------------------------------------------------


def test_decode_imports_the_dump_reader_only_for_a_dump() -> None:
    code = (
        "import sys; sys.argv=['amodp','decode','-'];"
        "from amodp.cli import app\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in ('amodp.dumps', 'amodp.catalog') if m in sys.modules),"
        " file=sys.stderr)"
    )
    body = (TESTS / "data" / "captures" / "dp_leads_status.txt").read_bytes()
    dump = b"Array\n(\n    [leads] => Array\n        (\n            [status] => Array\n" + (
        b"                (\n                    [0] => Array\n                        (\n"
        b"                            [id] => 1\n                        )\n\n"
        b"                )\n\n        )\n\n    [account] => Array\n        (\n"
        b"            [id] => 5\n        )\n\n)\n"
    )
    for data, loaded in (
        (body, "[]"),
        (body.replace(b"&", b"\n"), "[]"),
        (dump, "['amodp.dumps']"),
    ):
        done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True)
        assert done.returncode == 0
        assert done.stderr.decode().splitlines()[-1] == loaded


def test_a_body_without_an_event_says_so() -> None:
    result = runner.invoke(app, ["decode", "--compact"], input=b"a=1")
    assert (result.exit_code, result.stdout) == (0, '{"a":"1"}\n')
    assert result.stderr == (
        "Note: stdin: no amoCRM webhook event in it (no leads[status][0][...] or the like); "
        "decoded all the same\n"
    )
    # --summary says it its own way; an event, or a callback's query, says nothing.
    summary = runner.invoke(app, ["decode", "--summary"], input=b"a=1")
    assert summary.stderr == "(no amoCRM webhook event recognised)\n"
    for data in (
        (TESTS / "data" / "captures" / "dp_leads_status.txt").read_bytes(),
        b"leads[status][0][id]=1",
        amodp.generate("redirect", kind="oauth", seed=1).query.encode("ascii"),
    ):
        assert runner.invoke(app, ["decode"], input=data).stderr == "", data
