"""``amodp schema``: the JSON Schema of every event holds every body the
catalog generates (several seeds, batches, both locales) and every kept
capture, and is itself a valid draft 2020-12 schema."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from amodp import catalog, decode
from amodp.cli import app
from amodp.generator import generate
from amodp.schema import OLDER_SHAPES, SOMETIMES, body_schema, current_schema

from .conftest import require_node, require_tools

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
#: the kept bodies as they came over the wire
KEPT = sorted(CAPTURES.glob("*.txt")) + [
    Path(__file__).parent / "data" / "captures" / "dp_leads_status.txt"
]
SPECS = [spec for kind in catalog.ALL_KINDS for spec in catalog.events(kind)]
IDS = [f"{spec.kind}:{spec.name}" for spec in SPECS]
SEEDS = range(12)
LOCALES = ("ru", "en")

runner = CliRunner()


def validator(spec: catalog.Event) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(body_schema(spec))


def made(spec: catalog.Event, seed: int, locale: str = "ru") -> Any:
    """What amodp decode prints for a generated request of ``spec``: a form's
    $_POST, a JSON body, a GET's $_GET (as JSON: integer keys become text)."""
    if spec.kind in catalog.CALLBACK_KINDS:
        request = generate(spec.event, kind=spec.kind, seed=seed, locale=locale)
    else:
        request = generate(
            spec.event, spec.entity, kind=spec.kind, seed=seed, count=3, locale=locale
        )
    return json.loads(json.dumps(request.json))


