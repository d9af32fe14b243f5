"""The function's credentials: its resource principal, read from what the Functions platform puts in
the container, or a config-file profile when it runs by hand.

The resource principal is read the way the SDK's `get_resource_principals_signer()` reads version
2.2 (`oci/auth/signers/resource_principals_signer.py` and `ephemeral_resource_principals_signer.py`),
and signs with the SDK's public `SecurityTokenSigner`, as `OCI_AUTH=config_file` already does. What
differs is how the session key is loaded: once, with `cryptography`'s public
`load_pem_private_key(..., unsafe_skip_rsa_key_validation=True)`. The SDK's loader checks that the
RSA key's numbers are consistent, which is about a fifth of the instructions of a cold start
(`make cold-path`), and the signatures come out byte for byte the same. The check guards against
a key one does not trust, one that could hang or crash OpenSSL; this key is the platform's own,
made for this container and written into it by OCI, as trusted as the code that reads it.

What the SDK's signer did beside signing is done here: the token and the key are read again before
the token's `exp` passes and after OCI refuses them (a 401: the SDK's `BaseClient` renews only its
own signer classes, so the clients ask `Credentials.renew`), and the claims the function uses
come from the token, decoded without verifying its signature, as the SDK decodes it."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import jwt
import oci.auth.signers
import oci.config
import oci.exceptions
import oci.regions
import oci.signer
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import InvalidConfiguration

log = logging.getLogger(__name__)

VERSION = "OCI_RESOURCE_PRINCIPAL_VERSION"
RPST = "OCI_RESOURCE_PRINCIPAL_RPST"
PRIVATE_PEM = "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"
PASSPHRASE = "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE"  # noqa: S105 - a variable's name
REGION = "OCI_RESOURCE_PRINCIPAL_REGION"
SUPPORTED_VERSION = "2.2"  # what OCI Functions sets: the token and the key in the container, no endpoint to call
# Read the files again this long before the token's exp (the SDK's own margin, SecurityTokenContainer's jitter)...
RENEW_BEFORE_EXPIRY_SECONDS = 60.0
# ...and, while the platform has not yet written a newer token, look again no more often than this.
RECHECK_SECONDS = 5.0
# A file read while the platform rewrites it (empty, or a token cut short) is read again after a pause.
REREADS = 3
REREAD_PAUSE_SECONDS = 0.05


class AuthConfig(Protocol):
    """How the function signs (the function's settings, which live a layer above the clients)."""

    @property
    def auth(self) -> str: ...
    @property
    def config_file(self) -> str | None: ...
    @property
    def config_profile(self) -> str: ...


class Signing(NamedTuple):
    """A signer and what was read to make it."""

    config: dict[str, Any]
    signer: Any
    claims: Mapping[str, Any]
    renew_at: float  # time.time() after which the token and key are read again
    sources: tuple[bytes, bytes, bytes | None] | None = None  # the token, key and passphrase as read: unchanged, the signer stays


class Credentials:
    """The function's signer, made on first use and shared by every client and thread, and made again
    when the platform rotates the token and key: before the token expires, and when OCI refuses it."""

    def __init__(self, settings: AuthConfig) -> None:
        self.settings = settings
        self._signing: Signing | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[dict[str, Any], Any]:
        """The SDK config (the region) and the signer to use now."""
        signing = self._signing
        if signing is None or time.time() >= signing.renew_at:
            signing = self._renewed(refused=None)
        return signing.config, signing.signer

    def renew(self, refused: Any) -> bool:
        """OCI answered 401 to a request `refused` signed: read the token and the key again. Whether
        another try can use them (a config-file profile is what it is, as the SDK has it)."""
        if self.settings.auth == "config_file":
            return False
        self._renewed(refused=refused)
        return True

    def claim(self, name: str) -> Any:
        """A claim of the resource principal's session token (None for a config-file profile)."""
        if self._signing is None:
            self.get()
        assert self._signing is not None
        return self._signing.claims.get(name)

    def compartment_id(self) -> str | None:
        """The function's own compartment, as its resource principal token names it."""
        config, _ = self.get()
        claim = self.claim("res_compartment") if self.settings.auth == "resource_principal" else config.get("compartment_id")
        return claim if isinstance(claim, str) and claim else None

    def tenancy_id(self) -> str | None:
        """The function's tenancy, as its resource principal token names it."""
        claim = self.claim("res_tenant") if self.settings.auth == "resource_principal" else self.get()[0].get("tenancy")
        return claim if isinstance(claim, str) and claim else None

    def _renewed(self, refused: Any) -> Signing:
        with self._lock:
            current = self._signing
            if current is not None:
                if refused is not None and current.signer is not refused:
                    return current  # another thread read them again after the same 401
                if refused is None and time.time() < current.renew_at:
                    return current  # another thread renewed while this one waited
            try:
                made = _make_signer(self.settings, current)
            except InvalidConfiguration as problem:
                if current is None:
                    raise
                if refused is not None:
                    # OCI refused the token in hand: the next call reads the files first rather than try it again.
                    self._signing = current._replace(renew_at=0.0)
                    raise
                # Renewing ahead of time: the token in hand is still good, and the files are read again soon.
                log.warning("resource principal not renewed yet", extra={"error": problem.message})
                made = current._replace(renew_at=time.time() + RECHECK_SECONDS)
            self._signing = made
            return made


def _make_signer(settings: AuthConfig, previous: Signing | None = None) -> Signing:
    if settings.auth == "config_file":
        location = settings.config_file or oci.config.DEFAULT_LOCATION
        try:
            config = oci.config.from_file(location, settings.config_profile)
            if config.get("security_token_file"):
                token = Path(config["security_token_file"]).expanduser().read_text().strip()
                key = oci.signer.load_private_key_from_file(config["key_file"], config.get("pass_phrase"))
                return Signing(config, oci.auth.signers.SecurityTokenSigner(token, key), {}, math.inf)
            return Signing(config, oci.signer.Signer.from_config(config), {}, math.inf)
        except (oci.exceptions.ClientError, OSError, ValueError, KeyError) as exc:
            raise InvalidConfiguration(
                f"OCI_AUTH=config_file: profile {settings.config_profile!r} of {location} (OCI_CONFIG_FILE, OCI_CONFIG_PROFILE) "
                f"cannot be used: {type(exc).__name__}."
            ) from None
    return read_resource_principal(os.environ, previous)


def read_resource_principal(environ: Mapping[str, str], previous: Signing | None = None) -> Signing:
    """The resource principal of `environ` (version 2.2) as a signer; `previous`, renewed, when the
    token and key read are the ones it was made from. A variable that is missing or unsupported, a
    file that cannot be read, a token or key that cannot be used: `InvalidConfiguration` naming it."""
    version = environ.get(VERSION)
    if not version:
        raise InvalidConfiguration(
            f"No resource principal: {VERSION} is not set. The Functions platform sets it with {RPST}, {PRIVATE_PEM} "
            f"and {REGION}; OCI_AUTH=config_file runs the function with a config-file profile instead."
        )
    if version != SUPPORTED_VERSION:
        raise InvalidConfiguration(
            f"{VERSION} is {version[:20]!r}: this function reads resource principal version {SUPPORTED_VERSION}, "
            "the one OCI Functions sets."
        )
    region_name = _required(environ, REGION)
    region = oci.regions.REGIONS_SHORT_NAMES.get(region_name, region_name)  # "phx" is us-phoenix-1, as the SDK has it
    _required(environ, RPST)
    _required(environ, PRIVATE_PEM)
    files = any(os.path.isabs(environ.get(name, "")) for name in (RPST, PRIVATE_PEM, PASSPHRASE))
    for attempt in range(REREADS + 1):
        try:
            sources = (_source(environ, RPST), _source(environ, PRIVATE_PEM), _optional_source(environ, PASSPHRASE))
            if previous is not None and previous.sources == sources:
                return previous._replace(renew_at=_renew_at(previous.claims))
            token, claims = _token(sources[0])
            key = _key(sources[1], sources[2])
        except InvalidConfiguration:
            # A file read while the platform rewrites it holds its next value a moment later; a value stays what it is.
            if attempt == REREADS or not files:
                raise
            time.sleep(REREAD_PAUSE_SECONDS)
            continue
        return Signing({"region": region}, oci.auth.signers.SecurityTokenSigner(token, key), claims, _renew_at(claims), sources)
    raise AssertionError("unreachable")


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise InvalidConfiguration(f"No resource principal: {name} is not set (the Functions platform sets it with {VERSION}).")
    return value


def _source(environ: Mapping[str, str], name: str) -> bytes:
    """What a variable holds, as the SDK reads it: an absolute path names the file that holds the value, anything else is the value."""
    value = _required(environ, name)
    if not os.path.isabs(value):
        return value.encode()
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidConfiguration(f"{name} names the file {value[:200]}, which cannot be read ({reason}).") from None


def _optional_source(environ: Mapping[str, str], name: str) -> bytes | None:
    if not environ.get(name):
        return None
    read = _source(environ, name)
    # An absolute path is a file, as for the key (the SDK's own file branch); a file's last line break is not part of the passphrase.
    return read.rstrip(b"\r\n") if os.path.isabs(environ[name]) else read


def _token(read: bytes) -> tuple[str, dict[str, Any]]:
    """The session token and its claims, decoded without verifying its signature, as the SDK decodes it:
    OCI verifies the token on every request, and the function only reads where it lives."""
    try:
        token = read.decode("ascii").strip()
        claims = jwt.decode(token, options={"verify_signature": False})
    except (UnicodeDecodeError, jwt.PyJWTError):
        raise InvalidConfiguration(f"{RPST} holds no resource principal session token (a JWT) that can be read.") from None
    return token, claims


def _key(read: bytes, passphrase: bytes | None) -> rsa.RSAPrivateKey:
    """The session key, loaded without the RSA consistency check: see the module's docstring for why that is safe here."""
    try:
        try:
            key = serialization.load_pem_private_key(read.strip(), passphrase, unsafe_skip_rsa_key_validation=True)
        except TypeError:
            if passphrase is None:
                raise InvalidConfiguration(f"{PRIVATE_PEM} holds an encrypted key and {PASSPHRASE} is not set.") from None
            # As the SDK's loader: a passphrase the key does not need is ignored.
            key = serialization.load_pem_private_key(read.strip(), None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        opened = f" that {PASSPHRASE} opens" if passphrase is not None else ""
        raise InvalidConfiguration(f"{PRIVATE_PEM} holds no PEM private key{opened}.") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidConfiguration(f"{PRIVATE_PEM} holds a {type(key).__name__.removeprefix('_')}, not the RSA key OCI signs with.")
    return key


def _renew_at(claims: Mapping[str, Any]) -> float:
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        return math.inf  # no expiry to renew before: a 401 still reads the files again
    return max(float(expires) - RENEW_BEFORE_EXPIRY_SECONDS, time.time() + RECHECK_SECONDS)
