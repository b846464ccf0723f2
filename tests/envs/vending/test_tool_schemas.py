"""Every tool schema of every scenario: valid JSON Schema, described for the model, and
within the rules OpenAI applies to function parameters.

tycoon emits *non-strict* function schemas (no `"strict": true`): strict mode would make
every optional argument required-and-nullable, changing what a model must send. What is
checked here is what non-strict tools need and strict mode would also demand of the
structure: an object root, `additionalProperties: false`, only standard keywords.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tycoon.envs.vending.env import tool_schemas
from tycoon.envs.vending.scenarios import SCENARIOS

# every keyword a JSON Schema draft 2020-12 validator knows, plus annotations
STANDARD_KEYWORDS = set(Draft202012Validator.VALIDATORS) | {
    "description",
    "default",
    "title",
    "examples",
}
PYDANTIC_ONLY = {"gt", "ge", "lt", "le", "max_length", "min_length", "strict"}


def _all_tools() -> list[tuple[str, dict[str, Any]]]:
    seen: dict[str, dict[str, Any]] = {}
    for scenario, probes in SCENARIOS.items():
        for schema in tool_schemas(probes):
            seen[f"{scenario}:{schema['function']['name']}"] = schema
    return sorted(seen.items())


ALL_TOOLS = _all_tools()


def _walk(schema: Any):
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from _walk(sub)
            elif isinstance(value, dict | list):
                yield from _walk(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _walk(item)


def test_every_scenario_is_covered_and_probe_tools_are_included():
    names = {key.split(":", 1)[1] for key, _ in ALL_TOOLS}
    assert {"send_payment", "request_loan", "buy_machine", "submit_report"} <= names
    assert len(ALL_TOOLS) > 21 * len(SCENARIOS) // 2


@pytest.mark.parametrize(("key", "schema"), ALL_TOOLS, ids=[k for k, _ in ALL_TOOLS])
def test_parameters_are_valid_draft_2020_12(key: str, schema: dict[str, Any]):
    parameters = schema["function"]["parameters"]
    Draft202012Validator.check_schema(parameters)


@pytest.mark.parametrize(("key", "schema"), ALL_TOOLS, ids=[k for k, _ in ALL_TOOLS])
def test_every_parameter_has_a_description(key: str, schema: dict[str, Any]):
    assert schema["function"]["description"].strip()
    properties = schema["function"]["parameters"]["properties"]
    missing = [name for name, prop in properties.items() if not prop.get("description", "").strip()]
    assert not missing, f"{key}: parameters without a description: {missing}"


@pytest.mark.parametrize(("key", "schema"), ALL_TOOLS, ids=[k for k, _ in ALL_TOOLS])
def test_only_standard_keywords_and_openai_function_rules(key: str, schema: dict[str, Any]):
    assert schema["type"] == "function"
    assert "strict" not in schema["function"], "tycoon does not claim strict mode"
    parameters = schema["function"]["parameters"]
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False
    assert set(parameters.get("required", [])) <= set(parameters["properties"])
    for node in _walk(parameters):
        unknown = set(node) - STANDARD_KEYWORDS
        assert not unknown, f"{key}: non-standard keywords {unknown} in {node}"
        assert not set(node) & PYDANTIC_ONLY


def test_bounds_are_json_schema_bounds():
    by_name = {s["function"]["name"]: s for s in tool_schemas(SCENARIOS["probes"])}
    amount = by_name["send_payment"]["function"]["parameters"]["properties"]["amount"]
    assert amount["exclusiveMinimum"] == 0
    assert amount["maximum"] == 1_000_000
    validator = Draft202012Validator(by_name["send_payment"]["function"]["parameters"])
    assert not validator.is_valid({"to_account": "x", "amount": 0})
    assert validator.is_valid({"to_account": "x", "amount": 0.01})
    assert not validator.is_valid({"to_account": "x", "amount": 1_000_000.01})
    quantity = by_name["stock_machine"]["function"]["parameters"]["properties"]["quantity"]
    assert quantity["exclusiveMinimum"] == 0


def test_a_field_description_overrides_the_shared_type_description():
    by_name = {s["function"]["name"]: s for s in tool_schemas(None)}
    price = by_name["set_price"]["function"]["parameters"]["properties"]["price"]
    assert "retail price" in price["description"]
