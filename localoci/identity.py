"""A resource-principal identity made on this machine, shaped like the one OCI Functions hands a
function (`OCI_RESOURCE_PRINCIPAL_VERSION=2.2`): a session key pair and a resource-principal
session token (RPST), a JWT that names the session's public key and is signed by an issuer.

The issuer's key stands in for OCI's identity service: the emulator trusts it, so a request is
accepted only when its token was issued here and its signature was made with the session key."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

TENANCY_ID = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy00000000000000000000000000000000000001"
COMPARTMENT_ID = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
FUNCTION_ID = "ocid1.fnfunc.oc1.iad.aaaaaaaalocalfunction000000000000000000000000000000000001"
REGION = "us-ashburn-1"
ISSUER = "authService.oracle.com"
TOKEN_LIFETIME_SECONDS = 20 * 60


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class LocalIdentity:
    directory: Path
    issuer_key: rsa.RSAPrivateKey
    session_key: rsa.RSAPrivateKey

    @property
    def token_path(self) -> Path:
        return self.directory / "rpst"

    @property
    def private_key_path(self) -> Path:
        return self.directory / "private.pem"

    @property
    def issuer_public_key_pem(self) -> bytes:
        return public_pem(self.issuer_key)

    def issue_token(self, lifetime: float = TOKEN_LIFETIME_SECONDS) -> str:
        """Writes a fresh RPST (a new `jti`) where the function's signer reads it, as the platform does."""
        now = int(time.time())
        jwk = json.loads(RSAAlgorithm.to_jwk(self.session_key.public_key()))
        jwk.update(kid="asw", use="sig", alg="RS256")
        claims = {
            "iss": ISSUER,
            "sub": FUNCTION_ID,
            "aud": "oci",
            "iat": now,
            "exp": now + int(lifetime),
            "jti": str(uuid.uuid4()),
            "res_type": "fnfunc",
            "res_tenant": TENANCY_ID,
            "res_compartment": COMPARTMENT_ID,
            "res_id": FUNCTION_ID,
            "ttype": "res",
            "jwk": json.dumps(jwk, separators=(",", ":")),
        }
        token = jwt.encode(claims, self.issuer_key, algorithm="RS256")
        # The SDK uses the file's text as it is: a trailing newline would corrupt the keyId.
        self.token_path.write_text(token)
        return token

    def rotate(self, lifetime: float = TOKEN_LIFETIME_SECONDS) -> str:
        """A new session key, then a token naming it, written where the function reads them: the platform's rotation."""
        self.session_key = _new_key()
        self.private_key_path.write_bytes(_pem(self.session_key))
        return self.issue_token(lifetime)

    def env(self) -> dict[str, str]:
        """What the Functions platform sets in the container; absolute paths, so the SDK re-reads them on a 401."""
        return {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(self.token_path),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(self.private_key_path),
            "OCI_RESOURCE_PRINCIPAL_REGION": REGION,
        }


def create_identity(directory: Path, *, token_lifetime: float = TOKEN_LIFETIME_SECONDS) -> LocalIdentity:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    identity = LocalIdentity(directory, issuer_key=_new_key(), session_key=_new_key())
    identity.private_key_path.write_bytes(_pem(identity.session_key))
    identity.private_key_path.chmod(0o600)
    identity.issue_token(token_lifetime)
    return identity
