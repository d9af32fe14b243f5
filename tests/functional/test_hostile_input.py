"""Malformed, truncated, wrong-typed and oversized payloads of every trigger shape, through the
fdk socket: every answer is a clean client error, an ignore or a backup — never a 5xx or a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localoci.harness import Call, FdkServer
from localoci.samples import load_samples, sample
from tests.conftest import FunctionFactory

pytestmark = pytest.mark.functional
SWEPT = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"


@pytest.fixture
def function(start_function: FunctionFactory) -> FdkServer:
    """With a compartment to sweep, a well-formed sweep body is a sweep, not a configuration error."""
    return start_function(SWEEP_COMPARTMENT_IDS=SWEPT)


PAYLOADS = [s.payload for s in load_samples()]
CLIENT_CODES = {
    "InvalidParameter",
    "PayloadTooLarge",
    "MethodNotAllowed",
    "NotAuthorizedOrNotFound",
    "CompartmentNotAllowed",
    "BackupInProgress",
}

EDGE_NUMBERS = [0, -1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, 1e308, -1e-308, 5e-324, 0.1]
ODD_TEXT = st.sampled_from(
    ["", " ", "\n", "\u0000", "\u202e", "\ud7ff\ue000", "é" * 300, "ocid1.volume.oc1.iad." + "a" * 240, "x" * 70_000]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def removed(value: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return copy


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    payload = draw(st.sampled_from(PAYLOADS))
    candidates = paths(payload)
    mutation = draw(
        st.sampled_from(
            [
                "retype",
                "remove",
                "add",
                "truncate",
                "oversize",
                "anything",
                "bytes",
                "deep",
                "edge",
                "text",
                "space",
                "duplicate",
                "constant",
            ]
        )
    )
    if mutation == "retype" and candidates:
        return json.dumps(replaced(payload, draw(st.sampled_from(candidates)), draw(json_values))).encode()
    if mutation == "remove" and candidates:
        return json.dumps(removed(payload, draw(st.sampled_from(candidates)))).encode()
    if mutation == "add":
        extra = dict(payload)
        extra[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        return json.dumps(extra).encode()
    if mutation == "truncate":
        raw = json.dumps(payload).encode()
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if mutation == "oversize":
        return json.dumps({**payload, "padding": "x" * draw(st.integers(65 * 1024, 200 * 1024))}).encode()
    if mutation == "deep" and candidates:
        depth = draw(st.integers(20, 3000))
        text = json.dumps(replaced(payload, draw(st.sampled_from(candidates)), "__deep__"))
        return text.replace('"__deep__"', '{"a":' * depth + "1" + "}" * depth).encode()
    if mutation == "edge" and candidates:
        return json.dumps(replaced(payload, draw(st.sampled_from(candidates)), draw(st.sampled_from(EDGE_NUMBERS)))).encode()
    if mutation == "text" and candidates:
        return json.dumps(replaced(payload, draw(st.sampled_from(candidates)), draw(ODD_TEXT))).encode()
    if mutation == "space":
        text = json.dumps(payload)
        return text.replace('"ocid1.', draw(st.sampled_from(['" ocid1.', '"\\nocid1.', '"\\tocid1.'])), 1).encode()
    if mutation == "duplicate" and isinstance(payload, dict) and payload:
        key = draw(st.sampled_from(sorted(payload)))
        return json.dumps(payload)[:-1].encode() + b", " + json.dumps({key: draw(json_values)})[1:].encode()
    if mutation == "constant" and candidates:
        marker = "__constant__"
        text = json.dumps(replaced(payload, draw(st.sampled_from(candidates)), marker))
        return text.replace(f'"{marker}"', draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]))).encode()
    if mutation == "anything":
        return json.dumps(draw(json_values)).encode()
    return draw(st.binary(max_size=300))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=hostile_bodies(), delivery=st.sampled_from(["direct", "notifications", "api-gateway"]))
def test_hostile_payloads_get_clean_answers(function, emulator, body, delivery):
    creates_before = sum(1 for r in emulator.requests if r.operation.startswith(("Create", "Copy", "Delete")))
    result = function.call(Call(body=body, delivery=delivery))
    assert result.status == 200, result.body
    assert result.http_status < 500, result.body
    text = result.body.decode()
    assert "Traceback" not in text
    answer = json.loads(text)
    assert isinstance(answer, dict)
    if "code" in answer:
        assert answer["code"] in CLIENT_CODES, answer
        assert answer["message"]
        if answer["code"] in ("InvalidParameter", "PayloadTooLarge"):
            creates_after = sum(1 for r in emulator.requests if r.operation.startswith(("Create", "Copy", "Delete")))
            assert creates_after == creates_before, "an invalid body must create nothing"
    else:
        assert answer.get("ignored") is True or "id" in answer or "backups" in answer or "sweep" in answer, answer
    assert function.alive()


def test_two_different_client_retry_tokens_are_a_client_error_in_either_order(function, emulator):
    """A header sent twice arrives joined with a comma (as HTTP allows intermediaries to join it)."""
    body = sample("gateway-request-volume.json").body
    for joined in ("a-1,b-2", "b-2, a-1"):
        result = function.call(Call(body=body, delivery="api-gateway", client_headers={"opc-retry-token": joined}))
        assert result.http_status == 400
        assert result.json == {
            "code": "InvalidParameter",
            "message": "Header opc-retry-token was sent more than once with different values: send it once.",
        }
    assert not [r for r in emulator.requests if r.method == "POST"]
    same = function.call(Call(body=body, delivery="api-gateway", client_headers={"opc-retry-token": "a-1,a-1"}))
    assert same.http_status == 200, same.body
