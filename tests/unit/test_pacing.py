"""The sweep's pacer: it grows while creates are accepted and halves once per burst of 429s."""

from __future__ import annotations

import time

from backup_fn.deadline import Deadline
from backup_fn.pacing import MIN_PER_SECOND, Pacer


def test_slow_start_grows_by_half_a_round_then_a_burst_of_throttles_halves_once():
    pacer = Pacer(per_second=10)
    for _ in range(10):
        pacer.accepted()
    assert pacer.per_second == 15
    pacer.throttled()
    pacer.throttled()
    pacer.throttled()
    assert pacer.per_second == 7.5 and not pacer.slow_start
    pacer.accepted()
    assert 7.5 < pacer.per_second < 8  # additive from now on


def test_never_below_its_floor_and_never_a_turn_past_the_deadline():
    pacer = Pacer(per_second=MIN_PER_SECOND)
    pacer._halved_at = float("-inf")
    pacer.throttled()
    assert pacer.per_second == MIN_PER_SECOND
    assert pacer.wait(Deadline(time.monotonic() + 10))  # the first turn is now
    assert not pacer.wait(Deadline(time.monotonic() + 0.1))  # the next is two seconds away
