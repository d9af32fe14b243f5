"""OCI Functions entry point: `fdk func.py handler`. The work happens in the backup_fn package."""

import io
import os
import sys

# fdk loads this file by path, so its folder is not on sys.path when run outside the image.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fdk import response

from backup_fn.handler import handle_call


def handler(ctx, data: io.BytesIO | None = None):  # type: ignore[no-untyped-def]
    answer = handle_call(ctx, data)
    return response.Response(
        ctx,
        response_data=answer.json(),
        headers={"Content-Type": "application/json"},
        status_code=answer.status,
    )
