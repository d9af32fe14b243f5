"""The floor: a bare fdk function that only parses the JSON body and answers."""

import io
import json

from fdk import response


def handler(ctx, data: io.BytesIO | None = None):  # type: ignore[no-untyped-def]
    body = json.loads(data.getvalue() if data is not None else b"{}")
    return response.Response(ctx, response_data=json.dumps({"ok": isinstance(body, dict)}), headers={"Content-Type": "application/json"})