def errors(check: jsonschema.Draft202012Validator, value: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(value)]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_schema_is_a_draft_2020_12_schema(spec: catalog.Event) -> None:
    found = body_schema(spec)
    jsonschema.Draft202012Validator.check_schema(found)
    assert found["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert found["title"] == f"{spec.name} ({spec.kind})"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_generated_body_is_valid(spec: catalog.Event) -> None:
    check = validator(spec)
    for locale in LOCALES:
        for seed in SEEDS:
            value = made(spec, seed, locale)
            assert errors(check, value) == [], (spec.name, seed, locale)


@pytest.mark.parametrize("path", KEPT, ids=[p.name for p in KEPT])
def test_every_kept_capture_is_valid(path: Path) -> None:
    data = decode(path.read_bytes())
    (found,) = catalog.detect(data)
    spec = catalog.event(found.event, found.entity, found.kind)
    assert errors(validator(spec), json.loads(json.dumps(data))) == []


def test_a_schema_refuses_what_amocrm_does_not_send() -> None:
    check = validator(catalog.event("status", "leads", "account"))
    body = made(catalog.event("status", "leads", "account"), 1)
    item = body["leads"]["status"][0]
    assert errors(check, body) == []
    assert errors(check, {**body, "leads": {"status": []}})  # no item
    assert errors(check, {**body, "leads": {"status": [{**item, "id": 7}]}})  # a number
    assert errors(check, {**body, "leads": {"status": [{**item, "id": "x1"}]}})  # not digits
    stamp = {**item, "created_at": "2024-09-17"}
    assert errors(check, {**body, "leads": {"status": [stamp]}})
    lacking = {k: v for k, v in item.items() if k != "status_id"}
    assert errors(check, {**body, "leads": {"status": [lacking]}})
    assert errors(check, {k: v for k, v in body.items() if k != "account"})


def test_the_known_variants_are_valid() -> None:
    """A bare Unix time where a custom field's values map stands, a
    radiobutton's one map, several items, the account block first or last,
    the 2016 account block (subdomain only)."""
    spec = catalog.event("add", "leads", "account")
    check = validator(spec)
    body = made(spec, 3)
    item = body["leads"]["add"][0]
    fields = [
        {"id": "1", "name": "Date", "values": ["1729717200"]},
        {"id": "2", "name": "Radio", "values": {"value": "2", "enum": "566642"}},
        {"id": "3", "name": "Emptied", "code": "POSITION"},
    ]
    batch = [{**item, "custom_fields": fields}, item, item]
    last = {"leads": {"add": batch}, "account": body["account"]}
    assert list(last)[-1] == "account" and errors(check, last) == []
    first = {"account": body["account"], "leads": {"add": batch}}
    assert errors(check, first) == []
    old = {"leads": {"add": [item]}, "account": {"subdomain": "test000002"}}
    assert errors(check, old) == []
    wrong = [{"id": "4", "name": "Text", "values": "text"}]
    assert errors(check, {**last, "leads": {"add": [{**item, "custom_fields": wrong}]}})


def test_the_current_shape_has_what_older_shapes_lack() -> None:
    """The schema accepts the older shapes; the current shape (what drift
    compares with) requires what today's bodies always carry."""
    spec = catalog.event("add", "leads", "account")
    now = current_schema(spec)
    published = body_schema(spec)
    assert now["properties"]["account"]["required"] == ["subdomain", "id", "_links"]
    assert published["properties"]["account"]["required"] == ["subdomain"]
    item_now = now["properties"]["leads"]["properties"]["add"]["items"]["required"]
    item = published["properties"]["leads"]["properties"]["add"]["items"]["required"]
    assert {"created_at", "updated_at", "account_id"} <= set(item_now) - set(item)
    assert {s.year for s in OLDER_SHAPES} == {"2016", "2020"}
    dp = catalog.event("status", "leads", "dp")
    assert current_schema(dp) == {k: v for k, v in body_schema(dp).items()}


def _absent(spec: catalog.Event) -> set[str]:
    """The item fields of ``spec`` that some generated item or kept body lacks."""
    names = set(spec.field_names)
    seen: list[dict[str, Any]] = []
    for seed in range(40):
        value = made(spec, seed)
        if spec.kind in catalog.CALLBACK_KINDS:
            seen.append({f.name: 1 for f in spec.fields if _has(value, f.name)})
        else:
            seen += value[spec.wire][spec.wire_event]
    for path in CAPTURES.iterdir():
        if path.suffix not in (".txt", ".json"):
            continue
        data = decode(path.read_bytes()) if path.suffix == ".txt" else json.loads(path.read_text())
        for found in catalog.detect(data):
            if found.kind == spec.kind and found.name == spec.name:
                seen += found.items
    return {name for name in names if any(name not in item for item in seen)}


def _has(value: Any, dotted: str) -> bool:
    for step in dotted.split("."):
        if not isinstance(value, dict) or step not in value:
            return False
        value = value[step]
    return True


#: rules optional by analogy with leads, contacts and companies: no kept body
#: of catalogs lacks its custom fields, and none is a customer's
BY_ANALOGY = {"catalog_custom_fields", "customer_custom_fields"}


def test_a_field_is_optional_only_when_amocrm_leaves_it_out() -> None:
    """Every rule the schema makes optional leaves its field out of some
    generated body, kept capture or documented example (or is in BY_ANALOGY);
    every other field is in all of them (the tests above)."""
    proved = set()
    for spec in SPECS:
        lacking = _absent(spec)
        proved |= {f.gen for f in spec.fields if f.name in lacking}
        proved |= {f"{spec.name}:{f.name}" for f in spec.fields if f.name in lacking}
    unproved = set()
    for spec in SPECS:
        for f in spec.fields:
            if "optional" in f.options and f"{spec.name}:{f.name}" not in proved:
                unproved.add(f"{spec.name}:{f.name}")
    assert unproved == set()
    assert SOMETIMES - proved == BY_ANALOGY


# -- the command --------------------------------------------------------------------


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_schema_prints_the_schema_of_one_event() -> None:
    result = run("schema", "status", "--lead")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == body_schema(catalog.event("status", "leads", "dp"))
    assert result.stderr == ""
    result = run("schema", "add", "--entity", "leads", "--kind", "account")
    assert json.loads(result.stdout)["title"] == "leads.add (account)"
    result = run("schema", "period", "--customer")
    assert json.loads(result.stdout)["title"] == "customers.period (dp)"


@pytest.mark.parametrize(
    ("event", "kind"), [("message", "chat"), ("widget_request", "salesbot"), ("redirect", "oauth")]
)
def test_schema_of_a_callback(event: str, kind: str) -> None:
    result = run("schema", event, "--kind", kind)
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert found == body_schema(catalog.event(event, kind, kind))
    check = jsonschema.Draft202012Validator(found)
    assert errors(check, made(catalog.event(event, kind, kind), 5)) == []


@pytest.mark.parametrize("kind", catalog.ALL_KINDS)
def test_schema_all_is_json_lines(kind: str) -> None:
    result = run("schema", "--all", "--kind", kind)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["event"], x["kind"]) for x in lines] == [
        (e.name, e.kind) for e in catalog.events(kind)
    ]
    for line in lines:
        assert list(line) == ["event", "kind", "schema"]
        spec = catalog.event(line["event"], kind=kind)
        assert line["schema"] == body_schema(spec)


