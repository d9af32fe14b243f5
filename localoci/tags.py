"""Defined tags as OCI keeps them: a tag is accepted only in a namespace that exists and under a
key that namespace defines, and OCI copies a volume's tags onto every backup made of it.

The namespaces come from the seed (`tagNamespaces`: name → keys), plus the one the harness's
function marks its backups with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .operations import ApiError, Json

# The mark namespace and key the tests' and `make run`'s function are configured with.
MARK_NAMESPACE = "volume-backup-local"
MARK_KEY = "resource"


@dataclass
class TagNamespaces:
    namespaces: dict[str, set[str]] = field(default_factory=lambda: {MARK_NAMESPACE: {MARK_KEY}})

    @classmethod
    def from_seed(cls, seed: Json) -> TagNamespaces:
        made = cls()
        for name, keys in (seed.get("tagNamespaces") or {}).items():
            made.namespaces.setdefault(name, set()).update(keys)
        return made

    def check(self, defined_tags: Any) -> None:
        """400 for a namespace or key that does not exist, as OCI answers."""
        if defined_tags is None:
            return
        if not isinstance(defined_tags, dict):
            raise ApiError(400, "InvalidParameter", "definedTags must be an object of namespaces.")
        for namespace, keys in defined_tags.items():
            if namespace not in self.namespaces:
                raise ApiError(400, "InvalidParameter", f"The tag namespace {namespace} does not exist.")
            if not isinstance(keys, dict):
                raise ApiError(400, "InvalidParameter", f"definedTags.{namespace} must be an object.")
            for key in keys:
                if key not in self.namespaces[namespace]:
                    raise ApiError(400, "InvalidParameter", f"The tag {namespace}.{key} does not exist.")


def inherited(volume: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """A new backup's freeform and defined tags: the volume's, with the request's over them."""
    freeform = {**(volume.get("freeformTags") or {}), **(body.get("freeformTags") or {})}
    defined: dict[str, dict[str, Any]] = {namespace: dict(keys) for namespace, keys in (volume.get("definedTags") or {}).items()}
    for namespace, keys in (body.get("definedTags") or {}).items():
        defined.setdefault(namespace, {}).update(keys)
    return freeform, defined


def carries_the_function_s_mark(backup: Mapping[str, Any]) -> bool:
    """Whether a backup (as the emulator shows it) carries the harness's function's valid mark, by the
    rule its README states: its own id, or `backup-of:` the volume it was made of on a backup that is no copy."""
    value = (backup.get("definedTags") or {}).get(MARK_NAMESPACE, {}).get(MARK_KEY)
    if value == backup["id"]:
        return True
    source = backup.get("volumeId") or backup.get("bootVolumeId")
    is_copy = backup.get("sourceVolumeBackupId") or backup.get("sourceBootVolumeBackupId")
    return bool(source) and not is_copy and value == f"backup-of:{source}"


def function_config(emulator_url: str, regions: tuple[str, ...] = ("us-phoenix-1", "eu-frankfurt-1", "uk-london-1")) -> dict[str, str]:
    """The config a function run against the emulator needs for its mark and for the copies' regions."""
    endpoints = ",".join(f"{region}={emulator_url}/regions/{region}" for region in regions)
    return {"MARK_TAG_NAMESPACE": MARK_NAMESPACE, "MARK_TAG_KEY": MARK_KEY, "OCI_CORE_REGION_ENDPOINTS": endpoints}
