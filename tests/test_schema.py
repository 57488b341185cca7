"""--schema: the answer is JSON a script can parse, asked for in the mode the model has, checked
locally; a bad schema is refused before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatpro.errors import InputError
from chatpro.schema import parse_schema, short_form
from tests.fakeserver import Behaviour

GOOD = '{"name": "Site redesign", "deadline": "2026-12-01", "budget": 4000, "deliverables": ["mockups", "CSS"]}'
SHORT = "name, deadline date, budget int, deliverables list"


def records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_short_form_is_a_closed_object_with_every_field_required():
    schema = short_form(
        "name, deadline date, budget int, rate float, ok bool, tags list, ns list[int]"
    )
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "deadline", "budget", "rate", "ok", "tags", "ns"]
    props = schema["properties"]
    assert props["name"] == {"type": "string"}
    assert props["deadline"] == {"type": "string", "format": "date"}
    assert props["budget"] == {"type": "integer"}
    assert props["rate"] == {"type": "number"}
    assert props["ok"] == {"type": "boolean"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["ns"] == {"type": "array", "items": {"type": "integer"}}


@pytest.mark.parametrize(
    "spec",
    [
        "name, budget money",  # unknown type
        "name,, budget",  # empty field
        "name, name",  # twice
        '{"type": "object", "properties": {"a": {"type": "nope"}}}',  # not a valid JSON Schema
        '{"type": "object"',  # broken JSON
        '["a"]',  # not an object
        '{"type": "array", "items": {"type": "string"}}',  # a list without --schema-multi
    ],
)
def test_bad_schemas_are_input_errors(spec):
    with pytest.raises(InputError):
        parse_schema(spec)


def test_strict_only_when_the_server_would_accept_it():
    assert parse_schema(SHORT).strict
    open_schema = parse_schema('{"type": "object", "properties": {"a": {"type": "string"}}}')
    assert not open_schema.strict
    assert open_schema.response_format("gpt-4o")["json_schema"]["strict"] is False


def test_ask_schema_short_form_strict_mode_on_gpt_4o(run, server, home):
    server.queue(Behaviour(text=GOOD))
    result = run("ask", "--schema", SHORT, "Read this brief")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(GOOD)
    assert result.stdout.endswith("}\n") and result.stdout.count("\n") == 1
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == [
        "name",
        "deadline",
        "budget",
        "deliverables",
    ]


def test_json_mode_and_instructions_for_a_model_without_structured_output(run, server):
    server.queue(Behaviour(text=GOOD))
    result = run("ask", "-m", "fast", "--schema", SHORT, "Read this brief")
    assert result.returncode == 0, result.stderr
    body = server.requests[0].body
    assert body["model"] == "gpt-3.5-turbo"
    assert body["response_format"] == {"type": "json_object"}
    assert '"deadline"' in server.requests[0].system and "JSON" in server.requests[0].system


def test_schema_from_a_file_and_inline(run, server, home):
    schema = {
        "title": "Invoice",
        "type": "object",
        "properties": {"total": {"type": "number"}},
        "required": ["total"],
        "additionalProperties": False,
    }
    path = home.parent / "invoice.json"
    path.write_text(json.dumps(schema))
    server.queue(Behaviour(text='{"total": 12.5}'), Behaviour(text='{"total": 3}'))
    first = run("ask", "--schema", str(path), "Total?")
    second = run("ask", "--schema", json.dumps(schema), "Total?")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert json.loads(first.stdout) == {"total": 12.5}
    assert json.loads(second.stdout) == {"total": 3}
    assert server.requests[0].body["response_format"]["json_schema"]["name"] == "Invoice"
    assert server.requests[0].body["response_format"]["json_schema"]["schema"] == schema


def test_schema_multi_wraps_items(run, server):
    server.queue(
        Behaviour(text='{"items": [{"name": "a", "budget": 1}, {"name": "b", "budget": 2}]}')
    )
    result = run("ask", "--schema", "name, budget int", "--schema-multi", "List the jobs")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "items": [{"name": "a", "budget": 1}, {"name": "b", "budget": 2}]
    }
    schema = server.requests[0].body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["items"]["type"] == "array"
    assert schema["properties"]["items"]["items"]["required"] == ["name", "budget"]


def test_json_flag_adds_the_parsed_object(run, server):
    server.queue(Behaviour(text=GOOD))
    result = run("ask", "--json", "--schema", SHORT, "Read this brief")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["json"] == json.loads(GOOD)
    assert payload["text"] == GOOD


def test_an_answer_that_does_not_validate_is_exit_5_and_still_logged(run, server, home):
    bad = '{"name": "x", "deadline": "soon", "budget": 10, "deliverables": []}'
    server.queue(Behaviour(text=bad))
    result = run("ask", "--schema", SHORT, "Read this brief")
    assert result.returncode == 5
    assert result.stdout == ""
    assert "$.deadline" in result.stderr and "'soon' is not a 'date'" in result.stderr
    assistant = [r for r in records(home) if r["role"] == "assistant"]
    assert assistant and assistant[-1]["content"] == bad
    usage = run("usage", "--json")
    assert "gpt-4o" in usage.stdout and '"used": 1' in usage.stdout


def test_an_answer_that_is_not_json_is_exit_5(run, server):
    server.queue(Behaviour(text="Sure! Here it is: name=x"))
    result = run("ask", "--schema", SHORT, "Read this brief")
    assert result.returncode == 5
    assert "not valid JSON" in result.stderr


@pytest.mark.parametrize("spec", ["name, budget money", '{"type": "object", "properties": 3}'])
def test_a_bad_schema_is_exit_2_and_nothing_is_sent(run, server, home, spec):
    result = run("ask", "--schema", spec, "Read this brief")
    assert result.returncode == 2
    assert result.stderr.startswith("chatpro: error: --schema")
    assert server.requests == []
    assert records(home) == []


def test_upload_takes_a_schema(run, server, home):
    brief = home.parent / "brief.txt"
    brief.write_text("Redesign the site by 1 December for 4000 EUR: mockups and CSS.")
    server.queue(Behaviour(text=GOOD))
    result = run("upload", str(brief), "--schema", SHORT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["budget"] == 4000
    assert server.requests[0].body["response_format"]["type"] == "json_schema"
