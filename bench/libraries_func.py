"""The libraries alone: what any function made of pydantic, the oci SDK's signer and the same two
Core calls pays on a cold start, with none of this function's own code. The difference between this
and the function is what our own code costs.

The signer is made the way the function makes it (`backup_fn/clients/signer.py`): the platform's
token and key read from where its variables point, the key loaded without the RSA consistency
check (the platform's own key), the token's claims decoded, the SDK's public `SecurityTokenSigner`."""

import gc
import io
import json
import os

from fdk import response

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
gc.disable()  # as func.py does, so the difference measures code, not the collector

import jwt  # noqa: E402
import oci  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from pydantic import BaseModel, ConfigDict  # noqa: E402


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    volumeId: str  # noqa: N815 - the API's names
    type: str
    displayName: str  # noqa: N815


def platform_value(name: str) -> bytes:
    """As the SDK reads the platform's variables: an absolute path names the file holding the value."""
    value = os.environ[name]
    if os.path.isabs(value):
        with open(value, "rb") as file:
            return file.read()
    return value.encode()


token = platform_value("OCI_RESOURCE_PRINCIPAL_RPST").decode().strip()
claims = jwt.decode(token, options={"verify_signature": False})
pem = platform_value("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM").strip()
key = serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)
client = oci.base_client.BaseClient(
    "blockstorage",
    {"region": os.environ["OCI_RESOURCE_PRINCIPAL_REGION"]},
    oci.auth.signers.SecurityTokenSigner(token, key),
    {},
    service_endpoint=os.environ["OCI_CORE_ENDPOINT"],
    base_path="/20160918",
    regional_client=True,
    skip_deserialization=True,
    circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
)
HEADERS = {"accept": "application/json", "content-type": "application/json"}


def handler(ctx, data: io.BytesIO | None = None):  # type: ignore[no-untyped-def]
    request = Request.model_validate_json(data.getvalue() if data is not None else b"{}")
    client.call_api(resource_path=f"/volumes/{request.volumeId}", method="GET", header_params=HEADERS, response_type="object")
    created = client.call_api(
        resource_path="/volumeBackups", method="POST", header_params=HEADERS, body=request.model_dump(), response_type="object"
    ).data
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
    answer = {"id": created["id"], "lifecycleState": created["lifecycleState"]}
    return response.Response(ctx, response_data=json.dumps(answer), headers={"Content-Type": "application/json"})
