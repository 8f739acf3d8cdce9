"""How fast is ``amodp.decode`` on a big account-level body?

Builds a deterministic ~5 MB amoCRM body (``leads[update][i][...]`` with
custom fields, Cyrillic text, phone numbers with ``+``) with ``amodp.encode``
and times, alternating in rounds in one process:

* ``urllib.parse.parse_qsl`` -- the standard library's flat split, the yardstick;
* ``amodp.decode`` on the body as ``str`` and as ``bytes``;
* a plain pure-Python nesting decoder (``parse_qsl`` then a walk of the
  bracket segments into dicts), the obvious way to write it;
* PHP's C ``parse_str`` on the same body, timed inside one ``php`` process
  with ``hrtime`` (only when ``php`` is on PATH).

Prints medians and ratios against ``parse_qsl`` from the same run. The goal is
``amodp.decode`` at most 1.0x ``parse_qsl``; the exit status is 1 when it is
slower, so the script can be used as a check by hand (it is not a test: a
shared, noisy machine can miss it by chance).

    python bench/decode_speed.py [--size-mb 5] [--rounds 15] [--literal-brackets]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import amodp

GOAL = 1.0  # amodp.decode / parse_qsl, at most

# -- the body -----------------------------------------------------------------

FIRST = ["Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Анна", "Сергей", "Елена"]
LAST = ["Иванов", "Петрова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев"]
PRODUCTS = ["Кухня «Модерн»", "Шкаф-купе", "Диван угловой", "Ремонт под ключ", "Доставка"]
SOURCES = ["Сайт", "Яндекс.Директ", "Авито", "Рекомендация", "Instagram", "Холодный звонок"]
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"]
TAGS = ["VIP", "повторный", "опт", "розница", "срочно", "B2B"]
COMMENTS = [
    "Перезвонить после 18:00, просил скидку 10%",
    "Клиент ждёт КП & договор на e-mail",
    "Оплата 50/50, доставка до подъезда",
    "Не берёт трубку; написать в WhatsApp",
]


def _phone(rng: random.Random) -> str:
    return f"+7 ({rng.randint(900, 999)}) {rng.randint(100, 999)}-{rng.randint(10, 99)}-" + str(
        rng.randint(10, 99)
    )


def _custom_fields(rng: random.Random) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = [
        {
            "id": "215001",
            "name": "Телефон",
            "values": [
                {"value": _phone(rng), "enum": rng.choice(["301001", "301003", "301005"])}
                for _ in range(rng.randint(1, 2))
            ],
            "code": "PHONE",
        },
        {
            "id": "215003",
            "name": "Email",
            "values": [{"value": f"client{rng.randint(1, 99999)}@example.ru", "enum": "301011"}],
            "code": "EMAIL",
        },
        {
            "id": "215101",
            "name": "Источник",
            "values": [{"value": rng.choice(SOURCES), "enum": str(rng.randint(302001, 302009))}],
        },
        {"id": "215103", "name": "Город", "values": [{"value": rng.choice(CITIES)}]},
        {"id": "215105", "name": "Товар", "values": [{"value": rng.choice(PRODUCTS)}]},
    ]
    if rng.random() < 0.6:
        fields.append(
            {"id": "215107", "name": "Комментарий", "values": [{"value": rng.choice(COMMENTS)}]}
        )
    if rng.random() < 0.5:
        fields.append(
            {
                "id": "215109",
                "name": "Дата замера",
                "values": [{"value": str(1_700_000_000 + rng.randint(0, 40_000_000))}],
            }
        )
    return fields


def _lead(rng: random.Random, number: int) -> dict[str, Any]:
    created = 1_700_000_000 + rng.randint(0, 30_000_000)
    lead: dict[str, Any] = {
        "id": str(30_000_000 + number),
        "name": f"Сделка #{number}: {rng.choice(FIRST)} {rng.choice(LAST)}",
        "status_id": str(rng.randint(142, 59_000_000)),
        "old_status_id": str(rng.randint(142, 59_000_000)),
        "price": str(rng.randint(0, 500) * 1000),
        "responsible_user_id": str(rng.randint(8_000_000, 8_000_050)),
        "last_modified": str(created + rng.randint(0, 900_000)),
        "modified_user_id": str(rng.randint(8_000_000, 8_000_050)),
        "created_user_id": str(rng.randint(8_000_000, 8_000_050)),
        "date_create": str(created),
        "pipeline_id": str(rng.randint(7_000_000, 7_000_010)),
        "tags": [
            {"id": str(rng.randint(1000, 9999)), "name": rng.choice(TAGS)}
            for _ in range(rng.randint(0, 2))
        ],
        "account_id": "29876543",
        "custom_fields": _custom_fields(rng),
        "created_at": str(created),
        "updated_at": str(created + rng.randint(0, 900_000)),
    }
    if not lead["tags"]:
        del lead["tags"]
    return lead


def build_data(leads: int, seed: int = 20261125) -> dict[str, Any]:
    rng = random.Random(seed)
    return {
        "leads": {"update": [_lead(rng, n) for n in range(leads)]},
        "account": {
            "subdomain": "acme",
            "id": "29876543",
            "_links": {"self": "https://acme.amocrm.ru"},
        },
    }


def build_body(size_mb: float, literal_brackets: bool = False) -> str:
    """A deterministic body of about ``size_mb`` megabytes.

    ``amodp.encode`` writes brackets as ``%5B``/``%5D``, as amoCRM does;
    ``literal_brackets`` writes them as ``[``/``]``, as logged or hand-made
    bodies often have them.
    """

    def body_of(leads: int) -> str:
        body = amodp.encode(build_data(leads))
        if literal_brackets:
            body = body.replace("%5B", "[").replace("%5D", "]")
        return body

    sample = len(body_of(200)) / 200
    return body_of(max(1, round(size_mb * 1_000_000 / sample)))


# -- the plain pure-Python decoder ---------------------------------------------------


def naive_decode(body: str) -> dict[str, Any]:
    """The straightforward nesting decoder: flat pairs, then walk ``a[b][c]``."""
    root: dict[str, Any] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        bracket = name.find("[")
        if bracket <= 0 or not name.endswith("]"):
            root[name] = value
            continue
        keys = [name[:bracket], *name[bracket + 1 : -1].split("][")]
        node = root
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        last = keys[-1]
        if last == "":
            last = str(len(node))
        node[last] = value
    return root


# -- timing ----------------------------------------------------------------------


def _time(func: Callable[[Any], Any], arg: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    result = func(arg)
    elapsed = time.perf_counter() - start
    del result  # freeing the tree is not part of the parse
    return elapsed


PHP_CODE = r"""
$body = file_get_contents($argv[1]);
$runs = (int)$argv[2];
parse_str($body, $out);  // warm-up
$want = (int)$argv[3];
$got = count($out['leads']['update']);
if ($got !== $want) { fwrite(STDERR, "parse_str kept $got leads, not $want\n"); exit(2); }
unset($out);
$times = [];
for ($i = 0; $i < $runs; $i++) {
    $t = hrtime(true);
    parse_str($body, $out);
    $times[] = hrtime(true) - $t;
    unset($out);
}
echo implode(' ', $times), "\n";
"""


def php_times(body: str, runs: int, leads: int) -> list[float] | None:
    php = shutil.which("php")
    if php is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="ascii") as fh:
        fh.write(body)
    try:
        proc = subprocess.run(
            [php, "-d", "max_input_vars=100000000", "-d", "memory_limit=-1", "-r", PHP_CODE]
            + ["--", fh.name, str(runs), str(leads)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(fh.name)
    if proc.returncode != 0:
        sys.stderr.write(f"php failed: {proc.stderr.strip()}\n")
        return None
    return [int(ns) / 1e9 for ns in proc.stdout.split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=5.0, help="body size (default 5)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default 15)")
    parser.add_argument(
        "--literal-brackets",
        action="store_true",
        help="write [ and ] as such instead of %%5B and %%5D (parse_qsl gets much faster)",
    )
    args = parser.parse_args(argv)

    body = build_body(args.size_mb, args.literal_brackets)
    raw = body.encode("ascii")
    decoded = amodp.decode(body)
    leads = len(decoded["leads"]["update"])  # type: ignore[call-overload]
    data = build_data(leads)
    if decoded != data or amodp.decode(raw) != data:
        sys.stderr.write("amodp.decode does not give back the encoded data\n")
        return 2
    pairs = body.count("&") + 1
    print(
        f"body: {len(raw) / 1e6:.2f} MB, {pairs} pairs, {leads} leads, "
        f"brackets {'literal' if args.literal_brackets else 'encoded'}; "
        f"Python {sys.version.split()[0]}, amodp {amodp.__version__}"
    )

    cases: list[tuple[str, Callable[[Any], Any], Any]] = [
        ("parse_qsl (str)", lambda b: parse_qsl(b, keep_blank_values=True), body),
        ("amodp.decode (str)", amodp.decode, body),
        ("amodp.decode (bytes)", amodp.decode, raw),
        ("plain pure-Python", naive_decode, body),
    ]
    for _, func, arg in cases:  # warm-up
        _time(func, arg)
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for r in range(args.rounds):
        shift = r % len(cases)  # rotate the order: no case always runs first
        for name, func, arg in cases[shift:] + cases[:shift]:
            times[name].append(_time(func, arg))
    php = php_times(body, max(args.rounds, 5), leads)
    if php is not None:
        times["PHP parse_str (C)"] = php

    base = statistics.median(times["parse_qsl (str)"])
    print(f"{'':22} {'median':>10} {'min':>10} {'vs parse_qsl':>13}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:22} {med * 1e3:8.1f}ms {min(values) * 1e3:8.1f}ms {med / base:12.2f}x")
    worst = max(
        statistics.median(times["amodp.decode (str)"]),
        statistics.median(times["amodp.decode (bytes)"]),
    )
    ratio = worst / base
    met = ratio <= GOAL
    print(
        f"goal: amodp.decode <= {GOAL:.1f}x parse_qsl: "
        f"{'met' if met else 'NOT met'} ({ratio:.2f}x, {args.rounds} rounds)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
