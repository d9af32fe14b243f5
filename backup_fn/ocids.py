"""OCID shapes: `ocid1.<type>.<realm>.[region][.future].<unique>`."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

_TAIL = r"\.[a-z0-9]+\.[a-z0-9-]*(?:\.[a-z0-9-]+)?\.[a-z0-9]{1,200}$"


def ocid_pattern(*kinds: str) -> str:
    return r"^ocid1\.(?:" + "|".join(re.escape(kind) for kind in kinds) + ")" + _TAIL


VOLUME_PATTERN = ocid_pattern("volume")
BOOT_VOLUME_PATTERN = ocid_pattern("bootvolume")
KEY_PATTERN = ocid_pattern("key")
KIND_OF_PATTERN = {VOLUME_PATTERN: "volume", BOOT_VOLUME_PATTERN: "bootvolume", KEY_PATTERN: "key"}

COMPARTMENT_OCID = re.compile(ocid_pattern("compartment", "tenancy"))
VOLUME_OCID = re.compile(VOLUME_PATTERN)
BOOT_VOLUME_OCID = re.compile(BOOT_VOLUME_PATTERN)
INSTANCE_OCID = re.compile(ocid_pattern("instance"))

VolumeId = Annotated[str, StringConstraints(pattern=VOLUME_PATTERN, max_length=255)]
BootVolumeId = Annotated[str, StringConstraints(pattern=BOOT_VOLUME_PATTERN, max_length=255)]
KmsKeyId = Annotated[str, StringConstraints(pattern=KEY_PATTERN, max_length=255)]
