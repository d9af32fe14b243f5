"""Values a sender controls that pass a first look and used to fail later as InternalError: each is
now refused where it is parsed, as a client error naming the field (or, in an alarm, skipped)."""

import json
from typing import Any

import pytest

from backup_fn.domain import Arrival, Trigger
from backup_fn.errors import InvalidRequest
from backup_fn.sources import parse_trigger
from localoci.samples import sample

VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"


def parse(payload: object) -> Trigger:
    return parse_trigger(json.dumps(payload).encode(), Arrival("notifications", "m-1", "c"))


def refused(raw: bytes) -> str:
    with pytest.raises(InvalidRequest) as caught:
        parse_trigger(raw, Arrival("direct", None, "c"))
    return caught.value.message


def alarm_with(*resource_ids: object) -> Any:
    payload = sample("alarm-ok-to-firing.json").payload
    payload["alarmMetaData"][0]["dimensions"] = [{"resourceId": r} for r in resource_ids]
    return payload


def test_an_alarm_dimension_with_a_trailing_newline_is_skipped_and_the_good_ones_go_ahead():
    trigger = parse(alarm_with(VOLUME + "\n", VOLUME.replace("appdata", "dblogs0")))
    assert [job.resource_id for job in trigger.jobs] == [VOLUME.replace("appdata", "dblogs0")]
    (skipped,) = trigger.skipped
    assert skipped.resource_id == VOLUME + "\n"
    assert "whitespace" in skipped.reason


def test_an_overlong_or_odd_dimension_is_skipped_with_its_reason():
    long_one = "ocid1.volume.oc1.iad." + "a" * 300
    trigger = parse(alarm_with(long_one, 42, ["x"], VOLUME))
    assert len(trigger.jobs) == 1
    reasons = [s.reason for s in trigger.skipped]
    assert "255 characters" in reasons[0]
    assert reasons[1:] == ["resourceId is not a string.", "resourceId is not a string."]
    assert all(len(s.resource_id) <= 255 for s in trigger.skipped)


def test_an_alarm_whose_only_dimension_is_bad_is_ignored_with_the_reason_listed():
    trigger = parse(alarm_with(VOLUME + " "))
    assert trigger.jobs == ()
    assert trigger.ignored
    assert trigger.skipped[0].resource_id == VOLUME + " "


@pytest.mark.parametrize("millis", [10**20, -1, 2**63])
def test_an_alarm_timestamp_out_of_range_is_the_sender_s_error(millis):
    payload = sample("alarm-ok-to-firing.json").payload
    payload["timestampEpochMillis"] = millis
    with pytest.raises(InvalidRequest, match="timestampEpochMillis"):
        parse(payload)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_event_time_at_the_edge_of_the_calendar_is_the_sender_s_error(when):
    payload = sample("event-createvolume-end.json").payload
    payload["eventTime"] = when
    with pytest.raises(InvalidRequest, match="eventTime"):
        parse(payload)


def test_defined_tags_follow_oci_s_shape():
    deep: object = "x"
    for _ in range(300):
        deep = {"k": deep}
    with pytest.raises(InvalidRequest, match="definedTags"):
        parse({"volumeId": VOLUME, "definedTags": {"Operations": deep}})
    with pytest.raises(InvalidRequest, match="definedTags"):
        parse({"volumeId": VOLUME, "definedTags": {"Operations": {"CostCenter": {"nested": "1"}}}})
    assert parse({"volumeId": VOLUME, "definedTags": {"Operations": {"CostCenter": "42", "Tier": 1}}}).jobs


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"volumeId": "%s", "definedTags": {"a": {"b": NaN}}}' % VOLUME.encode(), "NaN"),
        (b'{"volumeId": "%s", "definedTags": {"a": {"b": Infinity}}}' % VOLUME.encode(), "Infinity"),
        (b'{"volumeId": "%s", "definedTags": {"a": {"b": 1e999}}}' % VOLUME.encode(), "out of range"),
        (b'{"volumeId": "%s", "volumeId": "%s"}' % (VOLUME.encode(), VOLUME.replace("appdata", "dblogs0").encode()), "volumeId"),
        (b'{"volumeId": "%s", "type": "FULL", "type": "INCREMENTAL"}' % VOLUME.encode(), "type"),
    ],
)
def test_json_a_strict_reader_would_not_take_is_refused(raw, words):
    assert words in refused(raw)


def test_whitespace_around_a_request_ocid_gets_its_own_message():
    assert refused(json.dumps({"volumeId": " " + VOLUME}).encode()) == (
        "Invalid backup request: volumeId: must be an ocid1.volume. OCID without whitespace around it"
    )
    assert "whitespace" in refused(json.dumps({"volumeId": VOLUME + "\n"}).encode())
