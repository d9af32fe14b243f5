"""Compute (`/20160918`) as the function uses it, from the seed file: an instance (GetInstance)
and the attachments that say which boot volume an instance boots from (ListBootVolumeAttachments)."""

from __future__ import annotations

from dataclasses import dataclass

from .operations import CORE_SERVICES, OCID, Json, Response, Route, not_found, required, route


@dataclass
class Compute:
    """Instances and boot volume attachments, as the seed file has them."""

    seed: Json

    def routes(self) -> list[Route]:
        return [
            route(
                "GET",
                f"{CORE_SERVICES}/bootVolumeAttachments",
                "ListBootVolumeAttachments",
                lambda r, b: Response(200, self.list_boot_volume_attachments(r.query)),
            ),
            route("GET", f"{CORE_SERVICES}/instances/{OCID}", "GetInstance", lambda r, b, id: Response(200, self.instance(id))),
        ]

    def instance(self, instance_id: str) -> Json:
        for item in self.seed.get("instances", []):
            if item["id"] == instance_id:
                return dict(item)
        raise not_found(instance_id)

    def list_boot_volume_attachments(self, query: dict[str, str]) -> list[Json]:
        domain, compartment = required(query, "availabilityDomain"), required(query, "compartmentId")
        found = [
            dict(a)
            for a in self.seed.get("bootVolumeAttachments", [])
            if a["availabilityDomain"] == domain and a["compartmentId"] == compartment
        ]
        for name in ("instanceId", "bootVolumeId"):
            if name in query:
                found = [a for a in found if a.get(name) == query[name]]
        return found
