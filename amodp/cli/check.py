"""``amodp check``: the receiver test suite (:mod:`amodp.check`), judged as amoCRM judges."""

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ExitCode, UsageError
from .app import commands, fail, handle_errors, stderr_line
from .options import JsonOption, KindOption, PlatformOption, SeedOption
from .output import Stdout

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def check(
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            metavar="[KIND=]URL",
            help="The receiver: http(s)://host[:port]/path; KIND=URL gives a kind its own "
            "(chat=http://127.0.0.1:8000/amo/chat).",
            show_default=False,
        ),
    ] = None,
    kind: KindOption = "dp,account,chat,salesbot,oauth",
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="PATTERN",
            help="Only the cases matching a glob ('leads.*[retry]') or containing the text.",
            show_default=False,
        ),
    ] = None,
    seed: SeedOption = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            metavar="[KIND=]SECRET",
            show_default=False,
            help="The receiver's secret for the callbacks; KIND=SECRET gives a kind its own "
            "(chat=CHANNEL_SECRET, salesbot=CLIENT_SECRET); without it, AMODP_SECRET.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Requests at once (1: one at a time).")
    ] = 10,
    platform: PlatformOption = "amocrm",
    as_json: JsonOption = False,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit", metavar="FILE", help="Write a JUnit XML report here.", show_default=False
        ),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Print the cases (stdout), send nothing.")
    ] = False,
) -> None:
    """Test a receiver: send it every case of the suite and judge each answer as amoCRM would.

    Every webhook event gets one item, a batch, real-world text, a retry with
    the same request id and the account block moved; one batch per kind passes
    PHP's max_input_vars. Every callback (chat, salesbot, oauth) gets one valid
    request, and a signed one a wrong signature (and the Salesbot an expired
    token) that must be rejected with a 4xx. Callbacks are signed with --secret
    (or AMODP_SECRET), the receiver's; without it the callback kinds are skipped,
    with a note.
    A table on stderr (case, what was sent, status, time, verdict), then a
    total; --json: one JSON object per case on stdout; --junit FILE: a JUnit
    XML report for CI. --kind: every kind by default (comma-separated).
    Without --seed the bodies differ on every run; the seed is printed.
    Exit 0: every case passed; 1: one failed; 3: the receiver could not be
    reached at all; 130: Ctrl-C (what was judged so far is shown).

    Example: amodp check --url http://127.0.0.1:8000/amo/hook --junit amodp-check.xml

    Example: AMODP_SECRET=... amodp check --kind chat --url http://127.0.0.1:8000/amo/chat
    """
    from .. import check as suite
    from ..rules import check_platform

    kinds = [k.strip() for k in kind.split(",") if k.strip()]
    if not kinds:
        raise UsageError("name a kind: dp, account, chat, salesbot or oauth", param="kind")
    suite.check_kinds(kinds)
    check_platform(platform)
    if concurrency < 1:
        raise UsageError(f"must be at least 1, got {concurrency}", param="concurrency")
    base, routes = _per_kind(url or [], "url")
    # AMODP_SECRET is read here, not by the option: click splits an environment
    # variable of a repeatable option differently from version to version.
    from_env = os.environ.get("AMODP_SECRET")
    key, keys = _per_kind(secret or ([from_env] if from_env is not None else []), "secret")
    signing: str | dict[str, str] = {k: v for k in kinds if (v := keys.get(k, key))}
    if list_only and suite.needs_secret(kinds, signing):
        signing = "a-secret-only-for-listing"  # nothing is sent: any key lists the cases
    unsigned = suite.needs_secret(kinds, signing)
    if unsigned and len(unsigned) == len(kinds):
        raise UsageError(
            f"{', '.join(unsigned)} callbacks are signed: give the receiver's secret "
            "with --secret or AMODP_SECRET",
            param="secret",
        )
    if unsigned:
        stderr_line(
            f"Note: {', '.join(unsigned)} callbacks are signed: without --secret "
            "(or AMODP_SECRET) they are skipped."
        )
    if seed is None:
        import random  # here: `amodp decode` starts without it

        chosen = random.SystemRandom().randrange(1_000_000)
    else:
        chosen = seed
    from ..sender import check_url

    for where in (base, *routes.values()):
        if where:
            check_url(where)
    targets = {k: where for k in kinds if (where := routes.get(k, base))}
    cases = suite.list_cases(kinds, only, chosen, signing, targets)
    if not cases:
        raise UsageError(f"no case to run for --kind {kind}")
    if list_only:
        _print_cases(cases, as_json)
        return
    if not targets:
        raise UsageError("--url is required (or --list to see the cases)")
    missing = sorted({c.kind for c in cases if c.kind not in targets})
    if missing:
        raise UsageError(
            f"no URL for {', '.join(missing)}: give --url URL, or --url KIND=URL for each",
            param="url",
        )
    out = Stdout(flush_each=True)
    judged: list[Any] = []

    def on_result(result: Any) -> None:
        judged.append(result)
        if as_json:
            out.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")

    if seed is None:
        stderr_line(f"Seed {chosen}: --seed {chosen} sends the same bodies again.")
    started = time.perf_counter()
    interrupted = False
    try:
        suite.run(
            base or next(iter(targets.values())),
            cases,
            on_result=on_result,
            concurrency=concurrency,
            platform=platform,
            routes=routes,
        )
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - started
    out.flush()
    order = {id(c): i for i, c in enumerate(cases)}
    results = sorted(judged, key=lambda r: order[id(r.case)])
    unreached = suite.unreachable(results)
    if not unreached:  # one line says it all
        _print_results(results, seconds, suite.queued(results))
    if junit is not None:
        suite.write_junit(junit, results, seconds=seconds)
    if interrupted:
        raise fail(f"interrupted after {len(results)} of {len(cases)} cases", ExitCode.INTERRUPTED)
    if unreached:
        where = results[0].deciding.url
        raise fail(f"cannot reach {where}: {results[0].deciding.message}", ExitCode.NETWORK)
    if not all(r.ok for r in results):
        raise typer.Exit(ExitCode.FAILED)


