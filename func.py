"""OCI Functions entry point: `fdk func.py handler`. The work happens in the backup_fn package."""

import gc
import io
import os
import sys

# fdk loads this file by path, so its folder is not on sys.path when run outside the image.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fdk import response

# pydantic looks through every installed distribution for plugins the first time it builds a model; none is used here.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# The cold path (the import below, then the SDK's on the first call) allocates ~100k long-lived
# objects and little garbage; the collector's passes over them cost ~40 ms (`make bench`).
gc.disable()

from backup_fn.handler import handle_call  # noqa: E402 - imported with the collector off, on purpose


def handler(ctx, data: io.BytesIO | None = None):  # type: ignore[no-untyped-def]
    try:
        answer = handle_call(ctx, data)
    finally:
        if not gc.isenabled():
            # What the first call loaded lives as long as the container: keep it out of later collections.
            gc.freeze()
            gc.enable()
    return response.Response(
        ctx,
        response_data=answer.body,
        headers={"Content-Type": "application/json"},
        status_code=answer.status,
    )
