"""Lists as OCI's Core Services give them: sorted by `sortBy` (TIMECREATED, newest first unless
`sortOrder` says otherwise, or DISPLAYNAME) and cut into pages of `limit` items, with the next
page's token in the `opc-next-page` header while more follow."""

from __future__ import annotations

import base64
import binascii

from .operations import ApiError, Json

MAX_PAGE_LIMIT = 1000
DEFAULT_PAGE_LIMIT = 100


def sorted_as_asked(items: list[Json], query: dict[str, str]) -> list[Json]:
    sort_by = query.get("sortBy", "TIMECREATED")
    order = query.get("sortOrder", "DESC" if sort_by == "TIMECREATED" else "ASC")
    if sort_by not in ("TIMECREATED", "DISPLAYNAME"):
        raise ApiError(400, "InvalidParameter", "sortBy must be TIMECREATED or DISPLAYNAME.")
    if order not in ("ASC", "DESC"):
        raise ApiError(400, "InvalidParameter", "sortOrder must be ASC or DESC.")
    field_name = "timeCreated" if sort_by == "TIMECREATED" else "displayName"
    return sorted(items, key=lambda item: str(item.get(field_name) or ""), reverse=order == "DESC")


def page(items: list[Json], query: dict[str, str], max_page_size: int = MAX_PAGE_LIMIT) -> tuple[list[Json], dict[str, str]]:
    """One page of `items` (at most `max_page_size`, whatever the limit) and, when more follow, the `opc-next-page` header."""
    try:
        limit = int(query.get("limit", DEFAULT_PAGE_LIMIT))
    except ValueError:
        raise ApiError(400, "InvalidParameter", "limit must be an integer.") from None
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise ApiError(400, "InvalidParameter", f"limit must be between 1 and {MAX_PAGE_LIMIT}.")
    start = _page_offset(query.get("page"))
    size = min(limit, max_page_size)
    headers = {"opc-next-page": _page_token(start + size)} if start + size < len(items) else {}
    return items[start : start + size], headers


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("offset:"):
            return max(0, int(text[len("offset:") :]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ApiError(400, "InvalidParameter", "The page token is not one this service issued.")
