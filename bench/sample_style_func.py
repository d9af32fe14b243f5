"""A reference, not the product: a backup function written like the public OCI samples
(`import oci`, a global `oci.core.BlockstorageClient`, no validation, no volume lookup), so
`make bench` can show what the generated clients cost against our `BaseClient` gateway."""

import io
import json
import os

import oci
from fdk import response

signer = oci.auth.signers.get_resource_principals_signer()
client = oci.core.BlockstorageClient(config={}, signer=signer, service_endpoint=os.environ.get("OCI_CORE_ENDPOINT"))


def handler(ctx, data: io.BytesIO | None = None):  # type: ignore[no-untyped-def]
    body = json.loads(data.getvalue() if data is not None else b"{}")
    details = oci.core.models.CreateVolumeBackupDetails(
        volume_id=body["volumeId"], type=body.get("type"), display_name=body.get("displayName")
    )
    backup = client.create_volume_backup(details).data
    answer = {"id": backup.id, "lifecycleState": backup.lifecycle_state}
    return response.Response(ctx, response_data=json.dumps(answer), headers={"Content-Type": "application/json"})
