"""How `make run` judges an answer against events/manifest.json, how it shows it, and its exit code."""

from __future__ import annotations

import json
from collections.abc import Mapping

from localoci.harness import Call, CallResult
from localoci.run_samples import WIDTH, Run, run_all
from localoci.samples import EVENTS_DIR, MANIFEST, SOURCES, describe, problems, sample, short_ocid, shorten_ocids


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


def test_every_sample_in_events_has_a_manifest_entry_naming_its_source():
    manifest = json.loads(MANIFEST.read_text())
    for path in sorted(EVENTS_DIR.glob("*.json")):
        if path != MANIFEST:
            assert manifest.get(path.name, {}).get("source") in SOURCES, path.name


def test_a_short_ocid_is_its_kind_and_its_last_six_characters():
    ocid = "ocid1.volumebackup.oc1.iad.abuwcljrledgerweekly1000000000000000000000000000abc123"
    assert short_ocid(ocid) == "…volumebackup…abc123"
    assert shorten_ocids(f"{ocid} carries the tag.") == "…volumebackup…abc123 carries the tag."
    assert shorten_ocids("volumeId: must be an ocid1.volume. OCID") == "volumeId: must be an ocid1.volume. OCID"


def test_an_expected_client_error_reads_as_a_rejection():
    body = {"code": "InvalidParameter", "message": "Invalid backup request: volumeId: must be an ocid1.volume. OCID"}
    assert describe(sample("gateway-request-invalid.json"), answer(200, body, {"fn-http-status": "400"})) == (
        "rejected InvalidParameter",
        ["message: Invalid backup request: volumeId: must be an ocid1.volume. OCID"],
    )
    assert describe(sample("request-volume.json"), answer(502, {"code": "ServiceUnavailable", "message": "later"}))[0] == (
        "failed ServiceUnavailable"
    )


class Replies:
    """Answers in turn, as a function would: run_all's only collaborator is `call`."""

    def __init__(self, *results: CallResult) -> None:
        self.results = list(results)
        self.calls: list[Call] = []

    def call(self, call: Call) -> CallResult:
        self.calls.append(call)
        return self.results.pop(0)


def test_make_run_counts_the_answers_that_differ(capsys):
    samples = [sample("request-volume.json"), sample("request-not-found.json")]
    missing = {"code": "NotAuthorizedOrNotFound", "message": "gone"}
    assert run_all(Replies(answer(200, CREATED), answer(200, missing)), samples, Run()) == 0
    assert run_all(Replies(answer(200, missing), answer(200, missing)), samples, Run()) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL  request-volume ") for line in out.splitlines())
    assert all(len(line) <= WIDTH for line in out.splitlines())


def test_make_run_remembers_who_made_each_call_and_what_it_deleted():
    backup = {"id": "ocid1.volumebackup.oc1.iad.b6", "lifecycleState": "AVAILABLE"}
    finished = {"backup": backup, "copies": [], "pruned": ["b1", "b2"], "kept": 2}
    replies = Replies(answer(200, finished))
    run = Run()
    run_all(replies, [sample("event-createvolumebackup-end.json")], run)
    assert run.name_of_call == {replies.calls[0].call_id: "event-createvolumebackup-end"}
    assert run.deleted_by == {"b1": "event-createvolumebackup-end", "b2": "event-createvolumebackup-end"}
