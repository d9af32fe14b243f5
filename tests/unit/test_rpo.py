"""The sweep's pure decision: scope, RPO at its edges, the window and the tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backup_fn import rpo
from backup_fn.models import OciBackup, OciVolume

NOW = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
SCOPE = rpo.Scope(sweep_tag=None, opt_out_tag="backup-opt-out")


def volume(name: str, **fields: object) -> OciVolume:
    return OciVolume.model_validate({"id": f"ocid1.volume.oc1.iad.{name}", "compartmentId": "c", "lifecycleState": "AVAILABLE", **fields})


def backup(of: OciVolume, age: timedelta, state: str = "AVAILABLE", name: str = "b") -> OciBackup:
    created = (NOW - age).isoformat().replace("+00:00", "Z")
    return OciBackup.model_validate(
        {"id": f"ocid1.volumebackup.oc1.iad.{name}", "volumeId": of.id, "lifecycleState": state, "timeCreated": created}
    )


def decide(volumes: list[OciVolume], backups: list[OciBackup], hours: float = 24, now: datetime = NOW) -> rpo.Plan:
    return rpo.plan(volumes, backups, scope=SCOPE, now=now, rpo_hours=hours)


def test_a_backup_exactly_rpo_old_no_longer_protects_and_one_a_millisecond_younger_does():
    at_edge, inside = volume("edge"), volume("inside")
    found = decide(
        [at_edge, inside], [backup(at_edge, timedelta(hours=24)), backup(inside, timedelta(hours=24) - timedelta(milliseconds=1))]
    )
    assert found.within == (inside.id,)
    assert [due.volume.id for due in found.beyond] == [at_edge.id]


def test_states_that_protect_and_states_that_do_not():
    volumes = {
        state: volume(state.lower()) for state in ("AVAILABLE", "CREATING", "REQUEST_RECEIVED", "FAULTY", "TERMINATED", "TERMINATING")
    }
    found = decide(list(volumes.values()), [backup(v, timedelta(hours=1), state, state) for state, v in volumes.items()])
    assert set(found.within) == {volumes[s].id for s in ("AVAILABLE", "CREATING", "REQUEST_RECEIVED")}


def test_scope_rules_and_their_reasons():
    tagged = volume("tagged", freeformTags={"tier": "gold"})
    silver = volume("silver", freeformTags={"tier": "silver"})
    opted = volume("opted", freeformTags={"backup-opt-out": "TRUE", "tier": "gold"})
    gone = volume("gone", lifecycleState="TERMINATED", freeformTags={"tier": "gold"})
    found = rpo.plan([tagged, silver, opted, gone, tagged], [], scope=rpo.Scope(("tier", "gold"), "backup-opt-out"), now=NOW, rpo_hours=24)
    assert [v.id for v in found.in_scope] == [tagged.id]
    reasons = dict(found.excluded)
    assert reasons[silver.id] == "without the freeform tag tier=gold"
    assert reasons[opted.id].startswith("opted out")
    assert reasons[gone.id] == "TERMINATED, not AVAILABLE"


def test_one_token_per_window_and_volume_and_a_new_one_for_a_faulty_backup():
    v = volume("v")
    first = decide([v], []).beyond[0]
    later_same_window = decide([v], [], now=NOW + timedelta(hours=10)).beyond[0]
    next_window = decide([v], [], now=NOW + timedelta(hours=11)).beyond[0]
    assert first.retry_token == later_same_window.retry_token != next_window.retry_token
    assert decide([volume("w")], []).beyond[0].retry_token != first.retry_token
    replaced = decide([v], [backup(v, timedelta(minutes=5), "FAULTY", "f1")]).beyond[0]
    assert replaced.replaces == "ocid1.volumebackup.oc1.iad.f1" and replaced.retry_token != first.retry_token
    assert len(first.retry_token) == 64


def test_windows_are_laid_from_the_epoch():
    assert rpo.Slot.of(NOW, 24).start == datetime(2026, 12, 2, tzinfo=UTC)
    assert rpo.Slot.of(NOW, 0.25).start == datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    assert rpo.Slot.of(NOW, 1).id == "rpo-1h-2026-12-02T13:00:00Z"
