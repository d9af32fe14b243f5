"""Notifications: a subscription delivers the message as published (an alarm, an event, or
any JSON) and names it with the `x-oci-ns-messageid` header."""

from __future__ import annotations

from collections.abc import Mapping

from .gateway import header_value

MESSAGE_ID_HEADER = "x-oci-ns-messageid"


def message_id(headers: Mapping[str, object]) -> str | None:
    value = header_value(headers, MESSAGE_ID_HEADER)
    return value.strip() or None if value else None
