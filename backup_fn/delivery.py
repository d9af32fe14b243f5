"""How a call arrived, from the platform's headers: through API Gateway (`fn-intent: httprequest`,
the client's method and headers handed over), a Notifications subscription (`x-oci-ns-messageid`),
or directly (`fn invoke`, an Events rule)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .domain import Arrival
from .errors import InvalidRequest, MethodNotAllowed

RETRY_TOKEN_HEADER = "opc-retry-token"  # noqa: S105 - a header name
MESSAGE_ID_HEADER = "x-oci-ns-messageid"
_TOKEN = re.compile(r"[\x21-\x7e]{1,64}")


def header_value(headers: Mapping[str, object], name: str) -> str | None:
    """fdk hands repeated headers over as lists; the first value is the client's."""
    value = headers.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def is_api_gateway(headers: Mapping[str, object]) -> bool:
    return (header_value(headers, "fn-intent") or "").lower() == "httprequest"


def arrival_of(headers: Mapping[str, object], *, call_id: str, method: str | None, http_headers: Mapping[str, object]) -> Arrival:
    """The delivery and the identity it gives the call, if any; an API Gateway call must be a POST."""
    if is_api_gateway(headers):
        if (method or "POST").upper() != "POST":
            raise MethodNotAllowed(f"Method {method} is not allowed: send the backup request with POST.")
        return Arrival("api-gateway", _client_retry_token(http_headers), call_id)
    message_id = (header_value(headers, MESSAGE_ID_HEADER) or "").strip()
    if message_id:
        return Arrival("notifications", message_id, call_id)
    return Arrival("direct", None, call_id)


def _client_retry_token(http_headers: Mapping[str, object]) -> str | None:
    sent = http_headers.get(RETRY_TOKEN_HEADER)
    values = sent if isinstance(sent, list) else [sent] if isinstance(sent, str) else []
    # A header sent twice reaches the function as a list, or joined with commas as HTTP allows; either
    # way the first value would win, and a retry sending them the other way round would make a second backup.
    if len({part.strip() for value in values for part in str(value).split(",")}) > 1:
        raise InvalidRequest("Header opc-retry-token was sent more than once with different values: send it once.")
    token = header_value(http_headers, RETRY_TOKEN_HEADER)
    if token is None:
        return None
    if not _TOKEN.fullmatch(token):
        raise InvalidRequest("Header opc-retry-token must be 1 to 64 printable ASCII characters.")
    return token
