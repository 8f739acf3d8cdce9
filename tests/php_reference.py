"""Ask PHP itself what a body decodes to (and what a value encodes to).

As a script, ``python tests/php_reference.py`` regenerates the expected output
of every ``tests/data/<case>.txt`` (the raw body bytes): it writes
``tests/data/<case>.json``, exactly what PHP prints for::

    parse_str($body, $a);
    echo json_encode($a, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE
                         | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\\n";

and ``tests/data/<case>.compact.json``, the same without JSON_PRETTY_PRINT.
Each file is PHP's bytes followed by one newline.

As a module, :func:`php_decode_many` and :func:`php_encode_many` run one PHP
process over a whole batch, for the differential tests.

PHP runs without its input limits (``max_input_vars``,
``max_input_nesting_level``; amodp applies none and only warns) unless asked
for a default receiver.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# No php.ini (-n): the same behaviour whatever the machine has configured.
PHP_ARGS = ["-n", "-d", "memory_limit=-1", "-d", "error_reporting=-1"]
# amodp applies no input limit: neither may the reference. Any PHP notice or
# warning goes to stderr and is treated as a failure.
NO_LIMITS = [
    "-d",
    "max_input_vars=100000000",
    "-d",
    "max_input_nesting_level=100000",
    "-d",
    "display_errors=stderr",
]
# A default receiver (max_input_vars=1000, max_input_nesting_level=64), with
# its "Input variables exceeded" warnings silenced.
DEFAULT_LIMITS = ["-d", "display_errors=0", "-d", "log_errors=0"]

JSON_FLAGS = "JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE"

# Reads a JSON array of base64 strings on stdin, prints one base64 line per item.
_DECODE = f"""
$items = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$flags = {JSON_FLAGS} | ($argv[1] === 'pretty' ? JSON_PRETTY_PRINT : 0);
foreach ($items as $item) {{
    $a = [];
    parse_str(base64_decode($item, true), $a);
    $out = json_encode($a, $flags);
    if ($out === false) {{
        fwrite(STDERR, 'json_encode failed: ' . json_last_error_msg() . "\\n");
        exit(1);
    }}
    echo base64_encode($out), "\\n";
}}
"""

# Reads a JSON array of JSON texts on stdin, prints one base64 line per item.
_ENCODE = """
$items = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
foreach ($items as $item) {
    $value = json_decode($item, true, 512, JSON_THROW_ON_ERROR);
    echo base64_encode(http_build_query($value)), "\\n";
}
"""


class PhpError(RuntimeError):
    """PHP is missing or did not answer as expected."""


def php_binary() -> str | None:
    """The ``php`` on PATH, or None."""
    return shutil.which("php")


def _run(code: str, payload: list[str], *extra: str, limits: bool = False) -> list[bytes]:
    php = php_binary()
    if php is None:
        raise PhpError("php is not on PATH")
    ini = DEFAULT_LIMITS if limits else NO_LIMITS
    proc = subprocess.run(
        [php, *PHP_ARGS, *ini, "-r", code, "--", *extra],
        input=json.dumps(payload).encode("ascii"),
        capture_output=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0 or proc.stderr:
        raise PhpError(
            f"php exited {proc.returncode}: {proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    lines = proc.stdout.splitlines()
    if len(lines) != len(payload):
        raise PhpError(f"php answered {len(lines)} items for {len(payload)}")
    return [base64.b64decode(line, validate=True) for line in lines]


def _decode_raw(bodies: list[bytes], *, pretty: bool, limits: bool = False) -> list[bytes]:
    payload = [base64.b64encode(bytes(b)).decode("ascii") for b in bodies]
    return _run(_DECODE, payload, "pretty" if pretty else "compact", limits=limits)


def php_decode_many(
    bodies: list[bytes], *, pretty: bool = False, limits: bool = False
) -> list[str]:
    """``json_encode`` of ``parse_str(body)`` for each body, in one PHP process.

    Compact unless ``pretty``; the flags are JSON_UNESCAPED_UNICODE,
    JSON_UNESCAPED_SLASHES and JSON_INVALID_UTF8_SUBSTITUTE, so the output is
    valid UTF-8. PHP runs without input limits unless ``limits``: then with
    its defaults (max_input_vars=1000, max_input_nesting_level=64).
    """
    return [out.decode("utf-8") for out in _decode_raw(bodies, pretty=pretty, limits=limits)]


def php_encode_many(json_texts: list[str]) -> list[str]:
    """``http_build_query(json_decode($t, true))`` for each JSON text, in one PHP process."""
    return [out.decode("ascii") for out in _run(_ENCODE, list(json_texts))]


def main() -> int:
    cases = sorted(DATA.glob("*.txt"))
    if not cases:
        print(f"no cases in {DATA}", file=sys.stderr)
        return 1
    bodies = [case.read_bytes() for case in cases]
    for suffix, pretty in ((".json", True), (".compact.json", False)):
        for case, out in zip(cases, _decode_raw(bodies, pretty=pretty), strict=True):
            case.with_name(case.stem + suffix).write_bytes(out + b"\n")
    print(f"wrote {len(cases)} cases to {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