def _print_cases(cases: list[Any], as_json: bool) -> None:
    """--list: one line per case, ``kind  case  what is sent  about``."""
    for case in cases:
        if as_json:
            record = {
                "case": case.name,
                "event": case.event,
                "variant": case.variant,
                "kind": case.kind,
                "sent": case.sent,
                "about": case.about,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(f"{case.kind}\t{case.name}\t{case.sent}\t{case.about}\n")


def _print_results(results: list[Any], seconds: float, queued: bool) -> None:
    """The table and the total line, on stderr; a note before the total when
    the receiver answered one request at a time."""
    from .. import check as suite
    from ..render import table

    if results:
        table(list(suite.COLUMNS), suite.rows(results), sys.stderr)
    failed = sum(1 for r in results if not r.ok)
    warned = sum(1 for r in results if r.ok and r.verdict.warning)
    total = f"{len(results)} case{'s' if len(results) != 1 else ''}"
    warnings = f"{warned} warning{'s' if warned != 1 else ''}"
    if queued:
        stderr_line(
            "Note: the receiver answered one request at a time: cases queued behind slow "
            "ones were re-sent alone (--concurrency 1 sends them so from the start)"
        )
    stderr_line(
        f"{total}: {len(results) - failed} passed, {failed} failed, {warnings} in {seconds:.1f} s"
    )


def _per_kind(values: list[str], what: str) -> tuple[str | None, dict[str, str]]:
    """``VALUE`` (for every kind) and ``KIND=VALUE`` (a kind's own) of a
    repeated option: the one for all, and those of the kinds."""
    from .. import catalog

    everyone: str | None = None
    own: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if sep and name in catalog.ALL_KINDS:
            if name in own:
                raise UsageError(f"{name} is given twice", param=what)
            own[name] = rest
        elif everyone is not None:
            raise UsageError(
                f"give one {what} for every kind, and KIND={what.upper()} for others", param=what
            )
        else:
            everyone = value
    return everyone, own
