"""How `make run` judges an answer against events/manifest.json, and its exit code."""

from __future__ import annotations

import json
from collections.abc import Mapping

from localoci.harness import CallResult
from localoci.run_samples import run_all
from localoci.samples import problems, sample


def answer(status: int, body: Mapping[str, object], headers: dict[str, str] | None = None) -> CallResult:
    return CallResult(status, headers or {}, json.dumps(body).encode(), 0.001)


CREATED = {"id": "ocid1.volumebackup.oc1.iad.x", "lifecycleState": "CREATING", "volumeId": "ocid1.volume.oc1.iad.y", "outcome": "created"}


def test_the_expected_answer_has_no_problems():
    assert problems(sample("request-volume.json"), answer(200, CREATED)) == []


def test_an_error_where_a_backup_was_expected_is_a_problem():
    found = problems(sample("request-volume.json"), answer(200, {"code": "NotAuthorizedOrNotFound", "message": "gone"}))
    assert found == ["outcome error, expected created", "answer has no volumeId"]


def test_gateway_samples_are_judged_by_the_gateway_status():
    s = sample("gateway-request-invalid.json")
    body = {"code": "InvalidParameter", "message": "bad"}
    assert problems(s, answer(200, body, {"fn-http-status": "400"})) == []
    assert problems(s, answer(200, body, {"fn-http-status": "500"})) == ["status 500, expected 400"]


class Replies:
    """Answers in turn, as a function would: run_all's only collaborator is `call`."""

    def __init__(self, *results: CallResult) -> None:
        self.results = list(results)

    def call(self, call: object) -> CallResult:
        return self.results.pop(0)


def test_make_run_counts_the_answers_that_differ(capsys):
    samples = [sample("request-volume.json"), sample("request-not-found.json")]
    missing = {"code": "NotAuthorizedOrNotFound", "message": "gone"}
    assert run_all(Replies(answer(200, CREATED), answer(200, missing)), samples) == 0  # type: ignore[arg-type]
    assert run_all(Replies(answer(200, missing), answer(200, missing)), samples) == 1  # type: ignore[arg-type]
    assert "FAIL request-volume.json" in capsys.readouterr().out
