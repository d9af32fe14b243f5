"""Volumes and boot volumes of one region: seeded, added by tests by the thousand, created by a
restore, listed page by page. A volume may be given a time before which it reads `PROVISIONING`
(`_available_at`, monotonic), as a volume restored from a backup does."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from .operations import Json, not_found, required
from .paging import MAX_PAGE_LIMIT, page, sorted_as_asked

COLLECTIONS = ("volumes", "bootVolumes")
FILTERS = ("availabilityDomain", "displayName", "lifecycleState")


class Volumes:
    def __init__(self, seed: Json) -> None:
        self.lock = threading.RLock()
        self.max_page_size = MAX_PAGE_LIMIT
        self._items: dict[str, dict[str, Json]] = {name: {} for name in COLLECTIONS}
        for collection in COLLECTIONS:
            for volume in seed.get(collection, []):
                self.add(collection, volume)

    def add(self, collection: str, volume: Json) -> str:
        """Stores `volume` (it needs `id` and `compartmentId`); a volume without `timeCreated` dates from 2026-01-01."""
        item = {"lifecycleState": "AVAILABLE", "timeCreated": "2026-01-01T00:00:00.000Z", **copy.deepcopy(volume)}
        with self.lock:
            self._items[collection][item["id"]] = item
        return str(item["id"])

    def view(self, collection: str, volume_id: str) -> Json:
        """The volume as OCI shows it, or 404 (a volume deleted reads `TERMINATED` as in OCI)."""
        with self.lock:
            item = self._items[collection].get(volume_id)
            if item is None:
                raise not_found(volume_id)
            return self._shown(item)

    def update(self, collection: str, volume_id: str, **fields: Any) -> Json:
        with self.lock:
            item = self._items[collection].get(volume_id)
            if item is None:
                raise not_found(volume_id)
            item.update(copy.deepcopy(fields))
            return self._shown(item)

    def raw(self, collection: str, volume_id: str) -> Json | None:
        """The stored item, private fields and all (for the services that own its state), or None."""
        with self.lock:
            return self._items[collection].get(volume_id)

    def all(self, collection: str) -> list[Json]:
        with self.lock:
            return [self._shown(item) for item in self._items[collection].values()]

    def list(self, collection: str, query: dict[str, str]) -> tuple[list[Json], dict[str, str]]:
        compartment = required(query, "compartmentId")
        with self.lock:
            found = [self._shown(v) for v in self._items[collection].values() if v["compartmentId"] == compartment]
        for name in FILTERS:
            if name in query:
                found = [v for v in found if v.get(name) == query[name]]
        return page(sorted_as_asked(found, query), query, self.max_page_size)

    @staticmethod
    def _shown(item: Json) -> Json:
        shown = {key: value for key, value in item.items() if not key.startswith("_")}
        available_at = item.get("_available_at")
        if shown["lifecycleState"] in ("AVAILABLE", "FAULTY") and available_at is not None and time.monotonic() < available_at:
            shown["lifecycleState"] = "PROVISIONING"
        return copy.deepcopy(shown)
