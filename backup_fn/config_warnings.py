"""Warnings about config keys that are set but do nothing: a typo of a known key (`KEEP_LST`), or a
key whose feature another key turns on and which is unset. Neither is an error, since the function
does what the rest of the config says, but an operator who set them expects something to happen."""

from __future__ import annotations

import functools
import logging

log = logging.getLogger("backup_fn")

# A key → the key that turns its feature on; without that one it is read and never used.
NEEDS = {
    "RESTORE_TESTS_PER_SWEEP": "RESTORE_TEST_COMPARTMENT_ID",
    "SWEEP_BATCH_SIZE": "SWEEP_TOPIC_ID",
    "MARK_TAG_KEY": "MARK_TAG_NAMESPACE",
    "ADOPT_UNMARKED_BEFORE": "MARK_TAG_NAMESPACE",
}


@functools.lru_cache(maxsize=8)
def warn(unknown: frozenset[str], given: frozenset[str], known: frozenset[str]) -> None:
    """Once per config: `unknown`, the keys set that the function does not read; `given`, those it reads."""
    for key in sorted(unknown):
        near = next((name for name in sorted(known) if one_edit_apart(key, name)), None)
        if near:
            log.warning(f"config key {key} is not one this function reads; did you mean {near}?", extra={"configKey": key})
    for key, needed in NEEDS.items():
        if key in given and needed not in given:
            log.warning(f"config key {key} does nothing without {needed}", extra={"configKey": key})


def one_edit_apart(a: str, b: str) -> bool:
    """One character inserted, deleted, replaced, or two neighbours swapped (Damerau distance 1);
    difflib's ratio has no such bound, and a whole edit-distance library is more than this needs."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1 :]
