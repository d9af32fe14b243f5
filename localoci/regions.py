"""Other regions' Core Services endpoints, for the copies sent there: `<emulator url>/regions/<region>`
is that region's base URL. Copies there can be listed, read, retagged and deleted, as in the home
region; this region's own backups are not there (404), nor are that region's copies here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .blockstorage import IN_PROGRESS, KINDS, BlockStorage, VolumeKind
from .faults import Recorded
from .locks import refuse_if_locked
from .operations import CORE_SERVICES, OCID, ApiError, Json, Response, Route, not_found, required, route
from .paging import page, sorted_as_asked

REGION_PREFIX = re.compile(r"^/regions/(?P<region>[a-z]{2,}(?:-[a-z0-9]+)+-[0-9]+)(?P<rest>/.*)$")


def split_region(path: str) -> tuple[str | None, str]:
    """`/regions/us-phoenix-1/20160918/…` → ("us-phoenix-1", "/20160918/…"); any other path has no region."""
    match = REGION_PREFIX.match(path)
    return (match["region"], match["rest"]) if match else (None, path)


@dataclass
class RegionalBackups:
    state: BlockStorage

    def routes(self) -> list[Route]:
        routes = []
        for kind in KINDS:
            backups, name = f"{CORE_SERVICES}/{kind.backups}", kind.name
            routes += [
                route("GET", backups, f"List{name}Backups", lambda r, b, k=kind: self._list(k, r)),
                route("GET", f"{backups}/{OCID}", f"Get{name}Backup", lambda r, b, id, k=kind: Response(200, self._get(k, id, r))),
                route("PUT", f"{backups}/{OCID}", f"Update{name}Backup", lambda r, b, id, k=kind: Response(200, self._update(k, id, r, b))),
                route("DELETE", f"{backups}/{OCID}", f"Delete{name}Backup", lambda r, b, id, k=kind: self._delete(k, id, r)),
            ]
        return routes

    def _there(self, kind: VolumeKind, backup_id: str, recorded: Recorded) -> Json:
        backup = self.state.backups.get(backup_id)
        if backup is None or backup["_kind"] != kind.collection or backup["_region"] != recorded.region:
            raise not_found(backup_id)
        return backup

    def _list(self, kind: VolumeKind, recorded: Recorded) -> Response:
        query = recorded.query
        compartment = required(query, "compartmentId")
        with self.state.lock:
            source = query.get(kind.id_field)
            candidates = self.state.backups_by_source.get(source, []) if source else list(self.state.backups)
            found = [
                self.state.view(i)
                for i in candidates
                if (b := self.state.backups[i])["_kind"] == kind.collection
                and b["_region"] == recorded.region
                and b["compartmentId"] == compartment
            ]
        for name in (kind.id_field, "displayName", "lifecycleState", kind.source_backup_field):
            if name in query:
                found = [b for b in found if b.get(name) == query[name]]
        items, headers = page(sorted_as_asked(found, query), query, self.state.max_page_size)
        return Response(200, items, headers)

    def _get(self, kind: VolumeKind, backup_id: str, recorded: Recorded) -> Json:
        with self.state.lock:
            self._there(kind, backup_id, recorded)
            return self.state.view(backup_id)

    def _update(self, kind: VolumeKind, backup_id: str, recorded: Recorded, body: object) -> Json:
        if not isinstance(body, dict) or set(body) - {"displayName", "freeformTags", "definedTags"}:
            raise ApiError(400, "InvalidParameter", "The body may carry displayName, freeformTags and definedTags only.")
        self.state.tags.check(body.get("definedTags"))
        with self.state.lock:
            backup = self._there(kind, backup_id, recorded)
            if self.state.state_of(backup_id) == "TERMINATED":
                raise not_found(backup_id)
            backup.update(body)
            return self.state.view(backup_id)

    def _delete(self, kind: VolumeKind, backup_id: str, recorded: Recorded) -> Response:
        with self.state.lock:
            backup = self._there(kind, backup_id, recorded)
            state = self.state.state_of(backup_id)
            if state == "TERMINATED":
                raise not_found(backup_id)
            if state in IN_PROGRESS:
                raise ApiError(409, "IncorrectState", f"Backup {backup_id} is {state}; it cannot be deleted until it is AVAILABLE.")
            refuse_if_locked(backup)
            backup["lifecycleState"] = "TERMINATED"
            self.state.received_at.pop(backup_id, None)
        return Response(204)
