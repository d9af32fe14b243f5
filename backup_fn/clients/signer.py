"""The function's credentials: its resource principal on OCI Functions, or a config-file profile
when it is run by hand (`OCI_AUTH=config_file`). Made once, on first use, and shared by every
client and thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import oci.auth.signers
import oci.config
import oci.exceptions
import oci.signer

from ..errors import InvalidConfiguration
from ..settings import Settings


class Credentials:
    """The function's signer (resource principal, or a config-file profile when run by hand), made once
    on first use and shared by every client and thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._made: tuple[dict[str, Any], Any] | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[dict[str, Any], Any]:
        with self._lock:
            if self._made is None:
                self._made = _make_signer(self.settings)
            return self._made

    def compartment_id(self) -> str | None:
        """The function's own compartment, as its resource principal token names it."""
        config, signer = self.get()
        get_claim = getattr(signer, "get_claim", None)
        try:
            claim = get_claim("res_compartment") if get_claim else config.get("compartment_id")
        except Exception:  # the SDK raises whatever its token parsing meets
            return None
        return claim if isinstance(claim, str) and claim else None


def _make_signer(settings: Settings) -> tuple[dict[str, Any], Any]:
    if settings.auth == "config_file":
        location = settings.config_file or oci.config.DEFAULT_LOCATION
        try:
            config = oci.config.from_file(location, settings.config_profile)
            if config.get("security_token_file"):
                token = Path(config["security_token_file"]).expanduser().read_text().strip()
                key = oci.signer.load_private_key_from_file(config["key_file"], config.get("pass_phrase"))
                return config, oci.auth.signers.SecurityTokenSigner(token, key)
            return config, oci.signer.Signer.from_config(config)
        except (oci.exceptions.ClientError, OSError, ValueError, KeyError) as exc:
            raise InvalidConfiguration(
                f"OCI_AUTH=config_file: profile {settings.config_profile!r} of {location} (OCI_CONFIG_FILE, OCI_CONFIG_PROFILE) "
                f"cannot be used: {type(exc).__name__}."
            ) from None
    try:
        return {}, oci.auth.signers.get_resource_principals_signer()
    except Exception as exc:  # the SDK raises bare ValueError/KeyError/OSError for a missing identity
        raise InvalidConfiguration(
            "No resource principal: OCI_RESOURCE_PRINCIPAL_VERSION, _RPST, _PRIVATE_PEM and _REGION "
            f"must be set by the Functions platform ({type(exc).__name__})."
        ) from None
