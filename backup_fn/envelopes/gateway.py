"""API Gateway: the platform marks the call with `fn-intent: httprequest` and hands the
client's method, URL and headers to the function."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import InvalidRequest, MethodNotAllowed

RETRY_TOKEN_HEADER = "opc-retry-token"  # noqa: S105 - a header name
_TOKEN = re.compile(r"^[\x21-\x7e]{1,64}$")


def header_value(headers: Mapping[str, object], name: str) -> str | None:
    """fdk hands repeated headers over as lists; the first value is the client's."""
    value = headers.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def check_method(method: str | None) -> None:
    if (method or "POST").upper() != "POST":
        raise MethodNotAllowed(f"Method {method} is not allowed: send the backup request with POST.")


def client_retry_token(http_headers: Mapping[str, object]) -> str | None:
    token = header_value(http_headers, RETRY_TOKEN_HEADER)
    if token is None:
        return None
    if not _TOKEN.match(token):
        raise InvalidRequest("Header opc-retry-token must be 1 to 64 printable ASCII characters.")
    return token
