"""OCID kinds, each defined once and used by every check: the dispatch of a source, the request
model, the alarm's dimensions and the settings. `ocid1.<type>.<realm>.[region][.future].<unique>`."""

from __future__ import annotations

import re
from typing import Annotated, NamedTuple

from pydantic import AfterValidator

MAX_OCID_LENGTH = 255
_TAIL = r"\.[a-z0-9]+\.[a-z0-9-]*(?:\.[a-z0-9-]+)?\.[a-z0-9]{1,200}"


class OcidKind(NamedTuple):
    """One kind of OCID (or a few interchangeable ones, like compartment and tenancy)."""

    types: tuple[str, ...]

    @property
    def label(self) -> str:
        return " or ".join(f"ocid1.{kind}." for kind in self.types) + " OCID"

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.types)

    def problem(self, value: str) -> str | None:
        """Why `value` is not an OCID of this kind, or None when it is (a full match: no trailing newline)."""
        if value != value.strip():
            return f"must be an {self.label} without whitespace around it"
        if len(value) > MAX_OCID_LENGTH:
            return f"must be an {self.label} of at most {MAX_OCID_LENGTH} characters"
        if not self.regex.fullmatch(value):
            return f"must be an {self.label}"
        return None

    def matches(self, value: str) -> bool:
        return self.problem(value) is None

    def check(self, value: str) -> str:
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compiled(types: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _PATTERNS.get(types)
    if pattern is None:
        pattern = _PATTERNS[types] = re.compile(r"ocid1\.(?:" + "|".join(re.escape(kind) for kind in types) + ")" + _TAIL)
    return pattern


VOLUME = OcidKind(("volume",))
BOOT_VOLUME = OcidKind(("bootvolume",))
VOLUME_BACKUP = OcidKind(("volumebackup",))
BOOT_VOLUME_BACKUP = OcidKind(("bootvolumebackup",))
INSTANCE = OcidKind(("instance",))
KEY = OcidKind(("key",))
COMPARTMENT = OcidKind(("compartment", "tenancy"))
TOPIC = OcidKind(("onstopic",))

VolumeId = Annotated[str, AfterValidator(VOLUME.check)]
BootVolumeId = Annotated[str, AfterValidator(BOOT_VOLUME.check)]
KmsKeyId = Annotated[str, AfterValidator(KEY.check)]