def test_schema_all_of_one_entity() -> None:
    result = run("schema", "--all", "--kind", "account", "--entity", "task")
    names = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    assert names == ["task.add", "task.delete", "task.responsible", "task.update"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schema"], "Error: name an EVENT (see 'amodp events --kind dp') or --all\n"),
        (["schema", "status", "--all"], "Error: give an EVENT or --all, not both\n"),
        (
            ["schema", "message", "--kind", "chat", "--lead"],
            "Error: --lead, --customer and --entity are for dp and account, not chat\n",
        ),
        (
            ["schema", "status", "--lead", "--customer"],
            "Error: choose one entity: --lead, --customer or --entity NAME\n",
        ),
    ],
)
def test_schema_usage_errors(args: list[str], message: str) -> None:
    result = run(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_schema_of_an_unknown_event() -> None:
    result = run("schema", "nothing")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown dp event 'nothing'; choose from: ")


# -- typed receivers: the README's generated pydantic model and TypeScript type ---------

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _typed_example() -> tuple[list[str], str, str]:
    """The README's commands, and the pydantic model and TypeScript type it shows."""
    section = README.partition("### Typed receivers from the schema")[2]
    blocks = {
        lang: re.search(rf"```{lang}\n(.*?)```", section, re.S) for lang in ("sh", "python", "ts")
    }
    found = {lang: block.group(1) for lang, block in blocks.items() if block is not None}
    return found["sh"].splitlines(), found["python"], found["ts"]


def _shown_in(shown: str, made: str) -> list[str]:
    """The lines the README shows that the generator did not make."""
    lines = set(made.splitlines())
    return [line for line in shown.splitlines() if line.strip() and line not in lines]


def _shell(command: str, where: Path, timeout: float = 300) -> str:
    env = dict(os.environ, NO_COLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", command], cwd=where, env=env, capture_output=True, timeout=timeout
    )
    assert done.returncode == 0, (command, done.stdout.decode(), done.stderr.decode())
    return done.stdout.decode()


def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_the_readmes_typed_receivers(tmp_path: Path) -> None:
    """The README's commands make the model and the type it shows; the model
    takes every generated body and the kept DP capture, and refuses one that
    lacks a field; tsc accepts them as the type and refuses a number for an id."""
    require_node()
    require_tools("bash")
    import pydantic

    commands, python, ts = _typed_example()
    for command in commands:
        _shell(command, tmp_path)
    assert _shown_in(python, (tmp_path / "leads_status.py").read_text()) == []
    assert _shown_in(ts, (tmp_path / "leads_status.d.ts").read_text()) == []

    model = _module(tmp_path / "leads_status.py", "amodp_test_leads_status").LeadsStatusDp
    spec = catalog.event("status", "leads", "dp")
    bodies = [made(spec, seed, locale) for seed in SEEDS for locale in LOCALES]
    bodies.append(decode(KEPT[-1].read_bytes()))
    for body in bodies:
        model.model_validate(body)
    lacking = json.loads(json.dumps(bodies[0]))
    del lacking["leads"]["status"][0]["status_id"]
    with pytest.raises(pydantic.ValidationError):
        model.model_validate(lacking)

    _shell("npm install --no-save --no-audit --no-fund typescript@5", tmp_path)
    literal = json.dumps(bodies, ensure_ascii=False)
    (tmp_path / "check.ts").write_text(
        f'import type {{ LeadsStatusDp }} from "./leads_status";\n'
        f"export const bodies: LeadsStatusDp[] = {literal};\n"
    )
    _shell("npx tsc --noEmit --strict check.ts", tmp_path)
    wrong = {**bodies[0], "account": {"id": 30307558, "subdomain": "acme"}}
    (tmp_path / "wrong.ts").write_text(
        f'import type {{ LeadsStatusDp }} from "./leads_status";\n'
        f"export const body: LeadsStatusDp = {json.dumps(wrong)};\n"
    )
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    refused = subprocess.run(
        ["bash", "-c", "npx tsc --noEmit --strict wrong.ts"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "Type 'number' is not assignable to type 'string'" in refused.stdout.decode()


def test_a_model_of_an_account_level_event_takes_its_variants(tmp_path: Path) -> None:
    """datamodel-code-generator makes a model of leads.add (custom fields'
    variants as unions) that takes generated bodies and the 2016 and 2025 captures."""
    require_tools("bash")
    spec = catalog.event("add", "leads", "account")
    (tmp_path / "leads_add.json").write_text(json.dumps(body_schema(spec)))
    _shell(
        "datamodel-codegen --input leads_add.json --input-file-type jsonschema "
        "--output-model-type pydantic_v2.BaseModel --use-title-as-name --disable-timestamp "
        "--output leads_add.py",
        tmp_path,
    )
    module = _module(tmp_path / "leads_add.py", "amodp_test_leads_add")
    model = module.LeadsAddAccount
    for seed in SEEDS:
        model.model_validate(made(spec, seed))
    for name in ("2016_leads_add.txt", "2025_leads_add.txt"):
        model.model_validate(decode((CAPTURES / name).read_bytes()))
