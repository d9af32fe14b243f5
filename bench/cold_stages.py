"""One process of `bench/cold_path.py`: the function's cold path up to stage N (argv[1]), in the order
the platform runs it, so each stage's instructions minus the previous stage's are that step's cost.

0 Python and fdk (what the fdk entry point loads before the first call: the floor pays this)
1 pydantic: importing it and building one model (any pydantic function pays this)
2 `import func`: our import path
3 `import oci`
4 our client, service and source modules, imported by the first call
5 the function's resource-principal signer (`backup_fn/clients/signer.py`)
6 (instead of 5) the first call through the handler, which makes its own signer
7 (instead of 5) the SDK's `get_resource_principals_signer()`, the route before issue 19, for comparison

argv[2], if given, is another folder holding func.py and backup_fn (a copy without bytecode)."""

import importlib.util
import io
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"


class Context:
    def CallID(self) -> str:  # noqa: N802 - fdk's names
        return "cold-path"

    def Config(self) -> dict[str, str]:  # noqa: N802
        return dict(os.environ)

    def Headers(self) -> dict[str, str]:  # noqa: N802
        return {}

    def HTTPHeaders(self) -> dict[str, str]:  # noqa: N802
        return {}

    def Method(self) -> str:  # noqa: N802
        return "POST"

    def Deadline(self) -> str:  # noqa: N802
        return "2099-01-01T00:00:00Z"


def main(stage: int, function_dir: Path) -> None:
    import fdk.scripts.fdk  # noqa: F401

    if stage >= 1:
        # What func.py sets before its imports, so this stage holds pydantic and nothing of ours.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        import gc

        gc.disable()
        from pydantic import BaseModel

        class Probe(BaseModel):
            x: int

    if stage >= 2:
        spec = importlib.util.spec_from_file_location("func", function_dir / "func.py")
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    if stage >= 3:
        import oci
    if stage >= 4:
        pass
    if stage == 5:
        from backup_fn.clients.signer import read_resource_principal

        read_resource_principal(os.environ)
    if stage == 7:
        import oci.auth.signers

        oci.auth.signers.get_resource_principals_signer()
    if stage == 6:
        from backup_fn.handler import handle_call

        body = json.dumps({"volumeId": VOLUME, "type": "INCREMENTAL", "displayName": "cold-path"}).encode()
        reply = handle_call(Context(), io.BytesIO(body))
        if reply.status != 200 or '"code"' in reply.body:
            raise SystemExit(f"the first call answered {reply.status}: {reply.body[:300]}")


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else REPO)
