"""The emulator's backup lifecycle, Notifications and telemetry endpoints, and its newer faults:
each must behave as OCI documents, or the function's tests against it prove nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from oci._vendor import requests

from localoci.emulator import CoreEmulator
from localoci.harness import REPO
from localoci.identity import LocalIdentity
from tests.helpers import SEED, eventually, send

LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
FINISHED = "ocid1.volumebackup.oc1.iad.abuwcljrledgerfinished00000000000000000000000000000006"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"


@pytest.fixture
def emulator(identity: LocalIdentity):
    with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.2, available_after=0.5) as running:
        yield running


def copy_of(emulator, identity, backup_id=FINISHED, token="t-1", **body):
    return send(
        emulator,
        identity,
        "POST",
        f"/volumeBackups/{backup_id}/actions/copy",
        {"destinationRegion": "us-phoenix-1", **body},
        headers={"opc-retry-token": token},
    )


def test_lists_page_with_opc_next_page_and_honour_sort_order(emulator, identity):
    emulator.state.max_page_size = 3
    seen, page, pages = [], None, 0
    while True:
        query = f"?compartmentId={PROD}&volumeId={LEDGER}&sortBy=TIMECREATED&sortOrder=ASC" + (f"&page={page}" if page else "")
        answer = send(emulator, identity, "GET", f"/volumeBackups{query}")
        assert answer.status_code == 200
        seen += answer.json()
        pages += 1
        page = answer.headers.get("opc-next-page")
        if not page:
            break
    assert pages == 2
    assert [b["timeCreated"] for b in seen] == sorted(b["timeCreated"] for b in seen)
    assert len(seen) == 6
    newest_first = send(emulator, identity, "GET", f"/volumeBackups?compartmentId={PROD}&volumeId={LEDGER}&limit=1").json()
    assert newest_first[0]["id"] == FINISHED
    by_name = send(emulator, identity, "GET", f"/volumeBackups?compartmentId={PROD}&volumeId={LEDGER}&sortBy=DISPLAYNAME&sortOrder=DESC")
    assert [b["displayName"] for b in by_name.json()] == sorted((b["displayName"] for b in by_name.json()), reverse=True)


@pytest.mark.parametrize("query", ["sortBy=SIZE", "sortOrder=UP", "limit=0", "limit=1001", "page=not-a-token", "limit=x"])
def test_bad_list_parameters_are_400(emulator, identity, query):
    answer = send(emulator, identity, "GET", f"/volumeBackups?compartmentId={PROD}&{query}")
    assert answer.status_code == 400
    assert answer.json()["code"] in ("InvalidParameter", "MissingParameter")


def test_volumes_can_be_listed(emulator, identity):
    answer = send(emulator, identity, "GET", f"/volumes?compartmentId={PROD}&limit=5")
    assert answer.status_code == 200
    assert len(answer.json()) == 5
    assert answer.headers["opc-next-page"]


def test_a_copy_lands_in_the_destination_region_only_and_its_token_makes_it_once(emulator, identity):
    first = copy_of(emulator, identity, displayName="dr copy")
    assert first.status_code == 200
    copied = first.json()
    assert copied["id"].startswith("ocid1.volumebackup.oc1.phx.")
    assert (copied["lifecycleState"], copied["sourceVolumeBackupId"], copied["displayName"]) == ("CREATING", FINISHED, "dr copy")
    assert copy_of(emulator, identity, displayName="dr copy").json()["id"] == copied["id"]
    assert copy_of(emulator, identity, displayName="another").status_code == 409
    assert [b["id"] for b in emulator.backups_in_region("us-phoenix-1")] == [copied["id"]]
    assert copied["id"] not in {b["id"] for b in emulator.backups_for(LEDGER)}
    assert send(emulator, identity, "GET", f"/volumeBackups/{copied['id']}").status_code == 404  # not in this region


@pytest.mark.parametrize(
    ("body", "status"),
    [({"destinationRegion": "us-ashburn-1"}, 400), ({"destinationRegion": "mars-north-1"}, 400), ({"kmsKeyId": "key"}, 400)],
)
def test_copies_to_nowhere_or_with_a_bad_key_are_refused(emulator, identity, body, status):
    assert copy_of(emulator, identity, **body).status_code == status


def test_only_an_available_backup_can_be_copied_and_ten_copies_at_most_run_at_once(emulator, identity):
    running = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": LEDGER}).json()
    refused = copy_of(emulator, identity, running["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "IncorrectState")
    emulator.state.available_after = 60
    sources = [emulator.add_backup(source_id=LEDGER, freeformTags={}) for _ in range(11)]
    statuses = [copy_of(emulator, identity, source, token=f"t-{n}").status_code for n, source in enumerate(sources)]
    assert statuses == [200] * 10 + [429]


def test_delete_is_204_then_404_and_the_backup_shows_terminated(emulator, identity):
    assert send(emulator, identity, "DELETE", f"/volumeBackups/{FINISHED}").status_code == 204
    assert send(emulator, identity, "GET", f"/volumeBackups/{FINISHED}").json()["lifecycleState"] == "TERMINATED"
    again = send(emulator, identity, "DELETE", f"/volumeBackups/{FINISHED}")
    assert (again.status_code, again.json()["code"]) == (404, "NotAuthorizedOrNotFound")
    running = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": LEDGER}).json()
    assert send(emulator, identity, "DELETE", f"/volumeBackups/{running['id']}").status_code == 409


def test_delete_honours_if_match(emulator, identity):
    other = emulator.add_backup(source_id=LEDGER)
    etag = send(emulator, identity, "GET", f"/volumeBackups/{other}").headers["etag"]
    assert send(emulator, identity, "DELETE", f"/volumeBackups/{other}", headers={"if-match": "stale"}).status_code == 412
    assert send(emulator, identity, "DELETE", f"/volumeBackups/{other}", headers={"if-match": etag}).status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "status"), [("PUT", f"/volumes/{LEDGER}", 405), ("PATCH", "/volumeBackups", 405), ("GET", "/nothing", 404)]
)
def test_unsupported_methods_and_paths_answer_oci_json(emulator, identity, method, path, status):
    answer = send(emulator, identity, method, path)
    assert answer.status_code == status
    assert set(answer.json()) == {"code", "message"}
    assert answer.headers["opc-request-id"]


def test_messages_are_validated_and_recorded(emulator, identity):
    ok = send(emulator, identity, "POST", f"/topics/{TOPIC}/messages", {"title": "t", "body": "b"}, prefix="/20181201")
    assert ok.status_code == 200 and ok.json()["messageId"]
    assert emulator.messages == [{"topicId": TOPIC, "title": "t", "body": "b", "messageId": ok.json()["messageId"]}]
    unknown = "ocid1.onstopic.oc1.iad.aaaaaaaanosuchtopic"
    assert send(emulator, identity, "POST", f"/topics/{unknown}/messages", {"body": "b"}, prefix="/20181201").status_code == 404
    too_big = {"title": "t", "body": "x" * (64 * 1024)}
    assert send(emulator, identity, "POST", f"/topics/{TOPIC}/messages", too_big, prefix="/20181201").status_code == 400
    assert send(emulator, identity, "POST", f"/topics/{TOPIC}/messages", {"title": "t"}, prefix="/20181201").status_code == 400
    assert len(emulator.messages) == 1


def metric(**changes):
    item = {
        "namespace": "volume_backup",
        "compartmentId": PROD,
        "name": "BackupsFailed",
        "dimensions": {"trigger": "request"},
        "datapoints": [{"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "value": 1}],
    }
    item.update(changes)
    return item


@pytest.mark.parametrize(
    "bad",
    [
        {"namespace": "oci_blockstore"},
        {"namespace": "has space"},
        {"dimensions": {}},
        {"dimensions": {f"d{n}": "x" for n in range(21)}},
        {"datapoints": [{"timestamp": "2020-01-01T00:00:00Z", "value": 1}]},
        {"datapoints": [{"timestamp": "2099-01-01T00:00:00Z", "value": 1}]},
        {"compartmentId": "nope"},
    ],
)
def test_metric_data_is_validated_as_oci_documents(emulator, identity, bad):
    answer = send(emulator, identity, "POST", "/metrics", {"metricData": [metric(**bad)]}, prefix="/20180401")
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    assert emulator.metrics == []


def test_metric_data_is_recorded(emulator, identity):
    answer = send(emulator, identity, "POST", "/metrics", {"metricData": [metric()], "batchAtomicity": "NON_ATOMIC"}, prefix="/20180401")
    assert answer.json() == {"failedMetricsCount": 0, "failedMetrics": []}
    assert emulator.metrics == [metric() | {"datapoints": emulator.metrics[0]["datapoints"]}]


def test_the_new_endpoints_verify_signatures(emulator, identity):
    with requests.Session() as session:
        unsigned = session.post(f"{emulator.url}/20181201/topics/{TOPIC}/messages", json={"body": "b"}, timeout=10)
    assert unsigned.status_code == 401
    assert send(emulator, identity, "DELETE", f"/volumeBackups/{FINISHED}", token="not-a-token").status_code == 401
    assert emulator.messages == []
    assert emulator.backups[FINISHED]["lifecycleState"] == "AVAILABLE"


def test_an_html_error_page_and_a_body_that_is_not_utf8(emulator, identity):
    emulator.add_fault(operation="GetVolume", status=502, body="<html><body><h1>502 Bad Gateway</h1></body></html>")
    page = send(emulator, identity, "GET", f"/volumes/{LEDGER}")
    assert (page.status_code, page.headers["content-type"]) == (502, "text/html")
    assert page.content.startswith(b"<html>")
    emulator.add_fault(operation="GetVolume", status=503, body="caf\u00e9 indisponible", body_encoding="latin-1")
    raw = send(emulator, identity, "GET", f"/volumes/{LEDGER}").content
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_a_trickled_body_spreads_over_the_time_asked(emulator, identity):
    emulator.add_fault(operation="GetVolume", trickle_seconds=1.5)
    started = time.monotonic()
    answer = send(emulator, identity, "GET", f"/volumes/{LEDGER}")
    assert answer.status_code == 200 and answer.json()["id"] == LEDGER
    assert time.monotonic() - started >= 1.2  # the last pause follows the last byte


def test_latency_applies_to_every_request(identity):
    with CoreEmulator(SEED, identity.issuer_public_key_pem, latency=0.2) as slow:
        started = time.monotonic()
        assert send(slow, identity, "GET", f"/volumes/{LEDGER}").status_code == 200
        assert time.monotonic() - started >= 0.2


def test_the_standalone_emulator_renews_its_identity_before_it_expires(tmp_path: Path):
    """As `python -m localoci.emulator` runs for a person: in a process of its own, stopped with Ctrl-C."""
    command = [sys.executable, "-m", "localoci.emulator", "--identity-dir", str(tmp_path), "--token-lifetime", "2"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline()]
        while "renewed every" not in printed[-1] and printed[-1]:
            printed.append(process.stdout.readline())
        assert "renewed every" in printed[-1], printed
        first = jwt.decode((tmp_path / "rpst").read_text(), options={"verify_signature": False})

        def renewed() -> bool:
            token = (tmp_path / "rpst").read_text()
            return bool(token) and jwt.decode(token, options={"verify_signature": False})["jti"] != first["jti"]

        assert eventually(renewed)
        second = jwt.decode((tmp_path / "rpst").read_text(), options={"verify_signature": False})
        assert second["exp"] > first["exp"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0  # Ctrl-C stops it cleanly
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_partly_bad_batch_keeps_the_good_metrics_unless_atomic(emulator, identity):
    batch = [metric(), metric(namespace="oci_reserved")]
    partial = send(emulator, identity, "POST", "/metrics", {"metricData": batch}, prefix="/20180401")
    assert partial.status_code == 200
    assert partial.json()["failedMetricsCount"] == 1
    assert len(emulator.metrics) == 1
    atomic = send(emulator, identity, "POST", "/metrics", {"metricData": batch, "batchAtomicity": "ATOMIC"}, prefix="/20180401")
    assert atomic.status_code == 400
    assert len(emulator.metrics) == 1


def test_a_topic_takes_sixty_messages_a_minute(emulator, identity):
    statuses = [
        send(emulator, identity, "POST", f"/topics/{TOPIC}/messages", {"body": str(n)}, prefix="/20181201").status_code for n in range(61)
    ]
    assert statuses == [200] * 60 + [429]


def test_a_known_path_with_another_method_names_the_allowed_ones(emulator, identity):
    answer = send(emulator, identity, "PATCH", f"/volumeBackups/{FINISHED}")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "DELETE, GET, PUT"
