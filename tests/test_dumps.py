"""PHP's dumps of ``$_POST``, read back by :mod:`amodp.dumps` into exactly
the array PHP dumped.

PHP itself parses real bodies (the kept captures, ``tests/data/*.txt``, every
event amodp generates, and random bodies full of the characters dumps
trip on) and prints ``$_POST`` with print_r, var_dump and var_export;
Laravel's ``dd()`` comes from real VarDumper output kept in
``tests/data/dumps`` (see its README). What each is read back into must
decode to what PHP's ``json_encode($_POST)`` printed.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import amodp
from amodp.codec import decode, encode, to_json
from amodp.dumps import body_of, read_dumps
from amodp.errors import InputError

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


def _safe_for_print_r(value: Any) -> bool:
    """print_r writes values as they are: one holding a line break and then
    what looks like print_r's own lines cannot be told from them."""
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return all(_safe_for_print_r(v) for v in items)
    return not re.search(r"\n\s*(?:\[|\)|\()|^Array\s*\n|\nArray\s*$", value)


# -- print_r, var_dump, var_export --------------------------------------------------------


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
def test_read_dumps_of_dd_output(case: str, dd_expected: Any) -> None:
    (dump,) = read_dumps((DD / f"{case}.txt").read_bytes())
    assert dump.kind == "dd" and dump.warnings == ()
    assert to_json(decode(body_of(dump.tree)), indent=None) == dd_expected[case]


def test_dd_cut_by_vardumper_is_refused() -> None:
    with pytest.raises(InputError, match=r"^the dd\(\) output is cut \(line 21: …\)$"):
        read_dumps((DD / "deep_nesting_70_levels.txt").read_bytes())


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
