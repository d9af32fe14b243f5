"""Identity's part of every request: the OCI HTTP signature, checked the way the API checks a
resource-principal caller's. RSA-SHA256 over the signed headers; keyId `ST$<token>`, the token
issued by the trusted issuer and not revoked; `x-content-sha256` and `content-length` against
the body; `date` within five minutes."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

MAX_CLOCK_SKEW_SECONDS = 300
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
REQUIRED_SIGNED = ("date", "(request-target)", "host")


class SignatureVerifier:
    """Checks an OCI HTTP signature the way the API does for resource-principal callers."""

    def __init__(self, issuer_public_key_pem: bytes | str) -> None:
        pem = issuer_public_key_pem.encode() if isinstance(issuer_public_key_pem, str) else issuer_public_key_pem
        self.issuer_key = serialization.load_pem_public_key(pem)
        self.revoked: set[str] = set()
        self._tokens: dict[str, tuple[str, rsa.RSAPublicKey, float]] = {}

    def _token(self, token: str) -> tuple[str, rsa.RSAPublicKey] | str:
        """The token's id and session key, or why it is refused; a verified token is remembered until it expires."""
        known = self._tokens.get(token)
        if known is not None and known[2] > time.time():
            return known[0], known[1]
        try:
            claims = jwt.decode(token, self.issuer_key, algorithms=["RS256"], options={"verify_aud": False})  # type: ignore[arg-type]
        except jwt.PyJWTError as exc:
            return f"security token refused: {type(exc).__name__}"
        try:
            session_key = RSAAlgorithm.from_jwk(claims["jwk"])
        except (KeyError, ValueError, TypeError):
            return "security token names no session key"
        if not isinstance(session_key, rsa.RSAPublicKey):
            return "session key is not an RSA public key"
        jti = str(claims.get("jti"))
        if len(self._tokens) > 64:
            self._tokens.clear()
        self._tokens[token] = (jti, session_key, float(claims["exp"]))
        return jti, session_key

    def verify(self, method: str, target: str, headers: dict[str, str], body: bytes) -> str | None:
        """None when the request is authentic, else why not (for the emulator's record, never the caller)."""
        params = _authorization_params(headers.get("authorization", ""))
        if params is None:
            return "no Signature authorization header"
        if params.get("algorithm") != "rsa-sha256" or params.get("version", "1") != "1":
            return "unsupported signature algorithm or version"
        key_id = params.get("keyId", "")
        if not key_id.startswith("ST$"):
            return "keyId is not a security token (ST$...)"
        token = self._token(key_id[3:])
        if isinstance(token, str):
            return token
        jti, session_key = token
        if jti in self.revoked:
            return "security token revoked"

        signed = params.get("headers", "date").split()
        required = REQUIRED_SIGNED + (BODY_HEADERS if method in ("POST", "PUT", "PATCH") else ())
        missing = [name for name in required if name not in signed and not (name == "date" and "x-date" in signed)]
        if missing:
            return f"headers not signed: {', '.join(missing)}"
        lines = []
        for name in signed:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {target}")
            elif name in headers:
                lines.append(f"{name}: {headers[name]}")
            else:
                return f"signed header {name} is absent"
        try:
            signature = base64.b64decode(params.get("signature", ""), validate=True)
            session_key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "signature does not match"

        if "x-content-sha256" in signed and headers["x-content-sha256"] != base64.b64encode(hashlib.sha256(body).digest()).decode():
            return "x-content-sha256 does not match the body"
        if "content-length" in signed and headers["content-length"] != str(len(body)):
            return "content-length does not match the body"
        try:
            sent = parsedate_to_datetime(headers.get("x-date") or headers["date"])
        except (KeyError, TypeError, ValueError):
            return "date header unreadable"
        if abs((datetime.now(UTC) - sent).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
            return "date is more than 5 minutes from now"
        return None


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _authorization_params(value: str) -> dict[str, str] | None:
    scheme, _, rest = value.partition(" ")
    if scheme != "Signature":
        return None
    return dict(_PARAM.findall(rest))
