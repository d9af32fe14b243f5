"""func.py, called in-process through fdk's own fixtures (the functional tests go through the socket)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import sys

import pytest
from fdk import fixtures


@pytest.fixture(autouse=True)
def collector_restored():
    """Importing func.py turns the collector off until its first call: leave the test process as it was."""
    yield
    gc.unfreeze()
    gc.enable()


def call(handler, content: bytes, *, gateway: bool = False):
    async def run():
        # setup_fn_call gives back process_response's coroutine: it is awaited twice.
        return await (await fixtures.setup_fn_call(handler, content=content, gateway=gateway))

    body, status, headers = asyncio.run(run())
    return json.loads(body), status, headers


def test_collector_is_off_while_loading_and_frozen_out_then_back_on_after_the_first_call():
    sys.modules.pop("func", None)
    func = importlib.import_module("func")
    assert not gc.isenabled()
    body, status, _ = call(func.handler, b'{"volumeId": "not-an-ocid"}')
    assert (status, body["code"]) == (200, "InvalidParameter")
    assert gc.isenabled()
    assert gc.get_freeze_count() > 10_000


def test_answers_are_json_with_the_gateway_status():
    func = importlib.import_module("func")
    body, status, headers = call(func.handler, b"[]", gateway=True)
    assert status == 400
    assert body["code"] == "InvalidParameter"
    assert headers["content-type"] == "application/json"
    assert headers["fn-http-status"] == "400"
